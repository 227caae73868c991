//! The calculated query cost, close to Shopify's published rules:
//!
//! - a mutation costs 10 points per top-level field;
//! - in a query, scalar and enum fields cost 0, an object field 1 plus its selection;
//! - a connection (a field with a `first` or `last` argument) costs 2 plus `first` × (1 + the
//!   selection of one node), where `edges`, `node`, `nodes` and `pageInfo` are free wrappers;
//! - `__typename` and introspection fields cost 0.
//!
//! `actualQueryCost` is reported equal to the requested cost (Shopify refunds the difference
//! when fewer nodes come back; the sandbox does not).

use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// The requested cost of the operation the request names (the only one when unnamed); `None`
/// when the query does not parse (the GraphQL executor reports that).
pub fn requested(query: &str, operation: Option<&str>, variables: &Variables) -> Option<u64> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let op = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(&Name::new(name))?,
        (DocumentOperations::Multiple(ops), None) => ops.values().next()?,
    };
    let selection = &op.node.selection_set.node;
    Some(match op.node.ty {
        OperationType::Mutation => 10 * count_fields(&document, selection, 0),
        _ => selection_cost(&document, selection, variables, 0),
    })
}

fn count_fields(document: &ExecutableDocument, set: &SelectionSet, depth: u32) -> u64 {
    if depth > 20 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) if f.node.name.node.starts_with("__") => 0,
            Selection::Field(_) => 1,
            Selection::InlineFragment(inline) => {
                count_fields(document, &inline.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    count_fields(document, &f.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

fn selection_cost(
    document: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    depth: u32,
) -> u64 {
    if depth > 30 {
        return 0;
    }
    let mut total: u64 = 0;
    for item in &set.items {
        let cost = match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let name = field.name.node.as_str();
                let children = &field.selection_set.node;
                if name.starts_with("__") || name == "pageInfo" {
                    0
                } else if let Some(n) = page_size(field, variables) {
                    let per_node = 1 + node_cost(document, children, variables, depth + 1);
                    2u64.saturating_add(n.saturating_mul(per_node))
                } else if children.items.is_empty() {
                    0
                } else {
                    1 + selection_cost(document, children, variables, depth + 1)
                }
            }
            Selection::InlineFragment(inline) => selection_cost(
                document,
                &inline.node.selection_set.node,
                variables,
                depth + 1,
            ),
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    selection_cost(document, &f.node.selection_set.node, variables, depth + 1)
                }),
        };
        total = total.saturating_add(cost);
    }
    total
}

/// The cost of one node of a connection: what is selected under `edges { node }` and `nodes`.
fn node_cost(
    document: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    depth: u32,
) -> u64 {
    let mut most = 0;
    for item in &set.items {
        if let Selection::Field(field) = &item.node {
            let field = &field.node;
            let cost = match field.name.node.as_str() {
                "nodes" => selection_cost(document, &field.selection_set.node, variables, depth),
                "edges" => field
                    .selection_set
                    .node
                    .items
                    .iter()
                    .filter_map(|i| match &i.node {
                        Selection::Field(f) if f.node.name.node == "node" => Some(selection_cost(
                            document,
                            &f.node.selection_set.node,
                            variables,
                            depth,
                        )),
                        _ => None,
                    })
                    .sum(),
                _ => 0,
            };
            most = most.max(cost);
        }
    }
    most
}

fn page_size(field: &Field, variables: &Variables) -> Option<u64> {
    field.arguments.iter().find_map(|(name, value)| {
        if name.node != "first" && name.node != "last" {
            return None;
        }
        let value = value
            .node
            .clone()
            .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
            .ok();
        Some(match value {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => 0,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_scale_with_first_and_mutations_cost_ten() {
        let vars = Variables::default();
        assert_eq!(
            requested(
                "{ products(first: 10) { edges { node { id title } } } }",
                None,
                &vars
            ),
            Some(12)
        );
        assert_eq!(
            requested(
                "{ orders(first: 5) { nodes { id lineItems(first: 3) { nodes { sku } } } pageInfo { hasNextPage } } }",
                None,
                &vars
            ),
            Some(2 + 5 * (1 + 2 + 3))
        );
        assert_eq!(
            requested(
                "mutation { a: productSet(input: {}) { product { id } } }",
                None,
                &vars
            ),
            Some(10)
        );
        let vars = Variables::from_json(serde_json::json!({ "n": 250 }));
        assert_eq!(
            requested(
                "query Q($n: Int) { products(first: $n) { nodes { id variants(first: 250) { nodes { id } } } } }",
                Some("Q"),
                &vars
            ),
            Some(2 + 250 * (1 + 2 + 250))
        );
    }
}
