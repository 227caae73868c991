//! Product descriptions: merchants paste HTML from anywhere; marketplaces (eBay, Shopify) take
//! HTML, others plain text. The HTML is cleaned with an allowlist (no scripts, styles, links,
//! images, attributes) before it is stored, and a plain-text form is derived from it.

use std::collections::HashSet;

/// The longest description accepted, in characters of the cleaned HTML.
pub const MAX_DESCRIPTION_CHARS: usize = 50_000;

const ALLOWED_TAGS: [&str; 14] = [
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "h2", "h3", "h4", "table",
];

/// Cleans merchant HTML down to the allowlist: structure and emphasis, nothing active.
pub fn sanitize(html: &str) -> String {
    let mut tags: HashSet<&str> = ALLOWED_TAGS.into_iter().collect();
    tags.extend(["thead", "tbody", "tr", "th", "td"]);
    ammonia::Builder::default()
        .tags(tags)
        .generic_attributes(HashSet::new())
        .tag_attributes(Default::default())
        .link_rel(None)
        .url_schemes(HashSet::new())
        .clean(html)
        .to_string()
        .trim()
        .to_owned()
}

/// The text of cleaned HTML: block ends become line breaks, list items get a dash, entities are
/// decoded, runs of blank lines collapse.
pub fn plain_text(clean_html: &str) -> String {
    let mut text = String::with_capacity(clean_html.len());
    let mut rest = clean_html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = rest[start + 1..start + end].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = rest[start + 1..].starts_with('/');
        match (name.as_str(), closing) {
            ("li", false) => text.push_str("\n- "),
            ("br", _) => text.push('\n'),
            ("p" | "h2" | "h3" | "h4" | "ul" | "ol" | "tr" | "table", true) => text.push('\n'),
            ("td" | "th", true) => text.push(' '),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    let decoded = decode_entities(&text);
    let mut lines: Vec<&str> = Vec::new();
    for line in decoded.lines().map(str::trim) {
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    lines.join("\n").trim().to_owned()
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_content_and_attributes_are_removed() {
        let dirty = r#"<p onclick="x()" style="color:red">Schöne <b>Tasse</b></p><script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:x">Link</a><iframe src="//evil"></iframe>"#;
        let clean = sanitize(dirty);
        assert_eq!(clean, "<p>Schöne <b>Tasse</b></p>Link");
        for forbidden in [
            "script",
            "onclick",
            "style",
            "img",
            "javascript",
            "iframe",
            "href",
        ] {
            assert!(!clean.contains(forbidden), "{forbidden} in {clean}");
        }
    }

    #[test]
    fn structure_survives_and_becomes_readable_text() {
        let clean = sanitize(
            "<h2>Pflege</h2><ul><li>Spülmaschinenfest</li><li>5 &amp; 10 cm</li></ul><p>Zeile<br>zwei</p>",
        );
        assert_eq!(
            clean,
            "<h2>Pflege</h2><ul><li>Spülmaschinenfest</li><li>5 &amp; 10 cm</li></ul><p>Zeile<br>zwei</p>"
        );
        assert_eq!(
            plain_text(&clean),
            "Pflege\n\n- Spülmaschinenfest\n- 5 & 10 cm\nZeile\nzwei"
        );
    }

    #[test]
    fn plain_text_input_is_escaped_not_interpreted() {
        let clean = sanitize("3 < 4 & 5 > 2");
        assert_eq!(clean, "3 &lt; 4 &amp; 5 &gt; 2");
        assert_eq!(plain_text(&clean), "3 < 4 & 5 > 2");
    }
}
