//! Names, phone numbers, e-mail addresses, passwords and SMS codes.

use crate::issue::IssueCode;

/// Longest accepted name, in characters (long foreign names included).
pub const NAME_MAX_CHARS: usize = 60;

/// Checks a person's name: Chinese characters (any plane: card names hold rare characters),
/// letters, the middle dot of minority and foreign names, spaces.
pub fn check_name(name: &str) -> Result<(), IssueCode> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IssueCode::Required);
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(IssueCode::TooLong);
    }
    let allowed = |c: char| c.is_alphabetic() || matches!(c, '·' | '•' | '.' | ' ' | '-');
    if name.chars().all(allowed) {
        Ok(())
    } else {
        Err(IssueCode::NameCharacters)
    }
}

/// Normalises a mainland mobile number: spaces and hyphens dropped, `+86`/`0086` removed.
pub fn normalize_mobile(input: &str) -> Result<String, IssueCode> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let b = digits.as_bytes();
    let ok = b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1]);
    if ok {
        Ok(digits.to_owned())
    } else {
        Err(IssueCode::MobileFormat)
    }
}

/// A landline with area code (0871-61234567, optional extension) or a mobile number.
pub fn check_phone(input: &str) -> Result<(), IssueCode> {
    if normalize_mobile(input).is_ok() {
        return Ok(());
    }
    let s = input.trim();
    let (main, extension) = match s.split_once(['转', '#']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    if let Some(e) = extension
        && (e.is_empty() || e.len() > 6 || !e.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(IssueCode::PhoneFormat);
    }
    let digits: String = main.chars().filter(|c| *c != '-' && *c != ' ').collect();
    let only_digits = digits.bytes().all(|b| b.is_ascii_digit());
    let with_area = digits.starts_with('0') && (10..=12).contains(&digits.len());
    let local = !digits.starts_with('0') && (7..=8).contains(&digits.len());
    if only_digits && (with_area || local) {
        Ok(())
    } else {
        Err(IssueCode::PhoneFormat)
    }
}

/// A plain check of an e-mail address: one `@`, a dotted domain, no spaces.
pub fn check_email(input: &str) -> Result<(), IssueCode> {
    let s = input.trim();
    if s.len() > 254 || !s.is_ascii() || s.contains(char::is_whitespace) {
        return Err(IssueCode::EmailFormat);
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(IssueCode::EmailFormat);
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if local.is_empty() || local.len() > 64 || domain.contains('@') || !labels_ok {
        return Err(IssueCode::EmailFormat);
    }
    Ok(())
}

/// 8 to 20 characters with at least one letter and one digit.
pub fn check_password(password: &str) -> Result<(), IssueCode> {
    let len = password.chars().count();
    let has_letter = password.chars().any(|c| c.is_ascii_alphabetic());
    let has_digit = password.chars().any(|c| c.is_ascii_digit());
    if (8..=20).contains(&len) && has_letter && has_digit && password.is_ascii() {
        Ok(())
    } else {
        Err(IssueCode::PasswordRule)
    }
}

pub fn check_sms_code(code: &str) -> Result<(), IssueCode> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IssueCode::SmsCodeFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert_eq!(normalize_mobile("138 0013 8000"), Ok("13800138000".into()));
        assert_eq!(
            normalize_mobile("+86 138-0013-8000"),
            Ok("13800138000".into())
        );
        assert_eq!(
            normalize_mobile("008619912345678"),
            Ok("19912345678".into())
        );
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
            "",
            "１３８００１３８０００",
        ] {
            assert_eq!(normalize_mobile(bad), Err(IssueCode::MobileFormat), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for good in [
            "0871-61234567",
            "087161234567",
            "0691-2123456",
            "61234567",
            "13800138000",
            "0871-61234567转123",
        ] {
            assert_eq!(check_phone(good), Ok(()), "{good}");
        }
        for bad in ["12345", "0871-6123456789", "abc", "0871-61234567转", ""] {
            assert_eq!(check_phone(bad), Err(IssueCode::PhoneFormat), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(check_email("zhang.san@example.com.cn"), Ok(()));
        for bad in [
            "zhang",
            "a@b",
            "a@@b.cn",
            "a b@c.cn",
            "@c.cn",
            "a@.cn",
            "张@例子.中国",
        ] {
            assert_eq!(check_email(bad), Err(IssueCode::EmailFormat), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(check_name("张三"), Ok(()));
        assert_eq!(check_name("阿依古丽·买买提"), Ok(()));
        assert_eq!(check_name("𠀾𪚥"), Ok(()));
        assert_eq!(check_name("John Smith"), Ok(()));
        assert_eq!(check_name("  "), Err(IssueCode::Required));
        assert_eq!(check_name("张三3"), Err(IssueCode::NameCharacters));
        assert_eq!(check_name(&"李".repeat(61)), Err(IssueCode::TooLong));
    }

    #[test]
    fn passwords_and_codes() {
        assert_eq!(check_password("abc12345"), Ok(()));
        assert_eq!(check_password("abcdefgh"), Err(IssueCode::PasswordRule));
        assert_eq!(check_password("1234567"), Err(IssueCode::PasswordRule));
        assert_eq!(check_sms_code("123456"), Ok(()));
        assert_eq!(check_sms_code("12345a"), Err(IssueCode::SmsCodeFormat));
    }
}
