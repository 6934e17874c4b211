//! What a session's user agent says of the device it runs on, as the profile pages show it:
//! the browser, the operating system, whether it is a phone. A rough reading of the string
//! (nothing depends on it but the display), checked in the order that tells browsers apart
//! (Edge's string names Chrome and Safari too, Chrome's names Safari).

/// A device as a user agent describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<&'static str>,
    pub os: Option<&'static str>,
    pub mobile: bool,
}

/// Reads `ua` (`None`: nothing is known).
pub fn describe(ua: Option<&str>) -> Device {
    let Some(ua) = ua else {
        return Device {
            browser: None,
            os: None,
            mobile: false,
        };
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    Device {
        browser,
        os,
        mobile: ua.contains("Mobile") || ua.contains("Android") || ua.contains("iPhone"),
    }
}

/// `ua` in a few words, as pages show a session's device: "Chrome on Linux", "Firefox",
/// "Unknown device".
pub fn summary(ua: Option<&str>) -> String {
    let device = describe(ua);
    match (ua, device.browser, device.os) {
        (None, _, _) => "Unknown device".into(),
        (_, browser, Some(os)) => format!("{} on {os}", browser.unwrap_or("Browser")),
        (_, browser, None) => browser.unwrap_or("Browser").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        let check = |ua: Option<&str>, browser, os, mobile| {
            assert_eq!(
                describe(ua),
                Device {
                    browser,
                    os,
                    mobile
                },
                "{ua:?}"
            );
        };
        check(
            Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"),
            Some("Chrome"),
            Some("Linux"),
            false,
        );
        check(
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/156.0 Safari/537.36 Edg/156.0"),
            Some("Edge"),
            Some("Windows"),
            false,
        );
        check(
            Some("Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) Version/19.0 Mobile/15E148 Safari/604.1"),
            Some("Safari"),
            Some("iOS"),
            true,
        );
        check(Some("curl/8.0"), None, None, false);
        check(None, None, None, false);
    }

    #[test]
    fn summaries() {
        assert_eq!(
            summary(Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
            )),
            "Chrome on Linux"
        );
        assert_eq!(summary(Some("curl/8.0")), "Browser");
        assert_eq!(summary(None), "Unknown device");
    }
}
