//! [`Secrets`]: the values a run was given that must never reach an
//! artefact (tokens, passwords, cookies), and their redaction.

use std::borrow::Cow;
use std::fmt;

/// What stands in an artefact where a secret was.
pub const REDACTED: &str = "[redacted]";

/// Values to take out of every artefact before it is written. Each is
/// matched as written and as JSON and HTML would escape it (a password
/// with a `"` appears as `\"` in `record.json` and `&quot;` in
/// `report.html`). Its `Debug` says how many, never what.
///
/// ```
/// use somon_record::Secrets;
///
/// let secrets = Secrets::new(["Bearer abc123", "hunter2"]);
/// assert_eq!(
///     secrets.redact("auth: Bearer abc123, pw hunter2"),
///     "auth: [redacted], pw [redacted]"
/// );
/// assert_eq!(format!("{secrets:?}"), "Secrets(2 values)");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is taken whole.
    forms: Vec<String>,
    count: usize,
}

impl Secrets {
    /// The secrets among `values` (empty ones are dropped).
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Secrets {
        let mut secrets = Secrets::default();
        for value in values {
            secrets.add(value.as_ref());
        }
        secrets
    }

    /// Adds `value` (nothing when it is empty or already there).
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || self.forms.iter().any(|f| f == value) {
            return;
        }
        self.count += 1;
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned();
        let html = html_escape(value);
        for form in [value.to_owned(), json, html] {
            if !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// How many secrets.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), REDACTED));
            }
        }
        out
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.count)
    }
}

/// `value` as HTML escapes it in text and attributes (minijinja's and
/// the usual escapers' set).
fn html_escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#x27;"),
            '/' => s.push_str("&#x2f;"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_forms_are_redacted_too() {
        let s = Secrets::new(["p\"w/<1>"]);
        let json = serde_json::to_string(&serde_json::json!({ "v": "p\"w/<1>" })).unwrap();
        assert_eq!(s.redact(&json), "{\"v\":\"[redacted]\"}");
        assert_eq!(s.redact("x p&quot;w&#x2f;&lt;1&gt; y"), "x [redacted] y");
        assert_eq!(s.redact("nothing here"), "nothing here");
        assert!(matches!(s.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_longer_secret_is_taken_whole() {
        let s = Secrets::new(["abc", "xabcx", ""]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.redact("xabcx abc"), "[redacted] [redacted]");
    }

    proptest::proptest! {
        #[test]
        fn no_secret_survives(secret in "[A-Z0-9!@#%^*]{1,12}", before in "[ -~]{0,20}", after in "[ -~]{0,20}") {
            // The secret shares no character with the marker, so any copy
            // left would be one the redaction missed, not one it made.
            let s = Secrets::new([secret.as_str()]);
            let text = format!("{before}{secret}{after}{secret}");
            let redacted = s.redact(&text);
            proptest::prop_assert!(!redacted.contains(secret.as_str()), "{redacted}");
        }
    }
}
