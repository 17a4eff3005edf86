//! Masking of personal data for screens outside the field being edited, logs and debug output
//! (PIPL art. 51).

/// `5329**********0484`: the first four and last four characters of an 18-character number;
/// shorter input shows less, and anything of eight characters or fewer is fully masked.
pub fn mask_id_number(id: &str) -> String {
    mask_keeping(id, 4, 4)
}

/// `138****8000`.
pub fn mask_mobile(mobile: &str) -> String {
    mask_keeping(mobile, 3, 4)
}

/// `张*`, `欧阳**`: the first character only.
pub fn mask_name(name: &str) -> String {
    mask_keeping(name, 1, 0)
}

/// `王*明`, `欧阳**锋`, `张*`: the first and, for three characters or more, the last; how a
/// receipt names the applicant so that they recognise it as theirs.
pub fn mask_name_on_paper(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

fn mask_keeping(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let (head, tail) = if chars.len() > head + tail + 1 || (tail == 0 && chars.len() > head) {
        (head, tail)
    } else {
        (0, 0)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < head || i >= chars.len() - tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_id_number("532901199001010484"), "5329**********0484");
        assert_eq!(mask_id_number("12345678"), "********");
        assert_eq!(mask_mobile("13800138000"), "138****8000");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修文"), "欧***");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(""), "");
    }
}
