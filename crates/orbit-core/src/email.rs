//! Email address normalisation: trim, NFC, lower-case the domain. The local part keeps its case
//! (RFC 5321 lets servers treat it case-sensitively) but uniqueness is checked case-insensitively
//! by lower-casing it too, since no real provider distinguishes `Ann@` from `ann@`.

use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("an email address has the form name@example.com")]
    Malformed,
    #[error("an email address may be at most 254 characters long")]
    TooLong,
}

/// Returns the normalised address used for storage and lookup.
pub fn normalize(input: &str) -> Result<String, EmailError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(EmailError::Empty);
    }
    let nfc: String = trimmed.nfc().collect();
    if nfc.chars().count() > 254 {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = nfc.rsplit_once('@').ok_or(EmailError::Malformed)?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || nfc
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        || local.contains('@')
    {
        return Err(EmailError::Malformed);
    }
    Ok(format!(
        "{}@{}",
        local.to_lowercase(),
        domain.to_lowercase()
    ))
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
        check(
            &format!("{}@example.com", "a".repeat(250)),
            Err(EmailError::TooLong),
        );
    }
}
