//! Numbered pages of the dashboard's long lists (`?page=N`, [`PER_PAGE`] rows a page):
//! which rows to ask core for, and the links to the pages around (`dashboard/users_pager.html`).

use url::form_urlencoded;

/// Rows on one page of a list.
pub const PER_PAGE: u32 = 50;

/// The page a list was asked for: `?page=N`, the first when absent or not a positive number
/// (a hand-edited link shows the first page rather than an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber(u32);

impl PageNumber {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.and_then(|p| p.trim().parse::<u32>().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1),
        )
    }

    /// Rows before this page.
    pub fn offset(self) -> u32 {
        (self.0 - 1).saturating_mul(PER_PAGE)
    }

    /// Rows to ask for: one more than a page, which says whether another page follows.
    pub fn limit(self) -> u32 {
        PER_PAGE + 1
    }

    /// This page's rows of `rows` (fetched with `offset` and `limit`), and the links to the
    /// pages around it: `href(n)` is the address of page `n`.
    pub fn cut<T>(self, mut rows: Vec<T>, href: impl Fn(u32) -> String) -> (Vec<T>, Pager) {
        let more = rows.len() > PER_PAGE as usize;
        rows.truncate(PER_PAGE as usize);
        let pager = Pager {
            number: self.0,
            previous: (self.0 > 1).then(|| href(self.0 - 1)),
            next: more.then(|| href(self.0.saturating_add(1))),
        };
        (rows, pager)
    }
}

/// The links of `dashboard/users_pager.html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    pub number: u32,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// `path` with the query `params` that have a value, and `page` unless it is the first.
pub fn list_href(path: &str, params: &[(&str, Option<&str>)], page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            query.append_pair(name, v);
        }
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        for (raw, page, offset) in [
            (None, 1, 0),
            (Some("1"), 1, 0),
            (Some("2"), 2, 50),
            (Some(" 3 "), 3, 100),
            (Some("0"), 1, 0),
            (Some("-2"), 1, 0),
            (Some("x"), 1, 0),
            (Some(""), 1, 0),
            (Some("4294967295"), u32::MAX, u32::MAX),
        ] {
            let p = PageNumber::parse(raw);
            assert_eq!((p.0, p.offset()), (page, offset), "{raw:?}");
        }
    }

    #[test]
    fn a_page_is_cut_and_linked() {
        let href = |n: u32| format!("p{n}");
        let (rows, pager) = PageNumber::parse(None).cut((0..51).collect::<Vec<u32>>(), href);
        assert_eq!(rows.len(), 50);
        assert_eq!((pager.previous, pager.next), (None, Some("p2".into())));
        let (rows, pager) = PageNumber::parse(Some("2")).cut(vec![1, 2], href);
        assert_eq!(rows, [1, 2]);
        assert_eq!((pager.previous, pager.next), (Some("p1".into()), None));
        let (_, pager) = PageNumber::parse(Some("2")).cut((0..50).collect::<Vec<u32>>(), href);
        assert_eq!(pager.next, None, "exactly a page: none follows");
    }

    #[test]
    fn list_hrefs() {
        assert_eq!(list_href("/d/users", &[("q", None)], 1), "/d/users");
        assert_eq!(
            list_href("/d/users", &[("q", Some(""))], 2),
            "/d/users?page=2"
        );
        assert_eq!(
            list_href("/d/users", &[("q", Some("a b&c@x"))], 3),
            "/d/users?q=a+b%26c%40x&page=3"
        );
    }
}
