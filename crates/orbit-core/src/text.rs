//! Character classes for text that reaches pages and emails: bidirectional controls, which can
//! reorder what a reader sees, and invisible (default-ignorable) characters, which change nothing
//! a reader sees. Both from the Unicode Character Database through ICU4X.

use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
use icu_properties::CodePointSetData;

/// U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069 (`Bidi_Control`).
pub fn is_bidi_control(c: char) -> bool {
    CodePointSetData::new::<BidiControl>().contains(c)
}

/// Invisible format characters such as U+200B, U+00AD, U+2060, U+FEFF and variation selectors
/// (`Default_Ignorable_Code_Point`; bidirectional controls are among them).
pub fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// `s` without its bidirectional controls: for echoing what a form sent back into a page.
pub fn without_bidi_controls(s: &str) -> String {
    s.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// Why text with a bidirectional control is refused, for the error that names the field.
pub const BIDI_REASON: &str =
    "must not contain characters that change the direction of text (such as U+202E)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_bidi_control(c), "{c:?}");
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['\u{200B}', '\u{00AD}', '\u{2060}', '\u{FEFF}', '\u{FE0F}'] {
            assert!(is_invisible(c), "{c:?}");
            assert!(!is_bidi_control(c), "{c:?}");
        }
        assert_eq!(
            without_bidi_controls("ann\u{202E}moc.elpmaxe@"),
            "annmoc.elpmaxe@"
        );
        for c in ['a', 'é', 'ß', '-', '.', '@', '中', 'Ａ'] {
            assert!(!is_invisible(c) && !is_bidi_control(c), "{c:?}");
        }
    }
}
