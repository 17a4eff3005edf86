//! Which materials an applicant must provide, derived from the answers, and their file limits.

use serde::{Deserialize, Serialize};

use crate::catalog::{Choice, MaterialKind};
use crate::issue::IssueCode;
use crate::record::{ApplicationData, MaterialFile};
use crate::rules_edition::RulesEdition;

/// File limits. Portals read "20K" as 20,000 or 20,480 bytes: the rule stays under the smaller.
/// The rule's own values come from [`RulesEdition::limits`]; a kiosk may configure stricter ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaterialLimits {
    /// The photo must be strictly larger than this.
    pub photo_min_bytes_exclusive: u64,
    pub photo_max_bytes: u64,
    pub photo_min_width: u32,
    pub photo_min_height: u32,
    pub other_max_bytes: u64,
}

/// The current edition's limits, so that a kiosk's configuration names only what it tightens.
impl Default for MaterialLimits {
    fn default() -> Self {
        RulesEdition::CURRENT.limits()
    }
}

impl MaterialLimits {
    /// The ID-card photo standard size, 358x441, as a preset.
    pub fn id_card_photo_preset() -> Self {
        MaterialLimits {
            photo_min_width: 358,
            photo_min_height: 441,
            ..Self::default()
        }
    }

    /// Whether every file these limits accept is accepted by `rule` too: the kiosk may be
    /// stricter than the province's rule (the central server checks with the limits of the
    /// record's [`RulesEdition`]), never looser, or it would make files the server refuses.
    pub fn within(&self, rule: &MaterialLimits) -> bool {
        self.photo_min_bytes_exclusive >= rule.photo_min_bytes_exclusive
            && self.photo_max_bytes <= rule.photo_max_bytes
            && self.photo_min_width >= rule.photo_min_width
            && self.photo_min_height >= rule.photo_min_height
            && self.other_max_bytes <= rule.other_max_bytes
    }

    /// Checks one file against the limit of its kind.
    pub fn check(&self, kind: MaterialKind, file: &MaterialFile) -> Result<(), IssueCode> {
        if kind == MaterialKind::Photo {
            if file.bytes <= self.photo_min_bytes_exclusive {
                return Err(IssueCode::MaterialTooSmall);
            }
            if file.bytes > self.photo_max_bytes {
                return Err(IssueCode::MaterialTooLarge);
            }
            if file.width < self.photo_min_width || file.height < self.photo_min_height {
                return Err(IssueCode::PhotoTooFewPixels);
            }
        } else if file.bytes > self.other_max_bytes {
            return Err(IssueCode::MaterialTooLarge);
        } else if file.bytes == 0 {
            return Err(IssueCode::MaterialTooSmall);
        }
        Ok(())
    }
}

/// The materials required by the answers so far, in the notice's order.
pub fn required_materials(data: &ApplicationData) -> Vec<MaterialKind> {
    MaterialKind::ALL
        .iter()
        .copied()
        .filter(|kind| is_required(*kind, data))
        .collect()
}

fn is_required(kind: MaterialKind, data: &ApplicationData) -> bool {
    match kind {
        MaterialKind::Photo | MaterialKind::IdCardFront | MaterialKind::IdCardBack => true,
        MaterialKind::WorkCertificate => data.work.employed == Some(true),
        MaterialKind::ResidenceDocument => data.work.employed == Some(false),
        MaterialKind::FullTimeEducationCertificate => data.education.full_time.is_started(),
        MaterialKind::PartTimeEducationCertificate => data.education.part_time.is_started(),
        MaterialKind::QualificationCertificate => data.qualification.held == Some(true),
    }
}

/// The files that go with a submission: those of required kinds only. Files of kinds that no
/// longer apply (after switching "employed", say) stay in the draft but are not sent.
pub fn submission_files(data: &ApplicationData) -> Vec<(MaterialKind, &MaterialFile)> {
    required_materials(data)
        .into_iter()
        .flat_map(|kind| {
            data.materials
                .get(&kind)
                .into_iter()
                .flatten()
                .map(move |f| (kind, f))
        })
        .collect()
}
