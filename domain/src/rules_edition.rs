//! Editions of the collection rules: the limits a record was checked with travel with it.
//!
//! The kiosk checks a record when the applicant submits it and the central server checks it again
//! when it arrives, perhaps after the province changed a limit and one of them was updated first.
//! Each record names its edition, and both sides take the limits of that edition from here, so an
//! older kiosk's record is judged by the rules it was made under, and a server that does not know
//! a newer edition says so instead of judging by the wrong one.

use serde::{Deserialize, Serialize};

use crate::materials::MaterialLimits;

/// One edition of the rules. Add a variant when a limit changes; never change an existing one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RulesEdition {
    /// The notice's limits (notice l.23) and the product's lower bounds (`docs/rules.md` P15, P16).
    /// Records made before editions existed carry no edition and are read as this one.
    #[default]
    #[serde(rename = "yn-rules-2026.1")]
    Yunnan2026v1,
}

impl RulesEdition {
    /// The edition this build stamps on what it submits.
    pub const CURRENT: RulesEdition = RulesEdition::Yunnan2026v1;
    /// Every edition this build can judge, oldest first.
    pub const ALL: [RulesEdition; 1] = [RulesEdition::Yunnan2026v1];

    /// The name records carry.
    pub fn name(self) -> &'static str {
        match self {
            RulesEdition::Yunnan2026v1 => "yn-rules-2026.1",
        }
    }

    pub fn from_name(name: &str) -> Option<RulesEdition> {
        Self::ALL.into_iter().find(|edition| edition.name() == name)
    }

    /// The file limits of this edition: the one source both the kiosk and the server use.
    pub const fn limits(self) -> MaterialLimits {
        match self {
            RulesEdition::Yunnan2026v1 => MaterialLimits {
                photo_min_bytes_exclusive: 10_240,
                photo_max_bytes: 20_000,
                photo_min_width: 295,
                photo_min_height: 413,
                other_max_bytes: 200_000,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_serialise_as_named() {
        for edition in RulesEdition::ALL {
            assert_eq!(RulesEdition::from_name(edition.name()), Some(edition));
            assert_eq!(
                serde_json::to_value(edition).unwrap(),
                serde_json::Value::String(edition.name().to_owned())
            );
        }
        assert_eq!(RulesEdition::from_name("yn-rules-2099.1"), None);
        assert!(RulesEdition::ALL.contains(&RulesEdition::CURRENT));
    }
}
