//! Invented applicants for demonstrations, screenshots and tests. Nobody real: the ID numbers
//! are the GB 11643 examples with valid check characters, the credit code is a public example.

use time::Date;
use time::macros::date;

use crate::catalog::{
    AccountingPost, Degree, EducationLevel, EmployerType, Gender, IdType, MaterialKind,
    NotEmployedCategory, QualificationLevel,
};
use crate::record::{ApplicationData, Consent, MaterialFile};
use crate::region::{DivisionCode, Region};
use crate::{Application, Context, Ethnicity, Progress, Step, Wizard, idnumber, materials};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    Employed,
    NotEmployed,
}

/// A complete record of the given branch.
pub fn complete(branch: Branch) -> ApplicationData {
    let mut data = ApplicationData::default();
    for step in Step::ALL {
        fill_step(step, &mut data, branch);
    }
    data
}

fn file(bytes: u64) -> MaterialFile {
    MaterialFile {
        blob_id: format!("blob-{bytes}"),
        bytes,
        width: 295,
        height: 413,
        sha256: "0".repeat(64),
    }
}

/// Fills one step of the record the way the applicant would.
pub fn fill_step(step: Step, d: &mut ApplicationData, branch: Branch) {
    let employed = branch == Branch::Employed;
    match step {
        Step::Notice => {
            d.consent = Some(Consent {
                notice_version: crate::NOTICE_VERSION.into(),
                accepted_at: 1_790_000_000,
            })
        }
        Step::Eligibility => {
            d.eligibility.holds_qualification = Some(true);
            d.eligibility.does_accounting_work = Some(employed);
        }
        Step::Basic => {
            d.basic.name = "张三".into();
            d.basic.id_type = Some(IdType::ResidentIdCard);
            d.basic.id_number = "110101199003070011".into();
            d.basic.mobile = "13800138000".into();
            d.basic.gender = Some(Gender::Male);
            d.basic.ethnicity = Ethnicity::from_code(1);
            d.basic.birth_date = Some(date!(1990 - 03 - 07));
            d.basic.postal_address = "云南省昆明市五华区人民中路1号".into();
            d.basic.finance_bureau = Some(DivisionCode(530102));
        }
        Step::Work if employed => {
            d.work.employed = Some(true);
            let e = &mut d.work.employment;
            e.employer_name = "云南某某科技有限公司".into();
            e.employer_credit_code = "91350100M000100Y43".into();
            e.employer_type = Some(EmployerType::PrivateEnterprise);
            e.employer_region = Some(Region::Yunnan(DivisionCode(530102)));
            e.work_start = Some(date!(2012 - 07 - 01));
            e.posts = [AccountingPost::Cashier, AccountingPost::GeneralLedger].into();
            e.head_of_accounting = Some(false);
        }
        Step::Work => {
            d.work.employed = Some(false);
            d.work.non_employment.category = Some(NotEmployedCategory::OtherWithQualification);
            d.work.non_employment.region = Some(Region::Yunnan(DivisionCode(530102)));
        }
        Step::Education => {
            let e = &mut d.education.full_time;
            e.level = Some(EducationLevel::Bachelor);
            e.degree = Some(Degree::Bachelor);
            e.school = "云南财经大学".into();
            e.major = "会计学".into();
            e.graduation = Some(date!(2012 - 06 - 30));
            e.certificate_number = "106891201205000123".into();
        }
        Step::Qualification => {
            let q = &mut d.qualification;
            q.held = Some(true);
            q.level = Some(QualificationLevel::Intermediate);
            q.certificate_number = "Z20165300001".into();
            q.obtained = Some(date!(2016 - 10 - 20));
        }
        Step::Materials => {
            for kind in materials::required_materials(d) {
                let bytes = if kind == MaterialKind::Photo {
                    15_000
                } else {
                    150_000
                };
                d.materials.insert(kind, vec![file(bytes)]);
            }
        }
        Step::Account | Step::Summary | Step::Review => {}
    }
}

/// The records pinned in `wire/golden/`: every step filled and submitted under the rules in force
/// `on`, one for each kind of identity document and both work branches. The kiosk's serialiser
/// and the server's parser are both tested against the committed JSON of these.
pub fn golden_records(on: Date) -> Vec<(&'static str, Application)> {
    let resident = |branch| complete(branch);
    let with_document = |id_type, id_number: String, gender| {
        let mut data = complete(Branch::Employed);
        data.basic.id_type = Some(id_type);
        data.basic.id_number = id_number;
        data.basic.gender = Some(gender);
        data
    };
    let permit = with_document(
        IdType::HkMoTwResidencePermit,
        with_check_character("81000019850214002"),
        Gender::Female,
    );
    let mut foreign = with_document(
        IdType::ForeignPermanentResidentCard,
        "USA530085061235".into(),
        Gender::Female,
    );
    foreign.basic.name = "SMITH ANNA".into();
    let records = [
        ("resident-employed", resident(Branch::Employed)),
        ("resident-not-employed", resident(Branch::NotEmployed)),
        ("hk-mo-tw-permit-employed", permit),
        ("foreign-permanent-employed", foreign),
    ];
    records
        .into_iter()
        .map(|(name, mut data)| {
            if let Some(birth) = data
                .basic
                .id_number
                .get(6..14)
                .and_then(idnumber::birth_date)
            {
                data.basic.birth_date = Some(birth);
            }
            name_files_apart(&mut data);
            (name, submitted(data, on))
        })
        .collect()
}

fn with_check_character(first17: &str) -> String {
    let check = idnumber::check_character(first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Each file its own blob id and a well-formed, distinct hash, as the store gives them.
fn name_files_apart(data: &mut ApplicationData) {
    for (n, file) in data.materials.values_mut().flatten().enumerate() {
        file.blob_id = format!("blob-{:04}", n + 1);
        file.sha256 = format!("{:064x}", 0x5eed_0000 + n);
    }
}

fn submitted(data: ApplicationData, on: Date) -> Application {
    let mut app = Application::new();
    // A fresh record is a draft: editing it cannot fail.
    let _ = app.edit(|d| *d = data);
    let progress = Progress {
        validation: Context::new(on),
        signed_in: true,
    };
    let mut wizard = Wizard::resume(&app, &progress);
    let submitted = wizard
        .go_to(Step::Summary, &app, &progress)
        .and_then(|_| wizard.submit(&mut app, &progress));
    debug_assert!(
        submitted.is_ok(),
        "a golden record is complete: {submitted:?}"
    );
    app
}
