//! The rules of Yunnan's accountant information collection (会计人员信息采集), as pure Rust.
//!
//! Nothing here does I/O or knows about screens: the kiosk, its tests and the central server all
//! use these types and rules. Dates that depend on "today" take it as an argument.

pub mod card_fill;
pub mod catalog;
pub mod contact;
pub mod eligibility;
pub mod forms;
pub mod guidance;
pub mod i18n;
pub mod idnumber;
pub mod issue;
pub mod jurisdiction;
pub mod materials;
pub mod privacy;
pub mod receipt;
pub mod record;
pub mod region;
pub mod rules_edition;
pub mod samples;
pub mod uscc;
pub mod validate;
pub mod wizard;

pub use catalog::{Choice, Ethnicity, MaterialKind};
pub use i18n::{Message, tr, tr_args};
pub use issue::{Field, Issue, IssueCode, Lang, Severity};
pub use materials::MaterialLimits;
pub use record::{Application, ApplicationData, ReviewState};
pub use rules_edition::RulesEdition;
pub use validate::Context;
pub use wizard::{Progress, Step, Wizard};

/// The version of the collection notice and consent text the kiosk shows; stored with each consent.
pub const NOTICE_VERSION: &str = "yn-kjxxcj-2026.1";
