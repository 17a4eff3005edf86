//! The employed and not-employed journeys through the wizard state machine.

use kiosk_domain::catalog::{AccountingPost, Gender};
use kiosk_domain::region::DivisionCode;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::wizard::MoveError;
use kiosk_domain::{
    Application, Context, Field, IssueCode, MaterialKind, Progress, ReviewState, Step, Wizard,
    materials,
};
use time::macros::date;

fn branch(employed: bool) -> Branch {
    if employed {
        Branch::Employed
    } else {
        Branch::NotEmployed
    }
}

fn progress() -> Progress {
    Progress {
        validation: Context::new(date!(2026 - 11 - 28)),
        signed_in: true,
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
            let mut probe = wizard;
            let refused = probe.next(&app, &p);
            assert!(
                matches!(refused, Err(MoveError::Incomplete(ref i)) if !i.is_empty())
                    || step == Step::Education,
                "{step:?} advanced while empty"
            );
            // Submitting is impossible before the summary.
            assert!(probe.submit(&mut app.clone(), &p).is_err());
        }
        app.edit(|d| samples::fill_step(step, d, branch(employed)))
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
        samples::fill_step(Step::Notice, d, Branch::Employed);
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

/// Issue 24, blocker 4: a skipped first question with "yes" to the second must not let the
/// applicant on; otherwise a qualified person without a job is later told they need not be
/// collected.
#[test]
fn eligibility_waits_for_both_answers() {
    let p = progress();
    let mut app = Application::new();
    let mut wizard = Wizard::start();
    app.edit(|d| {
        d.consent = samples::complete(Branch::Employed).consent;
        d.eligibility.does_accounting_work = Some(true);
    })
    .expect("editable");
    wizard.next(&app, &p).expect("past the notice");
    assert_eq!(wizard.current(), Step::Eligibility);
    match wizard.next(&app, &p) {
        Err(MoveError::Incomplete(issues)) => assert!(
            issues.iter().any(
                |i| i.field == Field::HoldsQualificationAnswer && i.code == IssueCode::Required
            ),
            "{issues:?}"
        ),
        other => panic!("moved on with a skipped question: {other:?}"),
    }
}

/// Issue 24, blocker 3: a qualified person employed outside accounting (only post
/// 不从事会计工作岗位) has no date of starting accounting work to give; an accountant does.
#[test]
fn the_work_start_date_is_required_only_of_those_in_accounting_posts() {
    let mut data = samples::complete(Branch::Employed);
    data.eligibility.holds_qualification = Some(true);
    data.work.employment.work_start = None;
    data.work.employment.posts = [AccountingPost::NoAccountingPost].into();
    let today = date!(2026 - 11 - 28);
    let issues = kiosk_domain::validate::work(&data, today);
    assert!(
        !issues.iter().any(|i| i.field == Field::WorkStart),
        "{issues:?}"
    );
    data.work.employment.posts = [AccountingPost::Cashier].into();
    let issues = kiosk_domain::validate::work(&data, today);
    assert!(
        issues
            .iter()
            .any(|i| i.field == Field::WorkStart && i.code == IssueCode::Required),
        "{issues:?}"
    );
}
