//! The editor's variants grid: option values, SKU, GTIN, price and stock per variant, rows
//! added and removed in the browser, and booked stock adjustments for saved variants.

use leptos::prelude::*;
use shopmarkets_types::{Currency, FieldError, Gtin, Locale, Money, Sku};

use super::{FormState, OPTION_AXES, Row};
use crate::{
    api::{
        FieldProblem,
        catalog::{AdjustVariantStock, STOCK_REASONS, StockOutcome, VariantForm, VariantStockView},
    },
    i18n::{Texts, use_locale, use_texts},
};

fn check_sku(value: &str, _: Locale) -> Result<(), FieldError> {
    Sku::parse(value).map(|_| ())
}

fn check_gtin(value: &str, _: Locale) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Ok(())
    } else {
        Gtin::parse(value).map(|_| ())
    }
}

fn check_price(value: &str, locale: Locale) -> Result<(), FieldError> {
    Money::parse(value, Currency::Eur, locale).map(|_| ())
}

#[component]
pub(super) fn VariantsSection(
    state: FormState,
    stock: RwSignal<Vec<VariantStockView>>,
    is_new: bool,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let axes = Memo::new(move |_| state.axes());
    let add = move |_| {
        let key = state.key();
        let axes = axes.get_untracked().len();
        // A new row starts as a copy of the last one's price and currency: typing the next
        // size is the common case.
        let template = state
            .variants
            .with_untracked(|rows| rows.last().map(|r| r.form.get_untracked()));
        state.variants.update(|rows| {
            rows.push(Row {
                key,
                form: RwSignal::new(VariantForm {
                    id: None,
                    option_values: vec![String::new(); axes],
                    sku: String::new(),
                    gtin: String::new(),
                    price: template
                        .as_ref()
                        .map(|t| t.price.clone())
                        .unwrap_or_default(),
                    currency: template.map(|t| t.currency).unwrap_or_else(|| "EUR".into()),
                    on_hand: "0".into(),
                }),
            })
        });
    };
    let option_label = |i: usize| move || format!("{} {}", texts.get().catalog.option_name, i + 1);

    view! {
        <section class="card" aria-labelledby="variants-heading">
            <h2 id="variants-heading">{move || texts.get().catalog.variants_heading}</h2>
            <p class="muted">{move || texts.get().catalog.options_intro}</p>
            <div class="field-row">
                {(0..OPTION_AXES)
                    .map(|i| {
                        let field = ["option_names.0", "option_names.1", "option_names.2"][i];
                        let id = format!("field-option-{i}");
                        let signal = state.option_names[i];
                        view! {
                            <div class="field">
                                <label for=id.clone()>{option_label(i)}</label>
                                <input
                                    id=id
                                    placeholder=move || texts.get().catalog.option_placeholder[i]
                                    prop:value=move || signal.get()
                                    on:input=move |ev| signal.set(event_target_value(&ev))
                                />
                                <p class="field-error" data-field=field role="alert">
                                    {move || state.error(field).map(|e| e.message(locale.get()))}
                                </p>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
            <p class="field-error" data-field="variants" role="alert">
                {move || state.error("variants").or_else(|| state.error("option_names")).map(|e| e.message(locale.get()))}
            </p>
            <div class="table-scroll">
                <table class="data-table variants-grid" id="variants-grid">
                    <thead>
                        <tr>
                            {move || axes.get().into_iter().map(|name| view! { <th scope="col">{name}</th> }).collect_view()}
                            <th scope="col">{move || texts.get().catalog.column_sku}</th>
                            <th scope="col">{move || texts.get().catalog.column_gtin}</th>
                            <th scope="col">{move || texts.get().catalog.column_price}</th>
                            <th scope="col">{move || if is_new { texts.get().catalog.column_opening_stock } else { texts.get().catalog.column_stock }}</th>
                            <th scope="col"><span class="visually-hidden">{move || texts.get().catalog.column_actions}</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each={move || state.variants.get().into_iter().enumerate().collect::<Vec<_>>()}
                            key={|(i, row): &(usize, Row)| (*i, row.key)}
                            children=move |(i, row)| view! { <VariantRow index=i row state axes stock is_new/> }
                        />
                    </tbody>
                </table>
            </div>
            <button type="button" class="button small" id="variant-add" on:click=add disabled=move || axes.get().is_empty() && state.variants.with(|v| !v.is_empty())>
                {move || texts.get().catalog.add_variant}
            </button>
            <p class="field-hint">{move || texts.get().catalog.variants_hint}</p>
        </section>
    }
    .into_any()
}

#[component]
fn VariantRow(
    index: usize,
    row: Row,
    state: FormState,
    axes: Memo<Vec<String>>,
    stock: RwSignal<Vec<VariantStockView>>,
    is_new: bool,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let form = row.form;
    let key = row.key;
    let cell_error = move |field: String| {
        let client = RwSignal::new(None::<FieldError>);
        (client, move || {
            client
                .get()
                .or_else(|| state.error(&field))
                .map(|e| e.message(locale.get()))
        })
    };
    let (sku_client, sku_error) = cell_error(format!("variants.{index}.sku"));
    let (gtin_client, gtin_error) = cell_error(format!("variants.{index}.gtin"));
    let (price_client, price_error) = cell_error(format!("variants.{index}.price"));
    let (_, stock_error) = cell_error(format!("variants.{index}.on_hand"));
    let options_field = format!("variants.{index}.option_values");
    let options_error = move || {
        (0..OPTION_AXES)
            .find_map(|j| state.error(&format!("{options_field}.{j}")))
            .or_else(|| state.error(&options_field))
            .map(|e| e.message(locale.get()))
    };
    let variant_id = form.with_untracked(|f| f.id.clone());
    let current_stock = {
        let variant_id = variant_id.clone();
        move || {
            variant_id
                .as_ref()
                .and_then(|id| stock.with(|s| s.iter().find(|v| &v.id == id).cloned()))
        }
    };

    view! {
        <tr data-row=index class="variant-row">
            {move || {
                (0..axes.get().len())
                    .map(|j| {
                        view! {
                            <td>
                                <input
                                    class="cell"
                                    aria-label=move || axes.with(|a| a.get(j).cloned().unwrap_or_default())
                                    prop:value=move || form.with(|f| f.option_values.get(j).cloned().unwrap_or_default())
                                    on:input=move |ev| {
                                        let value = event_target_value(&ev);
                                        form.update(|f| {
                                            if f.option_values.len() <= j {
                                                f.option_values.resize(j + 1, String::new());
                                            }
                                            f.option_values[j] = value;
                                        })
                                    }
                                />
                            </td>
                        }
                    })
                    .collect_view()
            }}
            <td>
                <input class="cell" name=format!("variants.{index}.sku") aria-label=move || texts.get().catalog.column_sku
                    prop:value=move || form.with(|f| f.sku.clone())
                    on:input=move |ev| form.update(|f| f.sku = event_target_value(&ev))
                    on:blur=move |ev| sku_client.set(check_sku(&event_target_value(&ev), locale.get_untracked()).err())
                />
                <p class="field-error" role="alert">{sku_error} {options_error}</p>
            </td>
            <td>
                <input class="cell" name=format!("variants.{index}.gtin") inputmode="numeric" aria-label=move || texts.get().catalog.column_gtin
                    prop:value=move || form.with(|f| f.gtin.clone())
                    on:input=move |ev| form.update(|f| f.gtin = event_target_value(&ev))
                    on:blur=move |ev| gtin_client.set(check_gtin(&event_target_value(&ev), locale.get_untracked()).err())
                />
                <p class="field-error" role="alert">{gtin_error}</p>
            </td>
            <td class="price-cell">
                <input class="cell" name=format!("variants.{index}.price") inputmode="decimal" aria-label=move || texts.get().catalog.column_price
                    prop:value=move || form.with(|f| f.price.clone())
                    on:input=move |ev| form.update(|f| f.price = event_target_value(&ev))
                    on:blur=move |ev| price_client.set(check_price(&event_target_value(&ev), locale.get_untracked()).err())
                />
                <span class="currency">{move || form.with(|f| f.currency.clone())}</span>
                <p class="field-error" role="alert">{price_error}</p>
            </td>
            <td>
                {if is_new {
                    view! {
                        <input class="cell narrow" name=format!("variants.{index}.on_hand") inputmode="numeric" aria-label=move || texts.get().catalog.column_opening_stock
                            prop:value=move || form.with(|f| f.on_hand.clone())
                            on:input=move |ev| form.update(|f| f.on_hand = event_target_value(&ev))
                        />
                        <p class="field-error" role="alert">{stock_error}</p>
                    }
                        .into_any()
                } else {
                    view! {
                        {move || match current_stock() {
                            Some(s) => view! { <StockCell stock=s stocks=stock/> }.into_any(),
                            None => view! { <span class="muted">{move || texts.get().catalog.stock_after_save}</span> }.into_any(),
                        }}
                    }
                        .into_any()
                }}
            </td>
            <td>
                <button type="button" class="button small" aria-label=move || texts.get().catalog.remove_variant
                    on:click=move |_| state.variants.update(|rows| rows.retain(|r| r.key != key))
                >
                    "×"
                </button>
            </td>
        </tr>
    }
    .into_any()
}

/// Stock of a saved variant, with an adjustment form (amount, reason, note) behind a button.
#[component]
fn StockCell(stock: VariantStockView, stocks: RwSignal<Vec<VariantStockView>>) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let open = RwSignal::new(false);
    let adjust = ServerAction::<AdjustVariantStock>::new();
    let problems = RwSignal::new(Vec::<FieldProblem>::new());
    Effect::new(move |_| match adjust.value().get() {
        Some(Ok(StockOutcome::Adjusted(view))) => {
            problems.set(vec![]);
            open.set(false);
            stocks.update(|all| {
                if let Some(s) = all.iter_mut().find(|s| s.id == view.id) {
                    *s = view;
                }
            });
        }
        Some(Ok(StockOutcome::Invalid(p))) => problems.set(p),
        _ => {}
    });
    let error = move |field: &'static str| {
        move || {
            problems.with(|p| {
                p.iter()
                    .find(|p| p.field == field)
                    .map(|p| p.error.message(locale.get()))
            })
        }
    };
    let variant_id = StoredValue::new(stock.id.clone());
    let sku = stock.sku.clone();
    view! {
        <span class="stock" data-sku=sku.clone()>
            <strong>{stock.available}</strong>
            " "
            <span class="muted">{move || texts.get().catalog.available_of} " " {stock.on_hand}</span>
        </span>
        " "
        <button type="button" class="button small" data-adjust=sku on:click=move |_| open.update(|o| *o = !*o)>
            {move || texts.get().catalog.adjust_stock}
        </button>
        <Show when=move || open.get()>
            <div class="stock-adjust">
                <ActionForm action=adjust attr:class="inline-form">
                    <input type="hidden" name="variant_id" value=move || variant_id.get_value()/>
                    <label>
                        {move || texts.get().catalog.adjust_by}
                        <input name="delta" inputmode="numeric" class="narrow" placeholder="+5 / -2" required/>
                    </label>
                    <label>
                        {move || texts.get().catalog.adjust_reason}
                        <select name="reason">
                            {STOCK_REASONS
                                .into_iter()
                                .map(|code| view! { <option value=code>{move || reason_text(texts.get(), code)}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        {move || texts.get().catalog.adjust_note}
                        <input name="note" maxlength="200"/>
                    </label>
                    <button type="submit" class="button small primary">{move || texts.get().catalog.adjust_submit}</button>
                    <p class="field-error" role="alert">{error("delta")} {error("reason")} {error("note")}</p>
                </ActionForm>
            </div>
        </Show>
    }
    .into_any()
}

/// A stock reason's name in the UI language.
pub fn reason_text(texts: &Texts, code: &str) -> &'static str {
    let c = &texts.catalog;
    match code {
        "received" => c.reason_received,
        "counted" => c.reason_counted,
        "damaged" => c.reason_damaged,
        "returned" => c.reason_returned,
        "correction" => c.reason_correction,
        "initial" => c.reason_initial,
        "import" => c.reason_import,
        _ => c.reason_other,
    }
}
