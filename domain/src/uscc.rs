//! Unified social credit codes (统一社会信用代码), GB 32100-2015, with the organisation-code check
//! (GB 11714) embedded in positions 9 to 17.
//!
//! Some codes issued early fail their checks although they are genuine, so a failed check is
//! reported separately from a malformed code: the first may be confirmed by staff, the second not.

use crate::issue::IssueCode;

const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The result of checking a well-formed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uscc {
    pub normalized: String,
    /// Position 18 matches the GB 32100 check.
    pub check_ok: bool,
    /// Position 17 matches the GB 11714 organisation-code check.
    pub org_check_ok: bool,
}

impl Uscc {
    pub fn passes_checks(&self) -> bool {
        self.check_ok && self.org_check_ok
    }
}

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// GB 11714 value of a character: digits as themselves, letters A=10 … Z=35.
fn org_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        _ => u32::from(c.to_ascii_uppercase() - b'A') + 10,
    }
}

/// The GB 32100 check character for the first 17 characters.
pub fn check_character(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (&c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(c)? * w;
    }
    let c18 = (31 - sum % 31) % 31;
    Some(char::from(CHARSET[c18 as usize]))
}

/// The GB 11714 check character for the 8 body characters of an organisation code.
pub fn org_check_character(body: &[u8]) -> Option<char> {
    if body.len() != 8 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(&c, w)| org_value(c) * w)
        .sum();
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    })
}

/// Checks a code. `Err` means it is malformed (length or characters); `Ok` tells whether the
/// checksums pass.
pub fn parse(input: &str) -> Result<Uscc, IssueCode> {
    let normalized: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !normalized.is_ascii() {
        return Err(if normalized.chars().count() == 18 {
            IssueCode::UsccCharacters
        } else {
            IssueCode::UsccLength
        });
    }
    let bytes = normalized.as_bytes();
    if bytes.len() != 18 {
        return Err(IssueCode::UsccLength);
    }
    if !bytes.iter().all(|&c| value(c).is_some()) {
        return Err(IssueCode::UsccCharacters);
    }
    let check_ok = check_character(&bytes[..17]) == Some(char::from(bytes[17]));
    let org_check_ok = org_check_character(&bytes[8..16]) == Some(char::from(bytes[16]));
    Ok(Uscc {
        normalized,
        check_ok,
        org_check_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        for (code, c18, org) in [
            ("91350100M000100Y43", '3', '4'),
            ("91330106MA2B3C4D11", '1', '1'),
            ("91110108551385082Q", 'Q', '2'),
        ] {
            let b = code.as_bytes();
            assert_eq!(check_character(&b[..17]), Some(c18), "{code}");
            assert_eq!(org_check_character(&b[8..16]), Some(org), "{code}");
            assert_eq!(parse(code).map(|u| u.passes_checks()), Ok(true), "{code}");
        }
    }

    #[test]
    fn lower_case_and_spaces_are_accepted() {
        assert_eq!(
            parse("91110108 551385082q").map(|u| u.normalized),
            Ok("91110108551385082Q".to_owned())
        );
    }

    #[test]
    fn malformed_and_failing_codes() {
        assert_eq!(parse("9111010855138508").err(), Some(IssueCode::UsccLength));
        assert_eq!(
            parse("91110108551385082I").err(),
            Some(IssueCode::UsccCharacters)
        );
        assert_eq!(
            parse("９１１１０１０８５５１３８５０８２Ｑ").err(),
            Some(IssueCode::UsccCharacters)
        );
        let wrong18 = parse("91110108551385082R");
        assert_eq!(wrong18.as_ref().map(|u| u.check_ok), Ok(false));
        assert_eq!(wrong18.map(|u| u.org_check_ok), Ok(true));
        // Organisation check broken, position 18 recomputed so only the embedded check fails.
        let mut body = *b"91110108551385083?";
        body[17] = check_character(&body[..17])
            .map(|c| c as u8)
            .unwrap_or(b'0');
        let s = String::from_utf8_lossy(&body).into_owned();
        let u = parse(&s);
        assert_eq!(
            u.as_ref().map(|u| (u.check_ok, u.org_check_ok)),
            Ok((true, false))
        );
    }
}
