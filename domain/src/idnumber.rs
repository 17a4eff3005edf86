//! Identity numbers: GB 11643-1999 citizen numbers and the documents that share their structure
//! (Hong Kong / Macao / Taiwan residence permits, 2023 foreign permanent resident cards), plus the
//! 15-character 2017 foreign permanent resident number.

use time::{Date, Month};

use crate::catalog::{Gender, IdType};
use crate::issue::IssueCode;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
const PERMIT_PREFIXES: [&str; 3] = ["810000", "820000", "830000"];

/// A number that passed every check, in its normalised form (upper-case X, no spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    normalized: String,
    birth: Option<Date>,
    gender: Option<Gender>,
}

impl IdNumber {
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The birth date encoded in the number (none for 2017 foreign resident numbers).
    pub fn birth(&self) -> Option<Date> {
        self.birth
    }

    /// The gender encoded in the sequence number's last digit (odd = male).
    pub fn gender(&self) -> Option<Gender> {
        self.gender
    }
}

/// The GB 11643 check character for the first 17 digits, or `None` if they are not 17 ASCII digits.
pub fn check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(char::from(CHECK_CHARS[(sum % 11) as usize]))
}

/// Strips the spaces people type in groups and upper-cases letters: a trailing x, and the three
/// letters of a 2017 foreign permanent resident card typed on a keyboard in lower case.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The document type a typed number belongs to, from its form alone: the 15-character foreign
/// permanent resident card (2017: three letters and twelve digits), an 18-character number
/// beginning with 9 (the 2023 foreign card), 810000/820000/830000 (Hong Kong, Macao and Taiwan
/// residents' residence permits), else the resident identity card. The forms do not overlap, so
/// an applicant without the card in the reader never has to choose; [`parse`] then checks the
/// number in full for that type.
pub fn type_of(input: &str) -> IdType {
    let normalized = normalize(input);
    let foreign_2017 = normalized.chars().count() == 15
        && normalized.chars().take(3).all(|c| c.is_ascii_alphabetic());
    if foreign_2017 || normalized.starts_with('9') {
        IdType::ForeignPermanentResidentCard
    } else if PERMIT_PREFIXES.iter().any(|p| normalized.starts_with(p)) {
        IdType::HkMoTwResidencePermit
    } else {
        IdType::ResidentIdCard
    }
}

/// Checks an identity number for the given document type. `today` bounds the birth date.
pub fn parse(input: &str, id_type: IdType, today: Date) -> Result<IdNumber, IssueCode> {
    let normalized = normalize(input);
    if id_type == IdType::ForeignPermanentResidentCard && normalized.chars().count() == 15 {
        return parse_foreign_2017(normalized);
    }
    let number = parse_18(normalized, today)?;
    let s = number.as_str();
    match id_type {
        IdType::ResidentIdCard => {
            if s.starts_with('9') || PERMIT_PREFIXES.iter().any(|p| s.starts_with(p)) {
                return Err(IssueCode::IdNotResident);
            }
        }
        IdType::HkMoTwResidencePermit => {
            if !PERMIT_PREFIXES.iter().any(|p| s.starts_with(p)) {
                return Err(IssueCode::IdNotPermit);
            }
        }
        IdType::ForeignPermanentResidentCard => {
            if !s.starts_with('9') {
                return Err(IssueCode::IdNotForeign);
            }
        }
    }
    Ok(number)
}

fn parse_18(normalized: String, today: Date) -> Result<IdNumber, IssueCode> {
    if !normalized.is_ascii() {
        return Err(if normalized.chars().count() == 18 {
            IssueCode::IdCharacters
        } else {
            IssueCode::IdLength
        });
    }
    if normalized.len() != 18 {
        return Err(IssueCode::IdLength);
    }
    let (first17, last) = normalized.split_at(17);
    let expected = check_character(first17).ok_or(IssueCode::IdCharacters)?;
    let last = last.chars().next().ok_or(IssueCode::IdLength)?;
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(IssueCode::IdCharacters);
    }
    let birth = birth_date(&first17[6..14]).ok_or(IssueCode::IdBirthDate)?;
    if birth > today {
        return Err(IssueCode::IdBirthInFuture);
    }
    if last != expected {
        return Err(IssueCode::IdChecksum);
    }
    let sequence_digit = first17.as_bytes()[16] - b'0';
    let gender = if sequence_digit % 2 == 1 {
        Gender::Male
    } else {
        Gender::Female
    };
    Ok(IdNumber {
        normalized,
        birth: Some(birth),
        gender: Some(gender),
    })
}

fn parse_foreign_2017(normalized: String) -> Result<IdNumber, IssueCode> {
    let bytes = normalized.as_bytes();
    let well_formed = normalized.is_ascii()
        && bytes.len() == 15
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3..].iter().all(u8::is_ascii_digit);
    if !well_formed {
        return Err(IssueCode::ForeignIdFormat);
    }
    Ok(IdNumber {
        normalized: normalized.to_ascii_uppercase(),
        birth: None,
        gender: None,
    })
}

/// Parses YYYYMMDD into a real calendar date.
pub fn birth_date(yyyymmdd: &str) -> Option<Date> {
    if yyyymmdd.len() != 8 || !yyyymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = yyyymmdd[0..4].parse().ok()?;
    let month: u8 = yyyymmdd[4..6].parse().ok()?;
    let day: u8 = yyyymmdd[6..8].parse().ok()?;
    if year < 1850 {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_type_follows_from_the_form_of_the_number() {
        let with_check =
            |first17: &str| format!("{first17}{}", check_character(first17).unwrap_or('0'));
        let permit = with_check("81000019900101001");
        let foreign_2023 = with_check("93303619900101001");
        let resident = with_check("53010219900101001");
        assert_eq!(type_of(&permit), IdType::HkMoTwResidencePermit);
        assert_eq!(type_of(&foreign_2023), IdType::ForeignPermanentResidentCard);
        assert_eq!(
            type_of("USA330619900101"),
            IdType::ForeignPermanentResidentCard
        );
        assert_eq!(type_of(&resident), IdType::ResidentIdCard);
        assert_eq!(type_of(""), IdType::ResidentIdCard);
        for number in [&permit, &foreign_2023, &resident] {
            assert!(parse(number, type_of(number), TODAY).is_ok(), "{number}");
        }
    }

    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 28);

    #[test]
    fn spec_vectors() {
        for (number, check) in [
            ("11010519491231002X", 'X'),
            ("110101199003070011", '1'),
            ("330106198512162713", '3'),
            ("510107200002290037", '7'),
        ] {
            assert_eq!(check_character(&number[..17]), Some(check), "{number}");
            assert!(
                parse(number, IdType::ResidentIdCard, TODAY).is_ok(),
                "{number}"
            );
        }
    }

    #[test]
    fn lower_case_x_is_normalised() {
        let parsed = parse("11010519491231002x", IdType::ResidentIdCard, TODAY);
        assert_eq!(
            parsed.map(|n| n.as_str().to_owned()),
            Ok("11010519491231002X".to_owned())
        );
    }

    #[test]
    fn gender_and_birth_come_from_the_number() {
        let female = parse("11010519491231002X", IdType::ResidentIdCard, TODAY).ok();
        assert_eq!(
            female.as_ref().and_then(IdNumber::gender),
            Some(Gender::Female)
        );
        assert_eq!(
            female.as_ref().and_then(IdNumber::birth),
            Some(date!(1949 - 12 - 31))
        );
        let male = parse("110101199003070011", IdType::ResidentIdCard, TODAY).ok();
        assert_eq!(male.and_then(|n| n.gender()), Some(Gender::Male));
    }

    #[test]
    fn each_failure_has_its_own_code() {
        let p = |s| parse(s, IdType::ResidentIdCard, TODAY).err();
        assert_eq!(p("11010519491231002"), Some(IssueCode::IdLength));
        assert_eq!(p("1101051949123100AX"), Some(IssueCode::IdCharacters));
        assert_eq!(p("110105194913310026"), Some(IssueCode::IdBirthDate));
        assert_eq!(p("110105190002290028"), Some(IssueCode::IdBirthDate));
        assert_eq!(p("110101199003070012"), Some(IssueCode::IdChecksum));
        // 2030-01-01: a real date, but not yet.
        let future = format!(
            "11010120300101001{}",
            check_character("11010120300101001").unwrap_or('0')
        );
        assert_eq!(p(&future), Some(IssueCode::IdBirthInFuture));
        assert_eq!(
            p("张三李四王五赵六孙七周八吴九郑十钱一"),
            Some(IssueCode::IdCharacters)
        );
        assert_eq!(p("张三李四"), Some(IssueCode::IdLength));
    }

    #[test]
    fn permit_and_foreign_numbers() {
        let permit = format!(
            "81000019900101001{}",
            check_character("81000019900101001").unwrap_or('0')
        );
        assert!(parse(&permit, IdType::HkMoTwResidencePermit, TODAY).is_ok());
        assert_eq!(
            parse(&permit, IdType::ResidentIdCard, TODAY).err(),
            Some(IssueCode::IdNotResident)
        );
        assert_eq!(
            parse("110101199003070011", IdType::HkMoTwResidencePermit, TODAY).err(),
            Some(IssueCode::IdNotPermit)
        );
        let foreign = format!(
            "93115619900101002{}",
            check_character("93115619900101002").unwrap_or('0')
        );
        assert!(parse(&foreign, IdType::ForeignPermanentResidentCard, TODAY).is_ok());
        assert!(
            parse(
                "USA531290123456",
                IdType::ForeignPermanentResidentCard,
                TODAY
            )
            .is_ok()
        );
        assert_eq!(
            parse(
                "US1531290123456",
                IdType::ForeignPermanentResidentCard,
                TODAY
            )
            .err(),
            Some(IssueCode::ForeignIdFormat)
        );
    }
}
