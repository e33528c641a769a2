//! Comments are free text from owners: personal data is redacted before anything is stored,
//! and nothing stored or returned can act as HTML or script.

use std::sync::LazyLock;

use regex_lite::Regex;

/// Longest comment, in characters (before redaction).
pub const MAX_COMMENT_CHARS: usize = 1000;

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").unwrap());
/// 13–19 digits, optionally grouped by spaces or dashes (checked with Luhn).
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d(?:[ -]?\d){12,18}").unwrap());
/// A leading `+` or digit, then at least 6 more digits with common separators.
static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\+?\(?\d(?:[\s().-]*\d){6,14}").unwrap());

/// A date (`2025-08-18`) has the digits of a phone number but is not one.
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}").unwrap());

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum % 10 == 0
}

/// Replaces e-mail addresses, card numbers (Luhn-valid) and phone numbers with placeholders.
pub fn redact(text: &str) -> String {
    let text = EMAIL.replace_all(text, "[email]");
    let text = CARD.replace_all(&text, |c: &regex_lite::Captures| {
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        if luhn(&digits) { "[card]".to_owned() } else { c[0].to_owned() }
    });
    PHONE
        .replace_all(
            &text,
            |c: &regex_lite::Captures| {
                if ISO_DATE.is_match(&c[0]) { c[0].to_owned() } else { "[phone]".to_owned() }
            },
        )
        .into_owned()
}

/// Escapes the characters that let text act as HTML (`& < > " '`) and drops control
/// characters other than newlines and tabs.
pub fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '\n' | '\t' => out.push(ch),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The comment as stored: trimmed, at most [`MAX_COMMENT_CHARS`], redacted, neutralized;
/// `None` when empty. `Err` when too long.
pub fn clean(comment: &str) -> Result<Option<String>, String> {
    let trimmed = comment.trim();
    if trimmed.chars().count() > MAX_COMMENT_CHARS {
        return Err(format!("comment must be at most {MAX_COMMENT_CHARS} characters"));
    }
    Ok((!trimmed.is_empty()).then(|| neutralize(&redact(trimmed))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_redacted() {
        assert_eq!(redact("mail me at ada.l+pets@example.co.uk please"), "mail me at [email] please");
        assert_eq!(redact("card 4111 1111 1111 1111 ok"), "card [card] ok");
        assert_eq!(redact("card 4111-1111-1111-1111"), "card [card]");
        assert_eq!(redact("call +44 20 7946 0958 or (212) 555-0199"), "call [phone] or [phone]");
        assert_eq!(redact("he walked 12 km in 45 min"), "he walked 12 km in 45 min", "short numbers stay");
        assert_eq!(redact("at 2025-08-18 14:30"), "at 2025-08-18 14:30", "dates are not phones");
    }

    #[test]
    fn text_cannot_act_as_html() {
        let c = clean("<script>alert('x')</script> & <img src=x onerror=alert(1)>").unwrap().unwrap();
        assert!(!c.contains('<') && !c.contains('>') && !c.contains('\''), "{c}");
        assert_eq!(c, "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(clean("a\u{0}b\u{7}c\nd").unwrap().unwrap(), "abc\nd");
    }

    #[test]
    fn length_is_bounded_before_redaction() {
        assert!(clean(&"x".repeat(MAX_COMMENT_CHARS)).is_ok());
        assert!(clean(&"é".repeat(MAX_COMMENT_CHARS)).is_ok(), "characters, not bytes");
        assert!(clean(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
        assert_eq!(clean("   ").unwrap(), None);
    }
}
