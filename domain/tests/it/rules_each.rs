//! One test per rule of `docs/rules.md` that no other test names: each starts from a complete,
//! valid record, breaks the one thing the rule is about, and checks that exactly that rule speaks,
//! on that field; then it checks the nearest valid value passes.

use kiosk_domain::catalog::{AccountingPost, EducationKind, IdType};
use kiosk_domain::issue::EducationField;
use kiosk_domain::record::MaterialFile;
use kiosk_domain::region::DivisionCode;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::{
    ApplicationData, Field, Issue, IssueCode, MaterialKind, RulesEdition, validate,
};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 11 - 28);

fn employed() -> ApplicationData {
    samples::complete(Branch::Employed)
}

fn found(issues: &[Issue]) -> Vec<(Field, IssueCode)> {
    issues.iter().map(|i| (i.field, i.code)).collect()
}

/// The findings of `step` on the sample before and after `change`: none before, `expected` after.
fn breaks(
    step: fn(&ApplicationData) -> Vec<Issue>,
    change: impl FnOnce(&mut ApplicationData),
) -> Vec<(Field, IssueCode)> {
    let mut data = employed();
    assert_eq!(found(&step(&data)), [], "the sample is valid");
    change(&mut data);
    found(&step(&data))
}

fn basic(data: &ApplicationData) -> Vec<Issue> {
    validate::basic(data, TODAY)
}

fn work(data: &ApplicationData) -> Vec<Issue> {
    validate::work(data, TODAY)
}

fn education(data: &ApplicationData) -> Vec<Issue> {
    validate::education(data, TODAY)
}

fn qualification(data: &ApplicationData) -> Vec<Issue> {
    validate::qualification(data, TODAY)
}

fn materials(data: &ApplicationData) -> Vec<Issue> {
    validate::materials(data, &RulesEdition::CURRENT.limits())
}

fn with_check(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

#[test]
fn p1_nothing_is_read_before_consent() {
    let mut data = employed();
    assert_eq!(found(&validate::notice(&data)), []);
    data.consent = None;
    assert_eq!(
        found(&validate::notice(&data)),
        [(Field::Consent, IssueCode::ConsentRequired)]
    );
}

#[test]
fn n2_without_a_qualification_only_accounting_work_is_collected() {
    let no_qualification = |d: &mut ApplicationData| {
        d.eligibility.holds_qualification = Some(false);
        d.eligibility.does_accounting_work = Some(true);
    };
    assert_eq!(
        breaks(work, |d| {
            no_qualification(d);
            d.work.employment.posts = [AccountingPost::NoAccountingPost].into();
        }),
        [(Field::Posts, IssueCode::NotRequiredToCollect)]
    );
    // The same person in an accounting post is collected.
    assert_eq!(breaks(work, no_qualification), []);
}

#[test]
fn n3_the_not_employed_are_collected_only_with_a_qualification() {
    let mut data = samples::complete(Branch::NotEmployed);
    assert_eq!(found(&work(&data)), []);
    data.eligibility.holds_qualification = Some(false);
    assert_eq!(
        found(&work(&data)),
        [(Field::Employed, IssueCode::NotRequiredToCollect)]
    );
}

#[test]
fn n6_the_bureau_is_a_city_or_county_one() {
    for code in [530000, 999999, 110101] {
        assert_eq!(
            breaks(basic, |d| d.basic.finance_bureau = Some(DivisionCode(code))),
            [(Field::FinanceBureau, IssueCode::NotAFinanceBureau)],
            "{code}"
        );
    }
    // A prefecture-level city's own bureau (昆明市) is one.
    assert_eq!(
        breaks(basic, |d| d.basic.finance_bureau =
            Some(DivisionCode(530100))),
        []
    );
    assert_eq!(
        breaks(basic, |d| d.basic.finance_bureau = None),
        [(Field::FinanceBureau, IssueCode::Required)]
    );
}

#[test]
fn n12_a_held_qualification_needs_level_certificate_and_date() {
    assert_eq!(
        breaks(qualification, |d| {
            d.qualification.level = None;
            d.qualification.certificate_number = " ".into();
            d.qualification.obtained = None;
        }),
        [
            (Field::QualificationLevel, IssueCode::Required),
            (Field::QualificationCertificate, IssueCode::Required),
            (Field::QualificationObtained, IssueCode::Required),
        ]
    );
    // Someone who holds none is asked none of them.
    assert_eq!(
        breaks(qualification, |d| {
            d.eligibility.holds_qualification = Some(false);
            d.qualification.held = Some(false);
            d.qualification.level = None;
            d.qualification.certificate_number.clear();
            d.qualification.obtained = None;
        }),
        []
    );
}

fn first_file(data: &mut ApplicationData, kind: MaterialKind) -> &mut MaterialFile {
    data.materials
        .get_mut(&kind)
        .and_then(|files| files.first_mut())
        .expect("the sample has the file")
}

#[test]
fn n14_the_photo_is_at_most_20000_bytes_and_other_files_200000() {
    let photo =
        |bytes| move |d: &mut ApplicationData| first_file(d, MaterialKind::Photo).bytes = bytes;
    let page = |bytes| {
        move |d: &mut ApplicationData| first_file(d, MaterialKind::WorkCertificate).bytes = bytes
    };
    assert_eq!(breaks(materials, photo(20_000)), []);
    assert_eq!(
        breaks(materials, photo(20_001)),
        [(
            Field::Material(MaterialKind::Photo),
            IssueCode::MaterialTooLarge
        )]
    );
    assert_eq!(breaks(materials, page(200_000)), []);
    assert_eq!(
        breaks(materials, page(200_001)),
        [(
            Field::Material(MaterialKind::WorkCertificate),
            IssueCode::MaterialTooLarge
        )]
    );
}

#[test]
fn p15_the_photo_is_over_10240_bytes_and_no_file_is_empty() {
    let photo =
        |bytes| move |d: &mut ApplicationData| first_file(d, MaterialKind::Photo).bytes = bytes;
    assert_eq!(breaks(materials, photo(10_241)), []);
    assert_eq!(
        breaks(materials, photo(10_240)),
        [(
            Field::Material(MaterialKind::Photo),
            IssueCode::MaterialTooSmall
        )]
    );
    assert_eq!(
        breaks(materials, |d| first_file(d, MaterialKind::IdCardFront)
            .bytes = 0),
        [(
            Field::Material(MaterialKind::IdCardFront),
            IssueCode::MaterialTooSmall
        )]
    );
}

#[test]
fn p16_the_photo_has_at_least_295_by_413_pixels() {
    for (width, height) in [(294, 413), (295, 412)] {
        assert_eq!(
            breaks(materials, |d| {
                let photo = first_file(d, MaterialKind::Photo);
                (photo.width, photo.height) = (width, height);
            }),
            [(
                Field::Material(MaterialKind::Photo),
                IssueCode::PhotoTooFewPixels
            )],
            "{width}x{height}"
        );
    }
}

#[test]
fn n16_at_least_one_post_is_ticked() {
    assert_eq!(
        breaks(work, |d| d.work.employment.posts.clear()),
        [(Field::Posts, IssueCode::PostsEmpty)]
    );
}

#[test]
fn n17_the_employers_credit_code_is_required() {
    assert_eq!(
        breaks(work, |d| d.work.employment.employer_credit_code =
            "  ".into()),
        [(Field::EmployerCreditCode, IssueCode::Required)]
    );
}

#[test]
fn p3_a_resident_number_is_not_a_foreign_card_number() {
    assert_eq!(
        breaks(basic, |d| d.basic.id_type =
            Some(IdType::ForeignPermanentResidentCard)),
        [(Field::IdNumber, IssueCode::IdNotForeign)]
    );
}

#[test]
fn p5_the_birth_date_matches_the_id_number() {
    assert_eq!(
        breaks(basic, |d| d.basic.birth_date = Some(date!(1990 - 03 - 08))),
        [(Field::BirthDate, IssueCode::BirthDiffersFromId)]
    );
}

#[test]
fn p6_the_applicant_is_16_and_started_work_after_turning_16() {
    // Born 2010-11-29: 16 on 2026-11-29, the day after TODAY.
    let number = with_check("53010220101129001");
    let born = |d: &mut ApplicationData, number: &str, birth: Date| {
        d.basic.id_number = number.to_owned();
        d.basic.birth_date = Some(birth);
    };
    assert_eq!(
        breaks(basic, |d| born(d, &number, date!(2010 - 11 - 29))),
        [(Field::BirthDate, IssueCode::TooYoung)]
    );
    let sixteen_today = with_check("53010220101128001");
    assert_eq!(
        breaks(basic, |d| born(d, &sixteen_today, date!(2010 - 11 - 28))),
        []
    );
    // The sample was born 1990-03-07.
    assert_eq!(
        breaks(work, |d| d.work.employment.work_start =
            Some(date!(2006 - 03 - 06))),
        [(Field::WorkStart, IssueCode::WorkStartTooEarly)]
    );
    assert_eq!(
        breaks(work, |d| d.work.employment.work_start =
            Some(date!(2006 - 03 - 07))),
        []
    );
}

#[test]
fn p7_no_date_is_in_the_future_and_graduation_comes_after_birth() {
    assert_eq!(
        breaks(work, |d| d.work.employment.work_start =
            Some(date!(2026 - 11 - 29))),
        [(Field::WorkStart, IssueCode::DateInFuture)]
    );
    assert_eq!(
        breaks(qualification, |d| d.qualification.obtained =
            Some(date!(2026 - 11 - 29))),
        [(Field::QualificationObtained, IssueCode::DateInFuture)]
    );
    let graduation = Field::Education(EducationKind::FullTime, EducationField::Graduation);
    assert_eq!(
        breaks(education, |d| d.education.full_time.graduation =
            Some(date!(2026 - 11 - 29))),
        [(graduation, IssueCode::DateInFuture)]
    );
    assert_eq!(
        breaks(education, |d| d.education.full_time.graduation =
            Some(date!(1990 - 03 - 07))),
        [(graduation, IssueCode::GraduationBeforeBirth)]
    );
    assert_eq!(
        breaks(education, |d| d.education.full_time.graduation =
            Some(date!(2026 - 11 - 28))),
        []
    );
}

#[test]
fn p12_the_password_is_typed_twice_alike() {
    let basic = employed().basic;
    let registration = |confirm: &str| {
        found(&validate::registration(
            &basic, "abc12345", confirm, "123456", TODAY,
        ))
    };
    assert_eq!(registration("abc12345"), []);
    assert_eq!(
        registration("abc12346"),
        [(Field::PasswordConfirm, IssueCode::PasswordMismatch)]
    );
}

#[test]
fn p14_the_qualification_page_agrees_with_the_eligibility_answer() {
    assert_eq!(
        breaks(qualification, |d| d.qualification.held = Some(false)),
        [(
            Field::QualificationHeld,
            IssueCode::QualificationContradictsAnswer
        )]
    );
    assert_eq!(
        breaks(qualification, |d| d.eligibility.holds_qualification =
            Some(false)),
        [(
            Field::QualificationHeld,
            IssueCode::QualificationContradictsAnswer
        )]
    );
}
