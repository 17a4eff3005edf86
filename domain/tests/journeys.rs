//! The employed and not-employed journeys through the wizard state machine.

use kiosk_domain::catalog::{
    AccountingPost, Degree, EducationLevel, EmployerType, Gender, IdType, NotEmployedCategory,
    QualificationLevel,
};
use kiosk_domain::record::{Consent, MaterialFile};
use kiosk_domain::region::{DivisionCode, Region};
use kiosk_domain::wizard::MoveError;
use kiosk_domain::{
    Application, ApplicationData, Context, Ethnicity, Field, IssueCode, MaterialKind, Progress,
    ReviewState, Step, Wizard, materials,
};
use time::macros::date;

fn progress() -> Progress {
    Progress {
        validation: Context::new(date!(2026 - 11 - 28)),
        signed_in: true,
    }
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
fn fill(step: Step, d: &mut ApplicationData, employed: bool) {
    match step {
        Step::Notice => {
            d.consent = Some(Consent {
                notice_version: kiosk_domain::NOTICE_VERSION.into(),
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

fn walk(employed: bool) -> (Application, Wizard) {
    let p = progress();
    let mut app = Application::new();
    let mut wizard = Wizard::start();
    while wizard.current() != Step::Summary {
        let step = wizard.current();
        // Before filling, the step refuses to advance (Account is skipped when signed in).
        if step != Step::Account {
            let refused = wizard.clone().next(&app, &p);
            assert!(
                matches!(refused, Err(MoveError::Incomplete(ref i)) if !i.is_empty())
                    || step == Step::Education,
                "{step:?} advanced while empty"
            );
            // Submitting is impossible before the summary.
            assert!(wizard.clone().submit(&mut app.clone(), &p).is_err());
        }
        app.edit(|d| fill(step, d, employed))
            .expect("draft is editable");
        let moved = wizard.next(&app, &p);
        assert!(moved.is_ok(), "{step:?}: {moved:?}");
    }
    (app, wizard)
}

#[test]
fn employed_journey_reaches_submit_only_when_complete() {
    let p = progress();
    let (mut app, mut wizard) = walk(true);
    let required = materials::required_materials(app.data());
    assert!(required.contains(&MaterialKind::WorkCertificate));
    assert!(!required.contains(&MaterialKind::ResidenceDocument));
    assert!(required.contains(&MaterialKind::QualificationCertificate));
    assert!(wizard.submit(&mut app, &p).is_ok());
    assert_eq!(wizard.current(), Step::Review);
    assert_eq!(app.review(), &ReviewState::Submitted);
}

#[test]
fn not_employed_journey_needs_the_residence_document() {
    let p = progress();
    let (mut app, mut wizard) = walk(false);
    let required = materials::required_materials(app.data());
    assert!(required.contains(&MaterialKind::ResidenceDocument));
    assert!(!required.contains(&MaterialKind::WorkCertificate));
    // Remove the residence document: submission is refused and points at the materials step.
    app.edit(|d| d.materials.remove(&MaterialKind::ResidenceDocument))
        .expect("editable");
    assert_eq!(
        wizard.submit(&mut app, &p),
        Err(MoveError::EarlierStepIncomplete(Step::Materials))
    );
    assert_eq!(
        kiosk_domain::wizard::first_incomplete(&app, &p),
        Step::Materials
    );
}

#[test]
fn going_back_loses_nothing_and_switching_branches_keeps_both() {
    let p = progress();
    let (mut app, mut wizard) = walk(true);
    let before = app.clone();
    for _ in 0..20 {
        wizard.back(&app, &p);
    }
    assert_eq!(wizard.current(), Step::Notice);
    assert_eq!(app, before);
    // Switch to not employed and back: the employer answers are still there.
    app.edit(|d| d.work.employed = Some(false))
        .expect("editable");
    app.edit(|d| d.work.employed = Some(true))
        .expect("editable");
    assert_eq!(app, before);
    assert_eq!(wizard.go_to(Step::Summary, &app, &p), Ok(Step::Summary));
}

#[test]
fn go_to_refuses_to_skip_an_incomplete_step() {
    let p = progress();
    let (mut app, mut wizard) = walk(true);
    app.edit(|d| d.basic.postal_address.clear())
        .expect("editable");
    assert_eq!(
        wizard.go_to(Step::Materials, &app, &p),
        Err(MoveError::EarlierStepIncomplete(Step::Basic))
    );
    assert_eq!(wizard.go_to(Step::Basic, &app, &p), Ok(Step::Basic));
    assert_eq!(Wizard::resume(&app, &p).current(), Step::Basic);
}

#[test]
fn an_approved_collection_can_no_longer_be_edited() {
    let p = progress();
    let (mut app, mut wizard) = walk(true);
    assert!(wizard.submit(&mut app, &p).is_ok());
    assert!(app.edit(|d| d.basic.email = "x@y.cn".into()).is_err());
    assert!(
        app.apply_review(ReviewState::Rejected {
            reason: "照片不清晰".into()
        })
        .is_ok()
    );
    assert!(app.edit(|d| d.basic.email = "x@y.cn".into()).is_ok());
    assert_eq!(Wizard::resume(&app, &p).current(), Step::Summary);
    assert!(wizard.go_to(Step::Summary, &app, &p).is_ok());
    assert!(wizard.submit(&mut app, &p).is_ok());
    assert!(app.apply_review(ReviewState::Approved).is_ok());
    assert!(app.edit(|d| d.basic.email.clear()).is_err());
    assert!(app.apply_review(ReviewState::UnderReview).is_err());
    assert!(wizard.go_to(Step::Basic, &app, &p).is_err());
    assert_eq!(Wizard::resume(&app, &p).current(), Step::Review);
    assert_eq!(wizard.back(&app, &p), Step::Summary);
}

#[test]
fn not_required_people_are_told_so() {
    let p = progress();
    let mut app = Application::new();
    app.edit(|d| {
        fill(Step::Notice, d, true);
        d.eligibility.holds_qualification = Some(false);
        d.eligibility.does_accounting_work = Some(false);
    })
    .expect("editable");
    let mut wizard = Wizard::start();
    assert!(wizard.next(&app, &p).is_ok());
    match wizard.next(&app, &p) {
        Err(MoveError::Incomplete(issues)) => {
            assert_eq!(issues[0].code, IssueCode::NotRequiredToCollect);
            assert_eq!(issues[0].field, Field::AccountingWorkAnswer);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn validation_messages_name_the_field() {
    let p = progress();
    let (mut app, _) = walk(true);
    app.edit(|d| {
        d.basic.gender = Some(Gender::Female);
        d.work.employment.employer_credit_code = "91350100M000100Y44".into();
        d.work
            .employment
            .posts
            .insert(AccountingPost::NoAccountingPost);
        d.education.part_time.school = "云南大学".into();
        d.qualification.obtained = Some(date!(1980 - 01 - 01));
        d.basic.finance_bureau = Some(DivisionCode(532901));
    })
    .expect("editable");
    let found = |step, app: &Application| {
        kiosk_domain::wizard::step_issues(step, app, &p)
            .into_iter()
            .map(|i| (i.field, i.code))
            .collect::<Vec<_>>()
    };
    assert!(found(Step::Basic, &app).contains(&(Field::Gender, IssueCode::GenderDiffersFromId)));
    let work = found(Step::Work, &app);
    assert!(work.contains(&(Field::EmployerCreditCode, IssueCode::UsccChecksum)));
    assert!(work.contains(&(Field::Posts, IssueCode::PostsNoneWithOthers)));
    assert!(work.contains(&(Field::EmployerRegion, IssueCode::BureauNotEmployerRegion)));
    let education = found(Step::Education, &app);
    use kiosk_domain::catalog::EducationKind::PartTime;
    use kiosk_domain::issue::EducationField;
    assert!(education.contains(&(
        Field::Education(PartTime, EducationField::Level),
        IssueCode::RequiredOnceStarted
    )));
    assert!(!education.contains(&(
        Field::Education(PartTime, EducationField::School),
        IssueCode::RequiredOnceStarted
    )));
    assert!(found(Step::Qualification, &app).contains(&(
        Field::QualificationObtained,
        IssueCode::QualificationBeforeBirth
    )));
    // Staff confirm the early credit code: that finding goes away.
    app.edit(|d| d.work.employment.credit_code_confirmed_by_staff = true)
        .expect("editable");
    assert!(
        !found(Step::Work, &app)
            .iter()
            .any(|(f, _)| *f == Field::EmployerCreditCode)
    );
}

#[test]
fn records_round_trip_through_json() {
    let (app, _) = walk(false);
    let json = serde_json::to_string(&app).expect("serialise");
    let back: Application = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, app);
    // Debug output masks personal data.
    let debug = format!("{app:?}");
    assert!(!debug.contains("110101199003070011"));
    assert!(!debug.contains("张三"));
    assert!(!debug.contains("13800138000"));
}
