//! Relay connections: one page of a sorted list (`first`/`after`, at most 250) with cursors
//! shaped like Shopify's (base64 of `{"last_id":…,"last_value":…}`).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, Result};
use base64::Engine;

use super::graphql::error;

/// One page of a sorted list. `items` carry (sort value, id, node).
pub fn page<T: OutputType>(
    items: Vec<(String, u64, T)>,
    first: Option<i32>,
    after: Option<String>,
    reverse: bool,
) -> Result<Connection<String, T>> {
    page_with(items, first, after, reverse, String::clone, |node| node)
}

/// [`page`] for long lists (a catalogue, the orders): `items` carry (sort key, id, source),
/// and only the items on the page have their cursor value and node built. `value` renders a
/// key as the cursor's `last_value` and must sort as the keys do (zero-padded numbers,
/// fixed-width timestamps); `node` turns a source (e.g. a reference into the state) into its
/// node.
pub fn page_with<K: Ord, S, T: OutputType>(
    mut items: Vec<(K, u64, S)>,
    first: Option<i32>,
    after: Option<String>,
    reverse: bool,
    value: impl Fn(&K) -> String,
    mut node: impl FnMut(S) -> T,
) -> Result<Connection<String, T>> {
    let first = match first {
        None => {
            return Err(error(
                "you must provide one of first or last",
                "BAD_REQUEST",
            ));
        }
        Some(n) if !(0..=250).contains(&n) => {
            return Err(error(
                "The maximum number of items per page (first) is 250",
                "BAD_REQUEST",
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(0),
    };
    items.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    if reverse {
        items.reverse();
    }
    let start = match after {
        None => 0,
        Some(cursor) => {
            let (last, last_id) = decode_cursor(&cursor).ok_or_else(|| {
                error("Invalid cursor for current pagination sort.", "BAD_REQUEST")
            })?;
            // The first item past the cursor; the list is sorted, so a binary search finds it.
            items.partition_point(|(k, i, _)| {
                let key = (value(k), *i);
                let past = if reverse {
                    (key.0.as_str(), key.1) < (last.as_str(), last_id)
                } else {
                    (key.0.as_str(), key.1) > (last.as_str(), last_id)
                };
                !past
            })
        }
    };
    let total = items.len();
    let has_next = total > start + first;
    let mut connection = Connection::new(start > 0, has_next);
    connection.edges.extend(
        items
            .into_iter()
            .skip(start)
            .take(first)
            .map(|(key, id, source)| Edge::new(encode_cursor(&value(&key), id), node(source))),
    );
    Ok(connection)
}

fn encode_cursor(value: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(serde_json::json!({ "last_id": id, "last_value": value }).to_string())
}

fn decode_cursor(cursor: &str) -> Option<(String, u64)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let id = value.get("last_id")?.as_u64()?;
    let last = match value.get("last_value")? {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some((last, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_pages_match_string_pages_forwards_and_backwards() {
        let ids: Vec<u64> = vec![3, 10, 7, 250, 1000, 42, 9];
        for reverse in [false, true] {
            let mut expected = ids.clone();
            expected.sort_unstable();
            if reverse {
                expected.reverse();
            }
            let (mut after, mut seen) = (None, Vec::new());
            loop {
                let keyed = page_with(
                    ids.iter().map(|&id| (id, id, id)).collect(),
                    Some(2),
                    after.clone(),
                    reverse,
                    |id| format!("{id:020}"),
                    |id| id,
                )
                .unwrap();
                let strings = page(
                    ids.iter()
                        .map(|&id| (format!("{id:020}"), id, id))
                        .collect(),
                    Some(2),
                    after.clone(),
                    reverse,
                )
                .unwrap();
                let edges = |c: &Connection<String, u64>| {
                    c.edges
                        .iter()
                        .map(|e| (e.cursor.clone(), e.node))
                        .collect::<Vec<_>>()
                };
                assert_eq!(edges(&keyed), edges(&strings));
                assert_eq!(keyed.has_next_page, strings.has_next_page);
                assert_eq!(keyed.has_previous_page, after.is_some());
                seen.extend(keyed.edges.iter().map(|e| e.node));
                if !keyed.has_next_page {
                    break;
                }
                after = keyed.edges.last().map(|e| e.cursor.clone());
            }
            assert_eq!(seen, expected, "reverse: {reverse}");
        }
    }
}
