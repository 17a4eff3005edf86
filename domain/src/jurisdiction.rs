//! Where an applicant is collected (属地化原则): employed accountants where their employer is,
//! students holding a qualification where their school is, everybody else where their household
//! registration or residence is. The applicant picks the finance bureau; this checks the pick.

use crate::catalog::NotEmployedCategory;
use crate::issue::{Field, Issue, IssueCode};
use crate::record::Work;
use crate::region::{self, DivisionCode, Region};

/// What decides the place of collection, given the work answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceBasis {
    Employer,
    School,
    Residence,
}

impl PlaceBasis {
    fn mismatch(self) -> IssueCode {
        match self {
            PlaceBasis::Employer => IssueCode::BureauNotEmployerRegion,
            PlaceBasis::School => IssueCode::BureauNotSchoolRegion,
            PlaceBasis::Residence => IssueCode::BureauNotResidenceRegion,
        }
    }

    fn field(self) -> Field {
        match self {
            PlaceBasis::Employer => Field::EmployerRegion,
            PlaceBasis::School | PlaceBasis::Residence => Field::NotEmployedRegion,
        }
    }
}

/// The region that decides the place of collection and why, once the answers give one.
pub fn deciding_region(work: &Work) -> Option<(PlaceBasis, Region)> {
    match work.employed? {
        true => Some((PlaceBasis::Employer, work.employment.employer_region?)),
        false => {
            let basis = match work.non_employment.category? {
                NotEmployedCategory::StudentWithQualification => PlaceBasis::School,
                NotEmployedCategory::OtherWithQualification => PlaceBasis::Residence,
            };
            Some((basis, work.non_employment.region?))
        }
    }
}

/// The bureau to suggest for a region: the county's own bureau.
pub fn suggested_bureau(work: &Work) -> Option<DivisionCode> {
    match deciding_region(work)? {
        (_, Region::Yunnan(code)) if region::division(code).is_some() => Some(code),
        _ => None,
    }
}

/// Checks the chosen bureau against the deciding region. Issues are reported on the region field,
/// where the applicant just answered, with a message naming the rule.
pub fn check(bureau: Option<DivisionCode>, work: &Work) -> Vec<Issue> {
    let Some((basis, place)) = deciding_region(work) else {
        return Vec::new();
    };
    let place = match place {
        Region::OutsideYunnan => {
            return vec![Issue::error(basis.field(), IssueCode::OutsideYunnan)];
        }
        Region::Yunnan(code) if region::division(code).is_none() => {
            return vec![Issue::error(basis.field(), IssueCode::UnknownRegion)];
        }
        Region::Yunnan(code) => code,
    };
    match bureau {
        Some(b) if region::bureau_covers(b, place) => Vec::new(),
        // A missing bureau is reported on the basic page, where it is chosen.
        None => Vec::new(),
        Some(_) => vec![Issue::error(basis.field(), basis.mismatch())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn employed_in(code: u32) -> Work {
        let mut w = Work {
            employed: Some(true),
            ..Work::default()
        };
        w.employment.employer_region = Some(Region::Yunnan(DivisionCode(code)));
        w
    }

    #[test]
    fn employed_are_collected_where_the_employer_is() {
        let work = employed_in(530102);
        assert!(check(Some(DivisionCode(530102)), &work).is_empty());
        assert!(check(Some(DivisionCode(530100)), &work).is_empty());
        let wrong = check(Some(DivisionCode(532901)), &work);
        assert_eq!(
            wrong.first().map(|i| (i.field, i.code)),
            Some((Field::EmployerRegion, IssueCode::BureauNotEmployerRegion))
        );
        assert_eq!(suggested_bureau(&work), Some(DivisionCode(530102)));
    }

    #[test]
    fn students_and_others() {
        let mut w = Work {
            employed: Some(false),
            ..Work::default()
        };
        w.non_employment.category = Some(NotEmployedCategory::StudentWithQualification);
        w.non_employment.region = Some(Region::Yunnan(DivisionCode(532901)));
        assert!(check(Some(DivisionCode(532900)), &w).is_empty());
        assert_eq!(
            check(Some(DivisionCode(530102)), &w)
                .first()
                .map(|i| i.code),
            Some(IssueCode::BureauNotSchoolRegion)
        );
        w.non_employment.category = Some(NotEmployedCategory::OtherWithQualification);
        assert_eq!(
            check(Some(DivisionCode(530102)), &w)
                .first()
                .map(|i| i.code),
            Some(IssueCode::BureauNotResidenceRegion)
        );
        w.non_employment.region = Some(Region::OutsideYunnan);
        assert_eq!(
            check(Some(DivisionCode(530102)), &w)
                .first()
                .map(|i| i.code),
            Some(IssueCode::OutsideYunnan)
        );
    }

    #[test]
    fn unknown_codes_are_refused() {
        let work = employed_in(110101);
        assert_eq!(
            check(Some(DivisionCode(530102)), &work)
                .first()
                .map(|i| i.code),
            Some(IssueCode::UnknownRegion)
        );
    }
}
