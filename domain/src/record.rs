//! The applicant's collection record, as the wizard fills it.
//!
//! Fields hold what the applicant entered, valid or not, so that nothing typed is lost by going
//! back or leaving; validation is separate (`validate`). Both work branches are kept, so switching
//! "employed" back and forth loses nothing either.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;

use crate::catalog::{
    AccountingPost, Degree, EducationKind, EducationLevel, EmployerType, Ethnicity, Gender, IdType,
    MaterialKind, NotEmployedCategory, PoliticalStatus, QualificationLevel,
};
use crate::privacy::{mask_id_number, mask_name};
use crate::region::{DivisionCode, Region};
use crate::rules_edition::RulesEdition;

/// Consent to the processing of personal information, versioned (PIPL art. 29).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub notice_version: String,
    /// Seconds since the Unix epoch.
    pub accepted_at: i64,
}

/// Answers to "who must be collected" (采集对象).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EligibilityAnswers {
    pub holds_qualification: Option<bool>,
    pub does_accounting_work: Option<bool>,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Basic {
    pub name: String,
    pub id_type: Option<IdType>,
    pub id_number: String,
    pub mobile: String,
    pub gender: Option<Gender>,
    pub ethnicity: Option<Ethnicity>,
    pub birth_date: Option<Date>,
    pub political_status: Option<PoliticalStatus>,
    pub email: String,
    pub postal_address: String,
    pub finance_bureau: Option<DivisionCode>,
    /// Fields that came from a read of the ID card and are locked.
    pub from_id_card: bool,
}

impl fmt::Debug for Basic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Basic")
            .field("name", &mask_name(&self.name))
            .field("id_type", &self.id_type)
            .field("id_number", &mask_id_number(&self.id_number))
            .field("mobile", &if self.mobile.is_empty() { "" } else { "***" })
            .field("gender", &self.gender)
            .field("birth_date", &self.birth_date.map(|_| "***"))
            .field("finance_bureau", &self.finance_bureau)
            .field("from_id_card", &self.from_id_card)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Employment {
    pub employer_name: String,
    pub employer_credit_code: String,
    /// Staff confirmed a credit code that fails its checksum (some early codes do).
    pub credit_code_confirmed_by_staff: bool,
    pub employer_type: Option<EmployerType>,
    pub employer_region: Option<Region>,
    pub work_start: Option<Date>,
    pub posts: BTreeSet<AccountingPost>,
    pub head_of_accounting: Option<bool>,
    pub employer_phone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NonEmployment {
    pub category: Option<NotEmployedCategory>,
    /// The school's region for a student, household registration or residence for others.
    pub region: Option<Region>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Work {
    pub employed: Option<bool>,
    pub employment: Employment,
    pub non_employment: NonEmployment,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EducationEntry {
    pub level: Option<EducationLevel>,
    pub degree: Option<Degree>,
    pub school: String,
    pub major: String,
    pub graduation: Option<Date>,
    pub certificate_number: String,
}

impl EducationEntry {
    /// Whether any field has been filled in: a started entry must be completed.
    pub fn is_started(&self) -> bool {
        self.level.is_some()
            || self.degree.is_some()
            || self.graduation.is_some()
            || [&self.school, &self.major, &self.certificate_number]
                .iter()
                .any(|s| !s.trim().is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Education {
    pub full_time: EducationEntry,
    pub part_time: EducationEntry,
}

impl Education {
    pub fn entry(&self, kind: EducationKind) -> &EducationEntry {
        match kind {
            EducationKind::FullTime => &self.full_time,
            EducationKind::PartTime => &self.part_time,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Qualification {
    pub held: Option<bool>,
    pub level: Option<QualificationLevel>,
    pub certificate_number: String,
    pub obtained: Option<Date>,
    pub specialty: String,
}

/// A captured material file. The bytes live in the encrypted store under `blob_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialFile {
    pub blob_id: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the file, for the submission's content hash.
    pub sha256: String,
}

/// Everything the applicant enters. Read it through [`Application::data`]; change it through
/// [`Application::edit`], which refuses once the collection is submitted or approved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationData {
    pub consent: Option<Consent>,
    pub eligibility: EligibilityAnswers,
    pub basic: Basic,
    pub work: Work,
    pub education: Education,
    pub qualification: Qualification,
    pub materials: BTreeMap<MaterialKind, Vec<MaterialFile>>,
}

/// Where the collection stands with the reviewers (审核状态).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ReviewState {
    #[default]
    Draft,
    /// Submitted on the kiosk; on its way to or at the server, not yet picked up.
    Submitted,
    /// 审核中.
    UnderReview,
    /// 审核失败, with the reviewer's reason; the applicant edits and resubmits.
    Rejected { reason: String },
    /// 审核成功: final, the collection can no longer be edited.
    Approved,
}

impl ReviewState {
    pub fn is_editable(&self) -> bool {
        matches!(self, ReviewState::Draft | ReviewState::Rejected { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EditError {
    #[error("the collection has been approved and can no longer be edited")]
    Approved,
    #[error("the collection is under review and cannot be edited now")]
    UnderReview,
}

impl EditError {
    pub fn message(self, lang: crate::Lang) -> &'static str {
        crate::i18n::tr(lang, self.text_key())
    }

    /// The message's catalogue key.
    pub fn text_key(self) -> &'static str {
        match self {
            EditError::Approved => "审核已通过，信息采集不能再修改",
            EditError::UnderReview => "信息正在审核中，暂时不能修改",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReviewTransitionError {
    #[error("an approved collection stays approved")]
    AlreadyApproved,
    #[error("a draft has not been submitted")]
    NotSubmitted,
}

/// The version of the record's JSON shape, the one pinned in `wire/golden/record-v{N}/`. A change
/// of shape fails the golden tests until this is raised and the new files are written beside the
/// old ones (`KIOSK_BLESS_GOLDEN=1 cargo test -p kiosk-domain --test it golden_record`).
pub const RECORD_FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Application {
    data: ApplicationData,
    review: ReviewState,
    /// The rules the record was last checked with; stamped when it is submitted.
    rules: RulesEdition,
}

impl Application {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn data(&self) -> &ApplicationData {
        &self.data
    }

    pub fn review(&self) -> &ReviewState {
        &self.review
    }

    pub fn rules(&self) -> RulesEdition {
        self.rules
    }

    /// Whether the collection may be changed now, and if not, why.
    pub fn check_editable(&self) -> Result<(), EditError> {
        match self.review {
            ReviewState::Draft | ReviewState::Rejected { .. } => Ok(()),
            ReviewState::Approved => Err(EditError::Approved),
            ReviewState::Submitted | ReviewState::UnderReview => Err(EditError::UnderReview),
        }
    }

    /// Applies a change unless the collection is locked.
    pub fn edit<R>(
        &mut self,
        change: impl FnOnce(&mut ApplicationData) -> R,
    ) -> Result<R, EditError> {
        self.check_editable()?;
        Ok(change(&mut self.data))
    }

    /// Marks the collection submitted. The wizard calls this only when every step is complete.
    pub(crate) fn mark_submitted(&mut self) -> Result<(), EditError> {
        self.check_editable()?;
        self.review = ReviewState::Submitted;
        self.rules = RulesEdition::CURRENT;
        Ok(())
    }

    /// Applies a review status reported by the server.
    pub fn apply_review(&mut self, state: ReviewState) -> Result<(), ReviewTransitionError> {
        match (&self.review, &state) {
            (ReviewState::Approved, ReviewState::Approved) => Ok(()),
            (ReviewState::Approved, _) => Err(ReviewTransitionError::AlreadyApproved),
            (ReviewState::Draft, _) => Err(ReviewTransitionError::NotSubmitted),
            _ => {
                self.review = state;
                Ok(())
            }
        }
    }
}
