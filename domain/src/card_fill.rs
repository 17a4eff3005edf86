//! Filling the basic fields from an ID card read. A read never silently overwrites what a draft
//! already holds: a different value is reported as a conflict and left for the applicant (or
//! staff) to resolve.

use time::Date;

use crate::catalog::{Ethnicity, Gender, IdType};
use crate::idnumber;
use crate::issue::Field;
use crate::record::Basic;

/// What the kiosk takes from a card, independent of the reader's wire format.
#[derive(Clone, PartialEq, Eq)]
pub struct CardIdentity {
    pub id_type: IdType,
    pub id_number: String,
    pub name: String,
    pub gender: Option<Gender>,
    pub ethnicity: Option<Ethnicity>,
    pub birth: Option<Date>,
    pub address: Option<String>,
}

impl std::fmt::Debug for CardIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardIdentity")
            .field("id_type", &self.id_type)
            .field(
                "id_number",
                &crate::privacy::mask_id_number(&self.id_number),
            )
            .finish_non_exhaustive()
    }
}

/// The fields a card read locks (shown as "来自身份证").
pub const CARD_FIELDS: [Field; 6] = [
    Field::Name,
    Field::IdType,
    Field::IdNumber,
    Field::Gender,
    Field::Ethnicity,
    Field::BirthDate,
];

fn merge<T: PartialEq + Clone>(
    slot: &mut Option<T>,
    value: Option<&T>,
    field: Field,
    conflicts: &mut Vec<Field>,
) {
    match (slot.as_ref(), value) {
        (_, None) => {}
        (None, Some(v)) => *slot = Some(v.clone()),
        (Some(old), Some(v)) if old == v => {}
        (Some(_), Some(_)) => conflicts.push(field),
    }
}

fn merge_text(
    slot: &mut String,
    value: &str,
    field: Field,
    conflicts: &mut Vec<Field>,
    same: impl Fn(&str, &str) -> bool,
) {
    if value.trim().is_empty() {
        return;
    }
    if slot.trim().is_empty() {
        *slot = value.trim().to_owned();
    } else if !same(slot, value) {
        conflicts.push(field);
    }
}

/// Fills empty fields from the card and returns the fields where the draft disagrees with it.
/// The fields are locked (`from_id_card`) only when nothing disagrees.
pub fn fill_from_card(basic: &mut Basic, card: &CardIdentity) -> Vec<Field> {
    let mut conflicts = Vec::new();
    merge_text(
        &mut basic.id_number,
        &card.id_number,
        Field::IdNumber,
        &mut conflicts,
        |a, b| idnumber::normalize(a) == idnumber::normalize(b),
    );
    merge_text(
        &mut basic.name,
        &card.name,
        Field::Name,
        &mut conflicts,
        |a, b| a.trim() == b.trim(),
    );
    merge(
        &mut basic.id_type,
        Some(&card.id_type),
        Field::IdType,
        &mut conflicts,
    );
    merge(
        &mut basic.gender,
        card.gender.as_ref(),
        Field::Gender,
        &mut conflicts,
    );
    merge(
        &mut basic.ethnicity,
        card.ethnicity.as_ref(),
        Field::Ethnicity,
        &mut conflicts,
    );
    merge(
        &mut basic.birth_date,
        card.birth.as_ref(),
        Field::BirthDate,
        &mut conflicts,
    );
    if basic.postal_address.trim().is_empty()
        && let Some(address) = &card.address
    {
        // The card's address is the household address; the postal address may differ, so it is
        // a suggestion the applicant can edit, never a conflict.
        basic.postal_address = address.trim().to_owned();
    }
    basic.from_id_card = conflicts.is_empty();
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn card() -> CardIdentity {
        CardIdentity {
            id_type: IdType::ResidentIdCard,
            id_number: "110101199003070011".into(),
            name: "张三".into(),
            gender: Some(Gender::Male),
            ethnicity: Ethnicity::from_code(1),
            birth: Some(date!(1990 - 03 - 07)),
            address: Some("北京市东城区景山前街4号".into()),
        }
    }

    #[test]
    fn an_empty_draft_is_filled_and_locked() {
        let mut basic = Basic::default();
        assert!(fill_from_card(&mut basic, &card()).is_empty());
        assert_eq!(basic.name, "张三");
        assert_eq!(basic.birth_date, Some(date!(1990 - 03 - 07)));
        assert!(basic.from_id_card);
        assert_eq!(basic.postal_address, "北京市东城区景山前街4号");
    }

    #[test]
    fn a_disagreeing_draft_is_flagged_not_overwritten() {
        let mut basic = Basic {
            gender: Some(Gender::Female),
            birth_date: Some(date!(1990 - 03 - 08)),
            postal_address: "云南省昆明市".into(),
            id_number: "110101199003070011".into(),
            ..Basic::default()
        };
        let conflicts = fill_from_card(&mut basic, &card());
        assert_eq!(conflicts, vec![Field::Gender, Field::BirthDate]);
        assert_eq!(basic.gender, Some(Gender::Female));
        assert_eq!(basic.postal_address, "云南省昆明市");
        assert_eq!(basic.name, "张三");
        assert!(!basic.from_id_card);
    }
}
