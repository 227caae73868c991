//! The subset of Shopify's search syntax the `query:` arguments understand.

/// One term of Shopify's search syntax: `updated_at:>='2025-01-01T00:00:00Z'`.
#[derive(Debug, PartialEq)]
pub struct Term {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// The subset of the search syntax the sandbox understands: space- or `AND`-separated
/// `field:value` terms with an optional comparison (`<`, `<=`, `>`, `>=`), values optionally
/// in single or double quotes. Other words are ignored.
pub fn parse_search(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        let (token, tail) = next_token(rest);
        rest = tail.trim_start();
        let Some((field, value)) = token.split_once(':') else {
            continue;
        };
        let (op, value) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| value.strip_prefix(op).map(|v| (*op, v)))
            .unwrap_or(("=", value));
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        terms.push(Term {
            field: field.to_lowercase(),
            op: op.to_owned(),
            value: value.to_owned(),
        });
    }
    terms
}

fn next_token(text: &str) -> (&str, &str) {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => return (&text[..i], &text[i..]),
            _ => {}
        }
    }
    (text, "")
}

/// Compares a timestamp against a search value (a date or a date-time).
pub fn date_matches(at: chrono::DateTime<chrono::Utc>, term: &Term) -> bool {
    let parsed = chrono::DateTime::parse_from_rfc3339(&term.value)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&term.value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        });
    let Some(value) = parsed else {
        return false;
    };
    match term.op.as_str() {
        "<" => at < value,
        "<=" => at <= value,
        ">" => at > value,
        ">=" => at >= value,
        _ => at == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_parse() {
        assert_eq!(
            parse_search("updated_at:>='2025-01-01T00:00:00Z' status:open"),
            vec![
                Term {
                    field: "updated_at".into(),
                    op: ">=".into(),
                    value: "2025-01-01T00:00:00Z".into()
                },
                Term {
                    field: "status".into(),
                    op: "=".into(),
                    value: "open".into()
                },
            ]
        );
    }
}
