//! Email address normalisation: one address is one account however it is typed
//! (docs/design/accounts.md "One address, one account").
//!
//! - Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C) are refused: they
//!   can make a page or an email show another address than the one stored.
//! - Invisible characters (U+200B, U+00AD, U+2060, ... `Default_Ignorable_Code_Point`) are
//!   dropped, and compatibility forms (fullwidth letters, ligatures) fold to their plain form
//!   (NFKC), so neither makes a second account that displays like the first.
//! - The domain goes through IDNA (UTS 46): `xn--` punycode and its Unicode form are one domain,
//!   stored in Unicode; a domain IDNA refuses is malformed.
//! - The local part keeps its case on the wire (RFC 5321 lets servers treat it
//!   case-sensitively) but is lower-cased for uniqueness, since no real provider distinguishes
//!   `Ann@` from `ann@`.

use crate::text;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("an email address has the form name@example.com")]
    Malformed,
    #[error("an email address may be at most 254 characters long")]
    TooLong,
    #[error("an email address must not contain characters that change the direction of text (such as U+202E)")]
    DirectionControl,
}

/// Returns the normalised address used for storage and lookup.
pub fn normalize(input: &str) -> Result<String, EmailError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(EmailError::Empty);
    }
    if trimmed.chars().any(text::is_bidi_control) {
        return Err(EmailError::DirectionControl);
    }
    let visible: String = trimmed
        .chars()
        .filter(|c| !text::is_invisible(*c))
        .collect();
    let folded: String = visible.nfkc().collect();
    if folded.chars().count() > 254 {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = folded.rsplit_once('@').ok_or(EmailError::Malformed)?;
    if local.is_empty()
        || local.contains('@')
        || folded
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
    {
        return Err(EmailError::Malformed);
    }
    let domain = unicode_domain(domain)?;
    Ok(format!("{}@{domain}", local.to_lowercase()))
}

/// The domain in its Unicode form after UTS 46 processing (lower case, punycode decoded),
/// provided its ASCII form is a valid host name of at least two labels.
fn unicode_domain(domain: &str) -> Result<String, EmailError> {
    let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Malformed)?;
    if ascii.is_empty()
        || !ascii.contains('.')
        || ascii.starts_with('.')
        || ascii.ends_with('.')
        || ascii.contains("..")
    {
        return Err(EmailError::Malformed);
    }
    let (unicode, result) = idna::domain_to_unicode(&ascii);
    result.map_err(|_| EmailError::Malformed)?;
    Ok(unicode)
}

/// A normalised address as SMTP sends it: the domain in its ASCII (`xn--`) form.
pub fn for_delivery(normalized: &str) -> String {
    match normalized.rsplit_once('@') {
        Some((local, domain)) => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => normalized.to_owned(),
        },
        None => normalized.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, EmailError>) {
        assert_eq!(
            normalize(input).as_deref().map_err(Clone::clone),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn table() {
        check("ann@example.com", Ok("ann@example.com"));
        check("  Ann@EXAMPLE.com \n", Ok("ann@example.com"));
        check("ann@EXAMPLE.COM", Ok("ann@example.com"));
        // NFC: "e" + combining acute becomes "é".
        check("re\u{301}ne@example.com", Ok("r\u{e9}ne@example.com"));
        check("", Err(EmailError::Empty));
        check("   ", Err(EmailError::Empty));
        check("ann", Err(EmailError::Malformed));
        check("ann@", Err(EmailError::Malformed));
        check("@example.com", Err(EmailError::Malformed));
        check("ann@localhost", Err(EmailError::Malformed));
        check("a nn@example.com", Err(EmailError::Malformed));
        check("ann@@example.com", Err(EmailError::Malformed));
        check("ann@example..com", Err(EmailError::Malformed));
        check("ann@.example.com", Err(EmailError::Malformed));
        check("ann@example.com.", Err(EmailError::Malformed));
        check("ann@exa_mple.com", Err(EmailError::Malformed));
        check(
            &format!("{}@example.com", "a".repeat(250)),
            Err(EmailError::TooLong),
        );
    }

    #[test]
    fn look_alikes_are_one_address() {
        // Invisible characters, anywhere.
        check("a\u{200B}nn@example.com", Ok("ann@example.com"));
        check("ann\u{00AD}@exam\u{00AD}ple.com", Ok("ann@example.com"));
        check("\u{2060}ann@example.com\u{FEFF}", Ok("ann@example.com"));
        check("ann@example.com\u{200C}", Ok("ann@example.com"));
        // Compatibility forms: fullwidth letters and at sign, ligatures.
        check(
            "\u{FF41}\u{FF4E}\u{FF4E}@\u{FF45}xample.com",
            Ok("ann@example.com"),
        );
        check("ann\u{FF20}example.com", Ok("ann@example.com"));
        check("\u{FB01}@example.com", Ok("fi@example.com"));
        // The two forms of an internationalised domain.
        check("ann@m\u{FC}nchen.de", Ok("ann@m\u{FC}nchen.de"));
        check("ann@xn--mnchen-3ya.de", Ok("ann@m\u{FC}nchen.de"));
        check("ann@XN--MNCHEN-3YA.DE", Ok("ann@m\u{FC}nchen.de"));
        check("ann@M\u{DC}NCHEN.de", Ok("ann@m\u{FC}nchen.de"));
        // Punycode that decodes to nothing valid.
        check("ann@xn--zz-.de", Err(EmailError::Malformed));
    }

    #[test]
    fn direction_controls_are_refused() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            check(
                &format!("ann{c}@example.com"),
                Err(EmailError::DirectionControl),
            );
            check(
                &format!("ann@exam{c}ple.com"),
                Err(EmailError::DirectionControl),
            );
        }
    }

    #[test]
    fn delivery_form_is_ascii() {
        assert_eq!(for_delivery("ann@m\u{FC}nchen.de"), "ann@xn--mnchen-3ya.de");
        assert_eq!(for_delivery("ann@example.com"), "ann@example.com");
    }
}
