//! Strict parsing of the console's forms and query strings: only the names a form has, each at
//! most as often as it may appear, every value bounded.

use super::ConsoleError;

/// Longest value of any field, in characters (a rejection's own words are at most 200).
const VALUE_MAX_CHARS: usize = 400;

/// The fields of an `application/x-www-form-urlencoded` body or query string.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `raw`, refusing a name not in `allowed`, a name given twice unless it is in
    /// `repeatable`, and an over-long value.
    pub fn parse(
        raw: &[u8],
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Fields, ConsoleError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(raw) {
            if !allowed.contains(&name.as_ref()) {
                return Err(ConsoleError::BadRequest("表单或链接中有无法识别的内容。"));
            }
            if value.chars().count() > VALUE_MAX_CHARS {
                return Err(ConsoleError::BadRequest("填写的内容过长。"));
            }
            if !repeatable.contains(&name.as_ref()) && fields.iter().any(|(n, _)| *n == name) {
                return Err(ConsoleError::BadRequest("表单或链接中有重复的内容。"));
            }
            fields.push((name.into_owned(), value.into_owned()));
        }
        Ok(Fields(fields))
    }

    /// The value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of a repeatable `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_long_fields_are_refused() {
        let ok = Fields::parse(b"a=1&r=x&r=y", &["a", "r"], &["r"]).unwrap();
        assert_eq!(ok.get("a"), Some("1"));
        assert_eq!(ok.all("r"), ["x", "y"]);
        assert!(Fields::parse(b"a=1&b=2", &["a"], &[]).is_err());
        assert!(Fields::parse(b"a=1&a=2", &["a"], &[]).is_err());
        let long = format!("a={}", "长".repeat(401));
        assert!(Fields::parse(long.as_bytes(), &["a"], &[]).is_err());
    }

    #[test]
    fn chinese_and_blank_values() {
        let f = Fields::parse("q=%E5%BC%A0%E4%B8%89&s=+".as_bytes(), &["q", "s"], &[]).unwrap();
        assert_eq!(f.get("q"), Some("张三"));
        assert_eq!(f.get("s"), None);
    }
}
