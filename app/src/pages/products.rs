//! The product list: search, stock and category filters and keyset pages, all in the URL, so a
//! filtered page can be bookmarked and works before the page is interactive (the filters are a
//! GET form, the pages plain links). Bulk actions on selected rows — prices, stock, deletion —
//! need the page's script (the selection lives in the browser); the server checks every one
//! again and answers all or nothing.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use shopmarkets_types::{FieldError, Rounding};

use crate::{
    api::catalog_list::{
        BulkAnswer, BulkDelete, BulkPrice, BulkStock, BulkStockReason, PriceMode, ProductListView,
        ProductRowView, StockChoice, StockMode, product_list,
    },
    i18n::{Locale, TextOf, Texts, use_locale, use_texts},
    pages::members::refusal_text,
};

/// What the URL asks the list for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListQuery {
    q: String,
    stock: Option<StockChoice>,
    category: String,
    after: Option<String>,
}

impl ListQuery {
    fn filtered(&self) -> bool {
        !self.q.trim().is_empty() || self.stock.is_some() || !self.category.trim().is_empty()
    }

    /// The list's address with the same search and filters, at the page after `after`.
    fn href(&self, after: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !self.q.trim().is_empty() {
            pairs.push(("q", &self.q));
        }
        if let Some(stock) = self.stock {
            pairs.push(("stock", stock.code()));
        }
        if !self.category.trim().is_empty() {
            pairs.push(("category", &self.category));
        }
        if let Some(after) = after {
            pairs.push(("after", after));
        }
        if pairs.is_empty() {
            return "/products".to_owned();
        }
        let query = pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={}", encode_query(value)))
            .collect::<Vec<_>>()
            .join("&");
        format!("/products?{query}")
    }
}

/// Percent-encodes a query value (UTF-8; only unreserved characters stay as they are).
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Which bulk action answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BulkKind {
    Price,
    Stock,
    Delete,
}

type BulkResult = Result<BulkAnswer, ServerFnError>;

/// The page's bulk actions, shared by the bar and the answer line.
#[derive(Clone, Copy)]
struct BulkActions {
    price: ServerAction<BulkPrice>,
    stock: ServerAction<BulkStock>,
    delete: ServerAction<BulkDelete>,
}

#[component]
pub fn ProductsPage() -> impl IntoView {
    let texts = use_texts();
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        query_map.with(|map| ListQuery {
            q: map.get("q").unwrap_or_default(),
            stock: map.get_str("stock").and_then(StockChoice::from_code),
            category: map.get("category").unwrap_or_default(),
            after: map.get("after").filter(|after| !after.trim().is_empty()),
        })
    });
    let refresh = RwSignal::new(0_u32);
    let selection = RwSignal::new(BTreeSet::<String>::new());
    let answer = RwSignal::new(None::<(BulkKind, BulkResult)>);
    let actions = BulkActions {
        price: ServerAction::new(),
        stock: ServerAction::new(),
        delete: ServerAction::new(),
    };

    // After a change went through: reload the list, clear the selection. After a conflict or a
    // product that is gone: reload, so what is shown is what is there.
    let watch = move |kind: BulkKind, value: Signal<Option<BulkResult>>| {
        Effect::new(move |_| {
            let Some(result) = value.get() else {
                return;
            };
            let done = matches!(result, Ok(BulkAnswer::Done { .. }));
            let stale = matches!(result, Ok(BulkAnswer::Conflict))
                || matches!(&result, Err(err) if refusal_code(err) == Some("not_found"));
            if done {
                selection.set(BTreeSet::new());
            }
            if done || stale {
                refresh.update(|n| *n += 1);
            }
            answer.set(Some((kind, result)));
        });
    };
    watch(
        BulkKind::Price,
        Signal::derive(move || actions.price.value().get()),
    );
    watch(
        BulkKind::Stock,
        Signal::derive(move || actions.stock.value().get()),
    );
    watch(
        BulkKind::Delete,
        Signal::derive(move || actions.delete.value().get()),
    );
    // Another search, filter or page starts with nothing selected and no old answer.
    Effect::watch(
        move || query.get(),
        move |_, _, _| {
            selection.set(BTreeSet::new());
            answer.set(None);
        },
        false,
    );

    let list = Resource::new(
        move || (query.get(), refresh.get()),
        |(query, _)| {
            product_list(
                Some(query.q),
                query.stock.map(|stock| stock.code().to_owned()),
                Some(query.category),
                query.after,
            )
        },
    );

    view! {
        <Title text=move || texts.get().catalog_list.title/>
        <h1>{move || texts.get().catalog_list.title}</h1>
        <p class="lead">{move || texts.get().catalog_list.intro}</p>
        <Filters query/>
        <BulkNotice answer/>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().catalog_list.loading}</p> }>
            {move || {
                list.get()
                    .map(|result| match result {
                        Ok(page) => {
                            view! { <ProductList page query=query.get_untracked() selection actions/> }
                                .into_any()
                        }
                        Err(err) => {
                            let text = refusal_text(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="products-error">
                                    {move || text(texts.get())}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// Search and filters: a GET form, so the result is an address like any other page.
#[component]
fn Filters(query: Memo<ListQuery>) -> impl IntoView {
    let texts = use_texts();
    let initial = query.get_untracked();
    let stock_option = move |choice: Option<StockChoice>, label: TextOf| {
        view! {
            <option
                value=choice.map_or("", StockChoice::code)
                selected=move || query.with(|q| q.stock == choice)
            >
                {move || label(texts.get())}
            </option>
        }
    };
    view! {
        <Form
            method="get"
            action="/products"
            attr:class="filters"
            attr:id="product-filters"
            attr:role="search"
            attr:aria-label=move || texts.get().catalog_list.filters_label
        >
            <div class="field filter-search">
                <label for="product-search">{move || texts.get().catalog_list.search_label}</label>
                <input
                    type="search"
                    id="product-search"
                    data-testid="product-search"
                    name="q"
                    autocomplete="off"
                    placeholder=move || texts.get().catalog_list.search_placeholder
                    value=initial.q
                    prop:value=move || query.with(|q| q.q.clone())
                />
            </div>
            <div class="field">
                <label for="product-stock-filter">{move || texts.get().catalog_list.stock_label}</label>
                <select id="product-stock-filter" data-testid="product-stock-filter" name="stock">
                    {stock_option(None, |t| t.catalog_list.stock_all)}
                    {stock_option(Some(StockChoice::InStock), |t| t.catalog_list.stock_in)}
                    {stock_option(Some(StockChoice::OutOfStock), |t| t.catalog_list.stock_out)}
                </select>
            </div>
            <div class="field">
                <label for="product-category-filter">{move || texts.get().catalog_list.category_label}</label>
                <input
                    type="text"
                    id="product-category-filter"
                    data-testid="product-category-filter"
                    name="category"
                    autocomplete="off"
                    placeholder=move || texts.get().catalog_list.category_placeholder
                    value=initial.category
                    prop:value=move || query.with(|q| q.category.clone())
                />
            </div>
            <div class="filter-buttons">
                <button type="submit" class="button" id="product-filter-submit" data-testid="product-filter-submit">
                    {move || texts.get().catalog_list.filter_submit}
                </button>
                {move || {
                    query
                        .with(ListQuery::filtered)
                        .then(|| {
                            view! {
                                <a href="/products" id="product-filter-reset" data-testid="product-filter-reset">
                                    {move || texts.get().catalog_list.filter_reset}
                                </a>
                            }
                        })
                }}
            </div>
        </Form>
    }
}

/// A page of the list with its links, the bulk bar (for editors) and the pager.
#[component]
fn ProductList(
    page: ProductListView,
    query: ListQuery,
    selection: RwSignal<BTreeSet<String>>,
    actions: BulkActions,
) -> impl IntoView {
    let texts = use_texts();
    let ProductListView {
        rows,
        next,
        can_edit,
        filtered,
        paged,
        cursor_reset,
    } = page;
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    // After a reload only what is still on the page stays selected.
    selection.maybe_update(|selected| {
        let before = selected.len();
        selected.retain(|id| ids.contains(id));
        selected.len() != before
    });

    let links = view! {
        <div class="page-actions" id="products-actions">
            {can_edit
                .then(|| {
                    view! {
                        <a class="button" href="/products/new" id="product-new" data-testid="product-new">
                            {move || texts.get().catalog_list.new_product}
                        </a>
                        <a class="button button-secondary" href="/products/import" id="product-import" data-testid="product-import">
                            {move || texts.get().catalog_list.import_csv}
                        </a>
                    }
                })}
            <a
                class="button button-secondary"
                href="/products/export.csv?delimiter=semicolon"
                id="product-export-semicolon"
                data-testid="product-export-semicolon"
                rel="external"
                download
            >
                {move || texts.get().catalog_list.export_semicolon}
            </a>
            <a
                class="button button-secondary"
                href="/products/export.csv?delimiter=comma"
                id="product-export-comma"
                data-testid="product-export-comma"
                rel="external"
                download
            >
                {move || texts.get().catalog_list.export_comma}
            </a>
            <a class="page-link" href="/settings/price-rules" id="price-rules-link" data-testid="price-rules-link">
                {move || texts.get().catalog_list.price_rules_link}
            </a>
        </div>
    };

    let body = if rows.is_empty() {
        let text: TextOf = if filtered {
            |t| t.catalog_list.nothing_matches
        } else if paged {
            |t| t.catalog_list.no_more
        } else {
            |t| t.catalog_list.empty_catalog
        };
        view! {
            <p class="muted products-empty" id="products-empty" data-testid="products-empty">
                {move || text(texts.get())}
            </p>
        }
        .into_any()
    } else {
        let bulk = can_edit.then(|| view! { <BulkBar selection actions/> });
        let select_all = can_edit.then(|| {
            let ids = ids.clone();
            view! {
                <th scope="col" class="select-cell needs-script">
                    <SelectAll ids selection/>
                </th>
            }
        });
        let row_views = rows
            .into_iter()
            .map(|row| view! { <ProductRow row can_edit selection/> })
            .collect_view();
        view! {
            {bulk}
            <div class="table-scroll">
                <table class="data-table products-table" id="products-table" data-testid="products-table">
                    <thead>
                        <tr>
                            {select_all}
                            <th scope="col">{move || texts.get().catalog_list.column_title}</th>
                            <th scope="col">{move || texts.get().catalog_list.column_brand}</th>
                            <th scope="col">{move || texts.get().catalog_list.column_category}</th>
                            <th scope="col" class="num">{move || texts.get().catalog_list.column_variants}</th>
                            <th scope="col" class="num">{move || texts.get().catalog_list.column_stock}</th>
                            <th scope="col" class="num">{move || texts.get().catalog_list.column_price}</th>
                            <th scope="col">{move || texts.get().catalog_list.column_updated}</th>
                        </tr>
                    </thead>
                    <tbody>{row_views}</tbody>
                </table>
            </div>
        }
        .into_any()
    };

    let first = (paged || cursor_reset).then(|| query.href(None));
    let next = next.map(|after| query.href(Some(&after)));
    view! {
        {links}
        {cursor_reset
            .then(|| {
                view! {
                    <p class="notice notice-warning" role="status" id="products-cursor-reset">
                        {move || texts.get().catalog_list.cursor_reset}
                    </p>
                }
            })}
        {body}
        <nav class="pager" aria-label=move || texts.get().catalog_list.pages_label>
            {first
                .map(|href| {
                    view! {
                        <a class="button button-secondary" href=href id="products-first" data-testid="products-first">
                            {move || texts.get().catalog_list.first_page}
                        </a>
                    }
                })}
            {next
                .map(|href| {
                    view! {
                        <a class="button button-secondary" href=href id="products-next" data-testid="products-next" rel="next">
                            {move || texts.get().catalog_list.next_page}
                        </a>
                    }
                })}
        </nav>
    }
}

/// The "select all on this page" checkbox: checked when all are, mixed when some are.
#[component]
fn SelectAll(ids: Vec<String>, selection: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let texts = use_texts();
    let ids = StoredValue::new(ids);
    let state = move || {
        selection.with(|selected| {
            ids.with_value(|ids| {
                let n = ids.iter().filter(|id| selected.contains(*id)).count();
                (n > 0 && n == ids.len(), n > 0 && n < ids.len())
            })
        })
    };
    view! {
        <input
            type="checkbox"
            id="select-all-products"
            data-testid="select-all"
            aria-label=move || texts.get().catalog_list.select_all
            prop:checked=move || state().0
            prop:indeterminate=move || state().1
            on:change=move |ev| {
                let checked = event_target_checked(&ev);
                selection
                    .update(|selected| {
                        ids.with_value(|ids| {
                            if checked {
                                selected.extend(ids.iter().cloned());
                            } else {
                                for id in ids {
                                    selected.remove(id);
                                }
                            }
                        })
                    });
            }
        />
    }
}

#[component]
fn ProductRow(
    row: ProductRowView,
    can_edit: bool,
    selection: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let ProductRowView {
        id,
        title,
        brand,
        category,
        variants,
        available,
        on_hand,
        lowest_price,
        updated_on,
    } = row;
    let dash = || "—".to_owned();
    let href = format!("/products/{id}");
    let is_selected = {
        let id = id.clone();
        move || selection.with(|selected| selected.contains(&id))
    };
    let checkbox = can_edit.then(|| {
        let toggle_id = id.clone();
        let label = title.clone();
        view! {
            <td class="select-cell needs-script">
                <input
                    type="checkbox"
                    class="row-select"
                    id=format!("select-{id}")
                    data-testid="product-select"
                    value=id.clone()
                    aria-label=move || format!("{} {label}", texts.get().catalog_list.select_row)
                    prop:checked=is_selected.clone()
                    on:change=move |ev| {
                        let checked = event_target_checked(&ev);
                        let id = toggle_id.clone();
                        selection
                            .update(|selected| {
                                if checked {
                                    selected.insert(id);
                                } else {
                                    selected.remove(&id);
                                }
                            });
                    }
                />
            </td>
        }
    });
    view! {
        <tr data-testid="product-row" data-product-id=id.clone() class:selected=is_selected>
            {checkbox}
            <td>
                <a href=href class="product-link" data-testid="product-title">{title}</a>
            </td>
            <td>{brand.unwrap_or_else(dash)}</td>
            <td>{category.unwrap_or_else(dash)}</td>
            <td class="num">{variants}</td>
            <td class="num nowrap" data-available=available data-on-hand=on_hand>
                {format!("{available} / {on_hand}")}
            </td>
            <td class="num nowrap" data-testid="product-price" data-minor=lowest_price.map(|p| p.minor())>
                {move || lowest_price.map(|p| p.format(locale.get())).unwrap_or_else(dash)}
            </td>
            <td class="nowrap">{updated_on}</td>
        </tr>
    }
}

/// The bulk actions on the selection: prices, stock, deletion (with a confirmation step).
#[component]
fn BulkBar(selection: RwSignal<BTreeSet<String>>, actions: BulkActions) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let count = Memo::new(move |_| selection.with(BTreeSet::len));
    let confirming = RwSignal::new(false);
    // Nothing to confirm once the selection is empty or the deletion has answered.
    Effect::new(move |_| {
        if count.get() == 0 {
            confirming.set(false);
        }
    });
    Effect::watch(
        move || actions.delete.version().get(),
        move |_, _, _| confirming.set(false),
        false,
    );
    let selected_ids = move || {
        selection
            .get()
            .into_iter()
            .map(|id| view! { <input type="hidden" name="ids[]" value=id/> })
            .collect_view()
    };
    let busy = move || {
        actions.price.pending().get()
            || actions.stock.pending().get()
            || actions.delete.pending().get()
    };
    let blocked = move || count.get() == 0 || busy();
    // Without the page's script the selection cannot be made; `<noscript>` content is raw text
    // to a browser that runs scripts, so it is written as HTML rather than hydrated.
    let needs_script = format!(
        "<p class=\"notice notice-warning\" id=\"bulk-needs-script\">{}</p>",
        texts.get_untracked().catalog_list.bulk_needs_script
    );

    let mode_options = PriceMode::ALL
        .into_iter()
        .map(|mode| {
            let label = price_mode_text(mode);
            view! { <option value=mode.code()>{move || label(texts.get())}</option> }
        })
        .collect_view();
    let rounding_options = Rounding::ALL
        .into_iter()
        .map(|rounding| {
            let label = rounding_text(rounding);
            view! {
                <option value=rounding.code() selected=rounding == Rounding::None>
                    {move || label(texts.get())}
                </option>
            }
        })
        .collect_view();
    let stock_mode_options = StockMode::ALL
        .into_iter()
        .map(|mode| {
            let label = stock_mode_text(mode);
            view! { <option value=mode.code()>{move || label(texts.get())}</option> }
        })
        .collect_view();
    let reason_options = BulkStockReason::ALL
        .into_iter()
        .map(|reason| {
            let label = reason_text(reason);
            view! { <option value=reason.code()>{move || label(texts.get())}</option> }
        })
        .collect_view();

    let delete_step = move || {
        if confirming.get() {
            view! {
                <ActionForm
                    action=actions.delete
                    attr:id="bulk-delete-form"
                    attr:class="confirm-step"
                    attr:role="alertdialog"
                    attr:aria-labelledby="bulk-delete-question"
                >
                    {selected_ids}
                    <p id="bulk-delete-question" data-testid="bulk-delete-question">
                        {move || (texts.get().catalog_list.delete_question)(count.get())}
                    </p>
                    <div class="button-row">
                        <button
                            type="submit"
                            class="button button-danger"
                            id="bulk-delete-confirm"
                            data-testid="bulk-delete-confirm"
                            disabled=blocked
                        >
                            {move || (texts.get().catalog_list.delete_confirm)(count.get())}
                        </button>
                        <button
                            type="button"
                            class="button button-secondary"
                            id="bulk-delete-cancel"
                            data-testid="bulk-delete-cancel"
                            on:click=move |_| confirming.set(false)
                        >
                            {move || texts.get().catalog_list.cancel}
                        </button>
                    </div>
                </ActionForm>
            }
            .into_any()
        } else {
            view! {
                <button
                    type="button"
                    class="button button-danger"
                    id="bulk-delete-start"
                    data-testid="bulk-delete"
                    disabled=blocked
                    on:click=move |_| confirming.set(true)
                >
                    {move || texts.get().catalog_list.delete_start}
                </button>
            }
            .into_any()
        }
    };

    view! {
        <section class="card bulk-bar" id="bulk-actions" data-testid="bulk-actions" aria-labelledby="bulk-heading">
            <h2 id="bulk-heading">{move || texts.get().catalog_list.bulk_heading}</h2>
            <noscript inner_html=needs_script></noscript>
            <div class="needs-script">
                <p class="bulk-count" id="bulk-selected-count" data-testid="bulk-selected-count" data-count=move || count.get() aria-live="polite">
                    {move || match count.get() {
                        0 => texts.get().catalog_list.select_hint.to_owned(),
                        n => (texts.get().catalog_list.selected)(n),
                    }}
                    {move || {
                        (count.get() > 0)
                            .then(|| {
                                view! {
                                    " "
                                    <button
                                        type="button"
                                        class="link-button"
                                        id="bulk-clear-selection"
                                        data-testid="bulk-clear-selection"
                                        on:click=move |_| selection.set(BTreeSet::new())
                                    >
                                        {move || texts.get().catalog_list.clear_selection}
                                    </button>
                                }
                            })
                    }}
                </p>
                <div class="bulk-forms">
                    <ActionForm action=actions.price attr:class="bulk-form" attr:id="bulk-price-form" attr:novalidate=true>
                        {selected_ids}
                        <input type="hidden" name="locale" value=move || locale.get().code()/>
                        <fieldset>
                            <legend>{move || texts.get().catalog_list.price_heading}</legend>
                            <div class="field">
                                <label for="bulk-price-mode">{move || texts.get().catalog_list.price_mode_label}</label>
                                <select name="mode" id="bulk-price-mode" data-testid="bulk-price-mode">{mode_options}</select>
                            </div>
                            <div class="field">
                                <label for="bulk-price-value">{move || texts.get().catalog_list.price_value_label}</label>
                                <input
                                    type="text"
                                    inputmode="decimal"
                                    name="value"
                                    id="bulk-price-value"
                                    data-testid="bulk-price-value"
                                    autocomplete="off"
                                    aria-describedby="bulk-price-value-hint"
                                />
                                <p class="field-hint" id="bulk-price-value-hint">
                                    {move || texts.get().catalog_list.price_value_hint}
                                </p>
                            </div>
                            <div class="field">
                                <label for="bulk-price-rounding">{move || texts.get().catalog_list.rounding_label}</label>
                                <select name="rounding" id="bulk-price-rounding" data-testid="bulk-price-rounding">
                                    {rounding_options}
                                </select>
                            </div>
                            <button type="submit" class="button" id="bulk-price-submit" data-testid="bulk-price-submit" disabled=blocked>
                                {move || texts.get().catalog_list.price_submit}
                            </button>
                        </fieldset>
                    </ActionForm>
                    <ActionForm action=actions.stock attr:class="bulk-form" attr:id="bulk-stock-form" attr:novalidate=true>
                        {selected_ids}
                        <fieldset>
                            <legend>{move || texts.get().catalog_list.stock_heading}</legend>
                            <div class="field">
                                <label for="bulk-stock-mode">{move || texts.get().catalog_list.stock_mode_label}</label>
                                <select name="mode" id="bulk-stock-mode" data-testid="bulk-stock-mode">{stock_mode_options}</select>
                            </div>
                            <div class="field">
                                <label for="bulk-stock-quantity">{move || texts.get().catalog_list.quantity_label}</label>
                                <input
                                    type="text"
                                    inputmode="numeric"
                                    name="quantity"
                                    id="bulk-stock-quantity"
                                    data-testid="bulk-stock-quantity"
                                    autocomplete="off"
                                    aria-describedby="bulk-stock-quantity-hint"
                                />
                                <p class="field-hint" id="bulk-stock-quantity-hint">
                                    {move || texts.get().catalog_list.quantity_hint}
                                </p>
                            </div>
                            <div class="field">
                                <label for="bulk-stock-reason">{move || texts.get().catalog_list.reason_label}</label>
                                <select name="reason" id="bulk-stock-reason" data-testid="bulk-stock-reason">{reason_options}</select>
                            </div>
                            <button type="submit" class="button" id="bulk-stock-submit" data-testid="bulk-stock-submit" disabled=blocked>
                                {move || texts.get().catalog_list.stock_submit}
                            </button>
                        </fieldset>
                    </ActionForm>
                    <div class="bulk-form" id="bulk-delete">
                        <fieldset>
                            <legend>{move || texts.get().catalog_list.delete_heading}</legend>
                            {delete_step}
                        </fieldset>
                    </div>
                </div>
            </div>
        </section>
    }
}

/// The answer of the last bulk action, in words.
#[component]
fn BulkNotice(answer: RwSignal<Option<(BulkKind, BulkResult)>>) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    move || {
        answer.get().map(|(kind, result)| {
            let ok = matches!(result, Ok(BulkAnswer::Done { .. }));
            let outcome = match &result {
                Ok(BulkAnswer::Done { .. }) => "done",
                Ok(BulkAnswer::Invalid(_)) => "invalid",
                Ok(BulkAnswer::Conflict) => "conflict",
                Err(_) => "refused",
            };
            let text = move || bulk_message(kind, &result, texts.get(), locale.get());
            view! {
                <p
                    class=if ok { "notice notice-success" } else { "notice notice-error" }
                    id="bulk-answer"
                    data-testid="bulk-answer"
                    data-outcome=outcome
                    role=if ok { "status" } else { "alert" }
                >
                    {text}
                </p>
            }
        })
    }
}

/// A bulk action's answer in words. A problem at `sku:ABC` names the variant that stopped it.
fn bulk_message(kind: BulkKind, result: &BulkResult, texts: &Texts, locale: Locale) -> String {
    let t = texts.catalog_list;
    match result {
        Ok(BulkAnswer::Done { products, .. }) => match kind {
            BulkKind::Price => (t.price_done)(*products),
            BulkKind::Stock => (t.stock_done)(*products),
            BulkKind::Delete => (t.delete_done)(*products),
        },
        Ok(BulkAnswer::Invalid(problems)) => match problems.first() {
            Some(problem)
                if problem.field == "selection" && problem.error == FieldError::Required =>
            {
                t.select_first.to_owned()
            }
            Some(problem) => {
                let message = problem.error.message(locale);
                match problem.field.strip_prefix("sku:") {
                    Some(sku) => (t.stopped_at_sku)(sku, &message),
                    None => (t.nothing_changed)(&message),
                }
            }
            None => (t.nothing_changed)(texts.request_failed),
        },
        Ok(BulkAnswer::Conflict) => t.bulk_conflict.to_owned(),
        Err(err) => match refusal_code(err) {
            Some("forbidden") => t.bulk_forbidden.to_owned(),
            Some("not_found") => t.bulk_not_found.to_owned(),
            _ => refusal_text(err)(texts).to_owned(),
        },
    }
}

/// The message of `services::{unauthorized, access_error}` a refusal carries.
fn refusal_code(err: &ServerFnError) -> Option<&str> {
    match err {
        ServerFnError::ServerError(message) => Some(message.as_str()),
        _ => None,
    }
}

fn price_mode_text(mode: PriceMode) -> TextOf {
    match mode {
        PriceMode::Percent => |t| t.catalog_list.price_mode_percent,
        PriceMode::Amount => |t| t.catalog_list.price_mode_amount,
    }
}

fn stock_mode_text(mode: StockMode) -> TextOf {
    match mode {
        StockMode::Set => |t| t.catalog_list.stock_mode_set,
        StockMode::Adjust => |t| t.catalog_list.stock_mode_adjust,
    }
}

fn reason_text(reason: BulkStockReason) -> TextOf {
    match reason {
        BulkStockReason::Received => |t| t.catalog_list.reason_received,
        BulkStockReason::Counted => |t| t.catalog_list.reason_counted,
        BulkStockReason::Damaged => |t| t.catalog_list.reason_damaged,
        BulkStockReason::Returned => |t| t.catalog_list.reason_returned,
        BulkStockReason::Correction => |t| t.catalog_list.reason_correction,
    }
}

/// A rounding's name (also on the price rules page).
pub(crate) fn rounding_text(rounding: Rounding) -> TextOf {
    match rounding {
        Rounding::None => |t| t.catalog_list.rounding_none,
        Rounding::Ending99 => |t| t.catalog_list.rounding_99,
        Rounding::Ending95 => |t| t.catalog_list.rounding_95,
        Rounding::Ending90 => |t| t.catalog_list.rounding_90,
        Rounding::Whole => |t| t.catalog_list.rounding_whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_filters() {
        let query = ListQuery {
            q: "Tasse grün".to_owned(),
            stock: Some(StockChoice::InStock),
            category: "Küche > Tassen".to_owned(),
            after: Some("old".to_owned()),
        };
        assert_eq!(
            query.href(Some("123.abc")),
            "/products?q=Tasse%20gr%C3%BCn&stock=in_stock&category=K%C3%BCche%20%3E%20Tassen&after=123.abc"
        );
        assert_eq!(ListQuery::default().href(None), "/products");
    }
}
