//! The sandboxes' own pages (consent screens, the listing and test-order page), in German or
//! English after the browser's `Accept-Language`.

use axum::http::HeaderMap;
use axum::response::Html;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    /// German when the browser prefers it, English otherwise.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let first = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .unwrap_or("");
        if first.trim().to_ascii_lowercase().starts_with("de") {
            Lang::De
        } else {
            Lang::En
        }
    }

    /// Picks the text for this language.
    pub fn t<'a>(self, en: &'a str, de: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page. `body` must already be escaped where it carries data.
pub fn page(lang: Lang, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <p class=\"sandbox-banner\">{banner}</p><main>{body}</main></body></html>",
        lang = lang.code(),
        title = escape(title),
        banner = lang.t(
            "ShopMarkets sandbox — a local stand-in for the marketplace, no real account is involved.",
            "ShopMarkets-Sandbox — ein lokaler Ersatz für den Marktplatz, kein echtes Konto beteiligt."
        ),
    ))
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4}\
main{max-width:56rem;margin:0 auto;padding:1.5rem}\
.sandbox-banner{margin:0;padding:.5rem 1rem;background:#fff3c4;border-bottom:1px solid #e0c96b;font-size:.9rem}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #ddd;padding:.4rem .6rem;text-align:left}\
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #555;background:#1f5fbf;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#1b1b1b}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem 1.25rem;margin:1rem 0}\
.error{color:#a40000}label{display:block;margin:.5rem 0}input,select{font:inherit;padding:.3rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn german_when_preferred() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept-language",
            "de-DE,de;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::from_headers(&headers), Lang::De);
        headers.insert("accept-language", "en-GB,de;q=0.5".parse().unwrap());
        assert_eq!(Lang::from_headers(&headers), Lang::En);
    }
}
