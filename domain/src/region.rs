//! Yunnan's administrative divisions and the finance bureaus (财政局) that manage accountants.
//!
//! The table is compiled in from `data/yunnan-divisions.csv` (sources in `data/SOURCES.md`): the
//! province, its 16 prefecture-level divisions and 129 county-level divisions.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const DIVISIONS_CSV: &str = include_str!("../data/yunnan-divisions.csv");
const YUNNAN: u32 = 530000;

/// A six-digit GB/T 2260 division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DivisionCode(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionLevel {
    Province,
    Prefecture,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub code: DivisionCode,
    pub name: &'static str,
    pub parent: Option<DivisionCode>,
}

impl Division {
    pub fn level(&self) -> DivisionLevel {
        match self.parent {
            None => DivisionLevel::Province,
            Some(DivisionCode(YUNNAN)) => DivisionLevel::Prefecture,
            Some(_) => DivisionLevel::County,
        }
    }

    /// The name of this division's finance bureau, e.g. 昆明市财政局, 五华区财政局.
    pub fn bureau_name(&self) -> String {
        match self.level() {
            DivisionLevel::Province => "云南省财政厅".to_owned(),
            _ => format!("{}财政局", self.name),
        }
    }

    /// The full name for lists: 昆明市 五华区.
    pub fn full_name(&self) -> String {
        match self.parent.and_then(division) {
            Some(p) if self.level() == DivisionLevel::County => format!("{} {}", p.name, self.name),
            _ => self.name.to_owned(),
        }
    }
}

/// Where a region answer points: a Yunnan division, or somewhere outside the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Yunnan(DivisionCode),
    OutsideYunnan,
}

fn table() -> &'static [Division] {
    static TABLE: OnceLock<Vec<Division>> = OnceLock::new();
    TABLE.get_or_init(|| {
        DIVISIONS_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.split(',');
                let code = cols.next()?.trim().parse().ok()?;
                let name = cols.next()?.trim();
                let parent = cols
                    .next()
                    .and_then(|p| p.trim().parse().ok())
                    .map(DivisionCode);
                Some(Division {
                    code: DivisionCode(code),
                    name,
                    parent,
                })
            })
            .collect()
    })
}

/// Every division of the province, the province itself first.
pub fn divisions() -> &'static [Division] {
    table()
}

pub fn division(code: DivisionCode) -> Option<&'static Division> {
    table().iter().find(|d| d.code == code)
}

/// The 16 prefecture-level divisions.
pub fn prefectures() -> impl Iterator<Item = &'static Division> {
    table()
        .iter()
        .filter(|d| d.level() == DivisionLevel::Prefecture)
}

/// The county-level divisions of one prefecture.
pub fn counties_of(prefecture: DivisionCode) -> impl Iterator<Item = &'static Division> {
    table().iter().filter(move |d| d.parent == Some(prefecture))
}

/// The finance bureaus an applicant can choose: every prefecture and county bureau.
pub fn finance_bureaus() -> impl Iterator<Item = &'static Division> {
    table()
        .iter()
        .filter(|d| d.level() != DivisionLevel::Province)
}

/// Whether `bureau` manages accountants of `place`: its own bureau or its prefecture's.
pub fn bureau_covers(bureau: DivisionCode, place: DivisionCode) -> bool {
    if bureau == place {
        return true;
    }
    division(place).and_then(|d| d.parent) == Some(bureau) && bureau != DivisionCode(YUNNAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_whole_province() {
        assert_eq!(prefectures().count(), 16);
        assert_eq!(
            divisions()
                .iter()
                .filter(|d| d.level() == DivisionLevel::County)
                .count(),
            129
        );
        assert_eq!(finance_bureaus().count(), 145);
        let kunming = division(DivisionCode(530100));
        assert_eq!(
            kunming.map(Division::bureau_name),
            Some("昆明市财政局".into())
        );
        assert_eq!(counties_of(DivisionCode(530100)).count(), 14);
        let wuhua = division(DivisionCode(530102));
        assert_eq!(wuhua.map(Division::full_name), Some("昆明市 五华区".into()));
        // Every county's parent is a prefecture of the table.
        for d in divisions()
            .iter()
            .filter(|d| d.level() == DivisionLevel::County)
        {
            let parent = d.parent.and_then(division).map(Division::level);
            assert_eq!(parent, Some(DivisionLevel::Prefecture), "{}", d.name);
        }
    }

    #[test]
    fn bureaus_cover_their_own_place_and_their_counties() {
        let (kunming, wuhua, dali) = (
            DivisionCode(530100),
            DivisionCode(530102),
            DivisionCode(532900),
        );
        assert!(bureau_covers(wuhua, wuhua));
        assert!(bureau_covers(kunming, wuhua));
        assert!(!bureau_covers(wuhua, kunming));
        assert!(!bureau_covers(dali, wuhua));
        assert!(!bureau_covers(DivisionCode(YUNNAN), kunming));
    }
}
