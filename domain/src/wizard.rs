//! The wizard as a state machine: the steps, which moves are allowed, where to resume, and
//! submission.
//!
//! Moving forward requires the current step to be complete; moving back is always allowed and never
//! loses anything (the record keeps every value). Once submitted the collection is read-only until
//! the reviewers reject it; once approved it is read-only for good.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::issue::{Issue, Lang};
use crate::record::{Application, EditError};
use crate::validate::{self, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Notice,
    Eligibility,
    Account,
    Basic,
    Work,
    Education,
    Qualification,
    Materials,
    Summary,
    Review,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Notice,
        Step::Eligibility,
        Step::Account,
        Step::Basic,
        Step::Work,
        Step::Education,
        Step::Qualification,
        Step::Materials,
        Step::Summary,
        Step::Review,
    ];

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    pub fn previous(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }

    /// Steps whose content the applicant changes; locked once submitted.
    pub fn is_editing_step(self) -> bool {
        !matches!(self, Step::Summary | Step::Review)
    }

    pub fn title(self, lang: Lang) -> &'static str {
        crate::i18n::tr(lang, self.title_key())
    }

    /// The title's catalogue key (the Chinese title).
    pub fn title_key(self) -> &'static str {
        match self {
            Step::Notice => "采集须知",
            Step::Eligibility => "采集对象确认",
            Step::Account => "注册 / 登录",
            Step::Basic => "基本信息",
            Step::Work => "工作信息",
            Step::Education => "学历信息",
            Step::Qualification => "专业技术资格信息",
            Step::Materials => "上传证明材料",
            Step::Summary => "个人信息汇总",
            Step::Review => "审核状态",
        }
    }
}

/// What the state machine needs besides the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub validation: Context,
    /// Whether the applicant has logged in or registered in this session.
    pub signed_in: bool,
}

/// The findings that keep a step from being complete; empty when it is complete.
pub fn step_issues(step: Step, app: &Application, progress: &Progress) -> Vec<Issue> {
    let data = app.data();
    let today = progress.validation.today;
    match step {
        Step::Notice => validate::notice(data),
        Step::Eligibility => validate::eligibility(data),
        Step::Account => Vec::new(),
        Step::Basic => validate::basic(data, today),
        Step::Work => validate::work(data, today),
        Step::Education => validate::education(data, today),
        Step::Qualification => validate::qualification(data, today),
        Step::Materials => validate::materials(data, &progress.validation.limits),
        Step::Summary | Step::Review => Vec::new(),
    }
}

fn is_complete(step: Step, app: &Application, progress: &Progress) -> bool {
    match step {
        Step::Account => progress.signed_in,
        _ => step_issues(step, app, progress).is_empty(),
    }
}

/// The first step that still needs the applicant, or the review page once submitted.
pub fn first_incomplete(app: &Application, progress: &Progress) -> Step {
    if !app.review().is_editable() {
        return Step::Review;
    }
    Step::ALL[..Step::Summary.index()]
        .iter()
        .copied()
        .find(|s| !is_complete(*s, app, progress))
        .unwrap_or(Step::Summary)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoveError {
    #[error("the current step has {} problem(s) to fix", .0.len())]
    Incomplete(Vec<Issue>),
    #[error("step {0:?} must be completed first")]
    EarlierStepIncomplete(Step),
    #[error(transparent)]
    Locked(#[from] EditError),
    #[error("there is no step after this one")]
    NoNextStep,
}

impl MoveError {
    /// What the applicant is told, as a catalogue key.
    pub fn text_key(&self) -> &'static str {
        match self {
            MoveError::Incomplete(_) => "请按提示修改标红的项目后继续",
            MoveError::EarlierStepIncomplete(_) => "请先完成前面的步骤",
            MoveError::Locked(e) => e.text_key(),
            MoveError::NoNextStep => "已经是最后一步",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wizard {
    current: Step,
}

impl Default for Wizard {
    fn default() -> Self {
        Self::start()
    }
}

impl Wizard {
    pub fn start() -> Self {
        Wizard {
            current: Step::Notice,
        }
    }

    /// Resumes a saved draft at its first incomplete step.
    pub fn resume(app: &Application, progress: &Progress) -> Self {
        Wizard {
            current: first_incomplete(app, progress),
        }
    }

    pub fn current(&self) -> Step {
        self.current
    }

    /// "Step N of M", counting from 1.
    pub fn position(&self) -> (usize, usize) {
        (self.current.index() + 1, Step::ALL.len())
    }

    /// Moves forward if the current step is complete. Submission is not a move: see `submit`.
    pub fn next(&mut self, app: &Application, progress: &Progress) -> Result<Step, MoveError> {
        if self.current == Step::Summary || self.current == Step::Review {
            return Err(MoveError::NoNextStep);
        }
        let issues = step_issues(self.current, app, progress);
        if !issues.is_empty() {
            return Err(MoveError::Incomplete(issues));
        }
        if self.current == Step::Account && !progress.signed_in {
            return Err(MoveError::Incomplete(Vec::new()));
        }
        let mut target = self.current.next().ok_or(MoveError::NoNextStep)?;
        if target == Step::Account && progress.signed_in {
            target = Step::Basic;
        }
        self.current = target;
        Ok(target)
    }

    /// Moves back one step; nothing entered is lost. A signed-in applicant skips the account page.
    pub fn back(&mut self, app: &Application, progress: &Progress) -> Step {
        let mut target = self.current.previous().unwrap_or(Step::Notice);
        if target == Step::Account && progress.signed_in {
            target = Step::Eligibility;
        }
        if !app.review().is_editable() && target.is_editing_step() {
            target = Step::Summary;
        }
        self.current = target;
        target
    }

    /// Jumps to a step ("edit" on the summary, or the progress bar): allowed when every step
    /// before it is complete, and, for editing steps, while the collection can be edited.
    pub fn go_to(
        &mut self,
        target: Step,
        app: &Application,
        progress: &Progress,
    ) -> Result<Step, MoveError> {
        if target.is_editing_step() {
            app.check_editable()?;
        }
        if target == Step::Review && app.review().is_editable() {
            return Err(MoveError::EarlierStepIncomplete(Step::Summary));
        }
        let blocking = Step::ALL[..target.index()]
            .iter()
            .copied()
            .filter(|s| *s != Step::Summary)
            .find(|s| !is_complete(*s, app, progress));
        if let Some(step) = blocking.filter(|_| app.review().is_editable()) {
            return Err(MoveError::EarlierStepIncomplete(step));
        }
        self.current = target;
        Ok(target)
    }

    /// Submits from the summary when every step is complete; the wizard then shows the review.
    pub fn submit(&mut self, app: &mut Application, progress: &Progress) -> Result<(), MoveError> {
        if self.current != Step::Summary {
            return Err(MoveError::EarlierStepIncomplete(Step::Summary));
        }
        app.check_editable()?;
        if let Some(step) = Step::ALL[..Step::Summary.index()]
            .iter()
            .copied()
            .find(|s| !is_complete(*s, app, progress))
        {
            return Err(MoveError::EarlierStepIncomplete(step));
        }
        app.mark_submitted()?;
        self.current = Step::Review;
        Ok(())
    }
}
