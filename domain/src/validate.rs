//! Field-level validation of each step of the wizard.
//!
//! Every function takes what the applicant entered and returns the findings; none panics on any
//! input (property-tested).

use time::Date;

use crate::catalog::{AccountingPost, EducationKind, IdType, MaterialKind};
use crate::contact;
use crate::eligibility::{self, Eligibility};
use crate::idnumber;
use crate::issue::{EducationField, Field, Issue, IssueCode};
use crate::jurisdiction;
use crate::materials::{self, MaterialLimits};
use crate::record::{ApplicationData, Basic, EducationEntry, Work};
use crate::region::{self, DivisionLevel, Region};
use crate::uscc;

/// Longest free text in a field, in characters.
pub const TEXT_MAX_CHARS: usize = 100;
/// Minimum age of an applicant and of someone starting work (labour law).
pub const MIN_AGE_YEARS: i32 = 16;

/// What validation needs from outside the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub today: Date,
    pub limits: MaterialLimits,
}

impl Context {
    pub fn new(today: Date) -> Self {
        Context {
            today,
            limits: MaterialLimits::default(),
        }
    }
}

fn required_text(issues: &mut Vec<Issue>, field: Field, value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() {
        issues.push(Issue::error(field, IssueCode::Required));
        false
    } else if value.chars().count() > TEXT_MAX_CHARS {
        issues.push(Issue::error(field, IssueCode::TooLong));
        false
    } else {
        true
    }
}

fn optional_text(issues: &mut Vec<Issue>, field: Field, value: &str) {
    if value.trim().chars().count() > TEXT_MAX_CHARS {
        issues.push(Issue::error(field, IssueCode::TooLong));
    }
}

fn required<T>(issues: &mut Vec<Issue>, field: Field, value: Option<T>) -> Option<T> {
    if value.is_none() {
        issues.push(Issue::error(field, IssueCode::Required));
    }
    value
}

fn past_date(issues: &mut Vec<Issue>, field: Field, value: Option<Date>, today: Date) {
    if value.is_some_and(|d| d > today) {
        issues.push(Issue::error(field, IssueCode::DateInFuture));
    }
}

fn years_after(date: Date, years: i32) -> Option<Date> {
    let year = date.year().checked_add(years)?;
    date.replace_year(year)
        .ok()
        .or_else(|| Date::from_calendar_date(year, date.month(), 28).ok())
}

/// Step 0: consent to the notice.
pub fn notice(data: &ApplicationData) -> Vec<Issue> {
    match data.consent {
        Some(_) => Vec::new(),
        None => vec![Issue::error(Field::Consent, IssueCode::ConsentRequired)],
    }
}

/// Who must be collected.
pub fn eligibility(data: &ApplicationData) -> Vec<Issue> {
    let answers = &data.eligibility;
    match eligibility::assess(answers) {
        Eligibility::Collected(_) => Vec::new(),
        Eligibility::NotRequired => vec![Issue::error(
            Field::AccountingWorkAnswer,
            IssueCode::NotRequiredToCollect,
        )],
        Eligibility::Unanswered => {
            let mut issues = Vec::new();
            required(
                &mut issues,
                Field::HoldsQualificationAnswer,
                answers.holds_qualification,
            );
            required(
                &mut issues,
                Field::AccountingWorkAnswer,
                answers.does_accounting_work,
            );
            issues
        }
    }
}

/// The identity fields shared by registration and the basic page.
pub fn identity(basic: &Basic, today: Date) -> Vec<Issue> {
    let mut issues = Vec::new();
    if let Err(code) = contact::check_name(&basic.name) {
        issues.push(Issue::error(Field::Name, code));
    }
    let id_type = required(&mut issues, Field::IdType, basic.id_type);
    if basic.id_number.trim().is_empty() {
        issues.push(Issue::error(Field::IdNumber, IssueCode::Required));
    } else if let Err(code) = idnumber::parse(
        &basic.id_number,
        id_type.unwrap_or(IdType::ResidentIdCard),
        today,
    ) {
        issues.push(Issue::error(Field::IdNumber, code));
    }
    if basic.mobile.trim().is_empty() {
        issues.push(Issue::error(Field::Mobile, IssueCode::Required));
    } else if let Err(code) = contact::normalize_mobile(&basic.mobile) {
        issues.push(Issue::error(Field::Mobile, code));
    }
    issues
}

/// Step 2: basic information (基本信息).
pub fn basic(data: &ApplicationData, today: Date) -> Vec<Issue> {
    let basic = &data.basic;
    let mut issues = identity(basic, today);
    let parsed = basic
        .id_type
        .and_then(|t| idnumber::parse(&basic.id_number, t, today).ok());
    let gender = required(&mut issues, Field::Gender, basic.gender);
    if let (Some(given), Some(from_id)) = (gender, parsed.as_ref().and_then(|p| p.gender()))
        && given != from_id
    {
        issues.push(Issue::error(Field::Gender, IssueCode::GenderDiffersFromId));
    }
    required(&mut issues, Field::Ethnicity, basic.ethnicity);
    if let Some(birth) = required(&mut issues, Field::BirthDate, basic.birth_date) {
        if birth > today {
            issues.push(Issue::error(Field::BirthDate, IssueCode::DateInFuture));
        } else if years_after(birth, MIN_AGE_YEARS).is_some_and(|d| d > today) {
            issues.push(Issue::error(Field::BirthDate, IssueCode::TooYoung));
        } else if parsed
            .as_ref()
            .and_then(|p| p.birth())
            .is_some_and(|b| b != birth)
        {
            issues.push(Issue::error(
                Field::BirthDate,
                IssueCode::BirthDiffersFromId,
            ));
        }
    }
    if !basic.email.trim().is_empty()
        && let Err(code) = contact::check_email(&basic.email)
    {
        issues.push(Issue::error(Field::Email, code));
    }
    required_text(&mut issues, Field::PostalAddress, &basic.postal_address);
    if let Some(bureau) = required(&mut issues, Field::FinanceBureau, basic.finance_bureau) {
        let is_bureau =
            region::division(bureau).is_some_and(|d| d.level() != DivisionLevel::Province);
        if !is_bureau {
            issues.push(Issue::error(
                Field::FinanceBureau,
                IssueCode::NotAFinanceBureau,
            ));
        }
    }
    issues
}

fn region_answer(issues: &mut Vec<Issue>, field: Field, value: Option<Region>) {
    match required(issues, field, value) {
        Some(Region::Yunnan(code)) if region::division(code).is_none() => {
            issues.push(Issue::error(field, IssueCode::UnknownRegion));
        }
        _ => {}
    }
}

/// Whether the date of starting accounting work must be given: not for someone employed whose
/// only post is 不从事会计工作岗位 (a qualified person in another job), who may have no such date.
pub fn work_start_required(work: &Work) -> bool {
    let posts = &work.employment.posts;
    !(posts.len() == 1 && posts.contains(&AccountingPost::NoAccountingPost))
}

/// Step 3: work information (工作信息), both branches, plus the jurisdiction rule.
pub fn work(data: &ApplicationData, today: Date) -> Vec<Issue> {
    let work: &Work = &data.work;
    let mut issues = Vec::new();
    let holds_qualification = data.eligibility.holds_qualification == Some(true);
    match required(&mut issues, Field::Employed, work.employed) {
        Some(true) => {
            let e = &work.employment;
            required_text(&mut issues, Field::EmployerName, &e.employer_name);
            if e.employer_credit_code.trim().is_empty() {
                issues.push(Issue::error(Field::EmployerCreditCode, IssueCode::Required));
            } else {
                match uscc::parse(&e.employer_credit_code) {
                    Err(code) => issues.push(Issue::error(Field::EmployerCreditCode, code)),
                    Ok(code) if !code.passes_checks() && !e.credit_code_confirmed_by_staff => {
                        issues.push(Issue::needs_staff(
                            Field::EmployerCreditCode,
                            IssueCode::UsccChecksum,
                        ));
                    }
                    Ok(_) => {}
                }
            }
            required(&mut issues, Field::EmployerType, e.employer_type);
            region_answer(&mut issues, Field::EmployerRegion, e.employer_region);
            let start = if work_start_required(work) {
                required(&mut issues, Field::WorkStart, e.work_start)
            } else {
                e.work_start
            };
            if let Some(start) = start {
                past_date(&mut issues, Field::WorkStart, Some(start), today);
                let earliest = data
                    .basic
                    .birth_date
                    .and_then(|b| years_after(b, MIN_AGE_YEARS));
                if earliest.is_some_and(|earliest| start < earliest) {
                    issues.push(Issue::error(Field::WorkStart, IssueCode::WorkStartTooEarly));
                }
            }
            let none = e.posts.contains(&AccountingPost::NoAccountingPost);
            if e.posts.is_empty() {
                issues.push(Issue::error(Field::Posts, IssueCode::PostsEmpty));
            } else if none && e.posts.len() > 1 {
                issues.push(Issue::error(Field::Posts, IssueCode::PostsNoneWithOthers));
            } else if none && !holds_qualification {
                issues.push(Issue::error(Field::Posts, IssueCode::NotRequiredToCollect));
            }
            required(&mut issues, Field::HeadOfAccounting, e.head_of_accounting);
            if !e.employer_phone.trim().is_empty()
                && let Err(code) = contact::check_phone(&e.employer_phone)
            {
                issues.push(Issue::error(Field::EmployerPhone, code));
            }
        }
        Some(false) => {
            let n = &work.non_employment;
            if !holds_qualification {
                issues.push(Issue::error(
                    Field::Employed,
                    IssueCode::NotRequiredToCollect,
                ));
            }
            required(&mut issues, Field::NotEmployedCategory, n.category);
            region_answer(&mut issues, Field::NotEmployedRegion, n.region);
        }
        None => {}
    }
    for issue in jurisdiction::check(data.basic.finance_bureau, work) {
        if !issues.iter().any(|i| i.field == issue.field) {
            issues.push(issue);
        }
    }
    issues
}

fn education_entry(
    issues: &mut Vec<Issue>,
    kind: EducationKind,
    entry: &EducationEntry,
    birth: Option<Date>,
    today: Date,
) {
    let field = |f| Field::Education(kind, f);
    for (f, text) in [
        (EducationField::School, &entry.school),
        (EducationField::Major, &entry.major),
        (EducationField::CertificateNumber, &entry.certificate_number),
    ] {
        optional_text(issues, field(f), text);
    }
    if !entry.is_started() {
        return;
    }
    let missing = |issues: &mut Vec<Issue>, f, absent: bool| {
        if absent {
            issues.push(Issue::error(field(f), IssueCode::RequiredOnceStarted));
        }
    };
    missing(issues, EducationField::Level, entry.level.is_none());
    missing(issues, EducationField::Degree, entry.degree.is_none());
    missing(
        issues,
        EducationField::School,
        entry.school.trim().is_empty(),
    );
    missing(issues, EducationField::Major, entry.major.trim().is_empty());
    missing(
        issues,
        EducationField::Graduation,
        entry.graduation.is_none(),
    );
    missing(
        issues,
        EducationField::CertificateNumber,
        entry.certificate_number.trim().is_empty(),
    );
    if let Some(graduation) = entry.graduation {
        if graduation > today {
            issues.push(Issue::error(
                field(EducationField::Graduation),
                IssueCode::DateInFuture,
            ));
        } else if birth.is_some_and(|b| graduation <= b) {
            issues.push(Issue::error(
                field(EducationField::Graduation),
                IssueCode::GraduationBeforeBirth,
            ));
        }
    }
}

/// Step 4: education (学历信息). Both entries are optional; one that is started must be complete.
pub fn education(data: &ApplicationData, today: Date) -> Vec<Issue> {
    let mut issues = Vec::new();
    let birth = data.basic.birth_date;
    for kind in [EducationKind::FullTime, EducationKind::PartTime] {
        education_entry(&mut issues, kind, data.education.entry(kind), birth, today);
    }
    issues
}

/// Step 5: professional qualification (专业技术资格信息).
pub fn qualification(data: &ApplicationData, today: Date) -> Vec<Issue> {
    let q = &data.qualification;
    let mut issues = Vec::new();
    let Some(held) = required(&mut issues, Field::QualificationHeld, q.held) else {
        return issues;
    };
    if data
        .eligibility
        .holds_qualification
        .is_some_and(|answer| answer != held)
    {
        issues.push(Issue::error(
            Field::QualificationHeld,
            IssueCode::QualificationContradictsAnswer,
        ));
    }
    optional_text(&mut issues, Field::QualificationSpecialty, &q.specialty);
    if !held {
        return issues;
    }
    required(&mut issues, Field::QualificationLevel, q.level);
    required_text(
        &mut issues,
        Field::QualificationCertificate,
        &q.certificate_number,
    );
    if let Some(obtained) = required(&mut issues, Field::QualificationObtained, q.obtained) {
        if obtained > today {
            issues.push(Issue::error(
                Field::QualificationObtained,
                IssueCode::DateInFuture,
            ));
        } else if data.basic.birth_date.is_some_and(|b| obtained <= b) {
            issues.push(Issue::error(
                Field::QualificationObtained,
                IssueCode::QualificationBeforeBirth,
            ));
        }
    }
    issues
}

/// Step 6: materials (上传证明材料), the required list derived from the answers.
pub fn materials(data: &ApplicationData, limits: &MaterialLimits) -> Vec<Issue> {
    let mut issues = Vec::new();
    for kind in materials::required_materials(data) {
        let files = data.materials.get(&kind).map(Vec::as_slice).unwrap_or(&[]);
        if files.is_empty() {
            issues.push(Issue::error(
                Field::Material(kind),
                IssueCode::MaterialMissing,
            ));
        }
        let single = matches!(
            kind,
            MaterialKind::Photo | MaterialKind::IdCardFront | MaterialKind::IdCardBack
        );
        for file in if single {
            &files[..files.len().min(1)]
        } else {
            files
        } {
            if let Err(code) = limits.check(kind, file) {
                issues.push(Issue::error(Field::Material(kind), code));
                break;
            }
        }
    }
    issues
}

/// Registration (注册): identity fields, password twice, SMS code.
pub fn registration(
    basic: &Basic,
    password: &str,
    password_confirm: &str,
    sms_code: &str,
    today: Date,
) -> Vec<Issue> {
    let mut issues = identity(basic, today);
    if let Err(code) = contact::check_password(password) {
        issues.push(Issue::error(Field::Password, code));
    }
    if password != password_confirm {
        issues.push(Issue::error(
            Field::PasswordConfirm,
            IssueCode::PasswordMismatch,
        ));
    }
    if let Err(code) = contact::check_sms_code(sms_code) {
        issues.push(Issue::error(Field::SmsCode, code));
    }
    issues
}
