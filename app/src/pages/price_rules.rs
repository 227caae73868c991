//! The channel price rules page: one rule per marketplace (percent, fixed amount, rounding),
//! with a preview computed in the browser by the same `PriceRule::apply` the sync engine uses,
//! and a save per row that sends the version it read (someone else's save in between is a
//! conflict, and the page reloads the rules). Viewers see the rules read-only.

use leptos::prelude::*;
use leptos_meta::Title;
use shopmarkets_types::{Currency, FieldError, Locale, Marketplace, Money, PriceRule, Rounding};

use crate::{
    api::catalog_list::{
        PriceRuleAnswer, PriceRuleView, PriceRulesView, SavePriceRule, format_percent,
        format_signed_amount, parse_percent, parse_signed_amount, price_rules_overview,
    },
    i18n::{TextOf, use_locale, use_texts},
    pages::{members::refusal_text, products::rounding_text},
};

/// The catalog price the preview starts from (19,99 €).
const EXAMPLE_MINOR: i64 = 1999;

/// One save action per marketplace, kept by the page so an answer outlives a reload of the rows.
type Actions = [(Marketplace, ServerAction<SavePriceRule>); 6];

#[component]
pub fn PriceRulesPage() -> impl IntoView {
    let texts = use_texts();
    let refresh = RwSignal::new(0_u32);
    let actions: Actions = Marketplace::ALL.map(|marketplace| (marketplace, ServerAction::new()));
    // Someone else saved meanwhile: show what is stored now.
    for (_, action) in actions {
        Effect::new(move |_| {
            if let Some(Ok(PriceRuleAnswer::Conflict)) = action.value().get() {
                refresh.update(|n| *n += 1);
            }
        });
    }
    let overview = Resource::new(move || refresh.get(), |_| price_rules_overview());

    view! {
        <Title text=move || texts.get().catalog_list.rules_title/>
        <h1>{move || texts.get().catalog_list.rules_title}</h1>
        <p class="lead">{move || texts.get().catalog_list.rules_intro}</p>
        <p class="notice notice-success rules-explanation" id="price-rules-explanation">
            {move || texts.get().catalog_list.rules_explanation}
        </p>
        <p>
            <a href="/products" id="price-rules-back">{move || texts.get().catalog_list.back_to_products}</a>
        </p>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().catalog_list.rules_loading}</p> }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(data) => view! { <Rules data actions/> }.into_any(),
                        Err(err) => {
                            let text = refusal_text(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="price-rules-error">
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

#[component]
fn Rules(data: PriceRulesView, actions: Actions) -> impl IntoView {
    let texts = use_texts();
    let PriceRulesView { rules, can_edit } = data;
    let rows = rules
        .into_iter()
        .filter_map(|rule| {
            let action = actions.iter().find(|(m, _)| *m == rule.marketplace)?.1;
            Some(view! { <RuleRow rule can_edit action/> })
        })
        .collect_view();
    view! {
        {(!can_edit)
            .then(|| {
                view! {
                    <p class="notice notice-warning" id="price-rules-read-only">
                        {move || texts.get().catalog_list.rules_read_only}
                    </p>
                }
            })}
        <div class="rule-list" id="price-rules">{rows}</div>
    }
}

/// An empty field is no change (0).
fn read_percent(input: &str, locale: Locale) -> Result<i32, FieldError> {
    if input.trim().is_empty() {
        Ok(0)
    } else {
        parse_percent(input, locale)
    }
}

fn read_amount(input: &str, locale: Locale) -> Result<i64, FieldError> {
    if input.trim().is_empty() {
        Ok(0)
    } else {
        parse_signed_amount(input, locale)
    }
}

#[component]
fn RuleRow(
    rule: PriceRuleView,
    can_edit: bool,
    action: ServerAction<SavePriceRule>,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let PriceRuleView {
        marketplace,
        rule,
        version,
    } = rule;
    let code = marketplace.code();

    // The version the next save sends: the one read, then the one each save returned.
    let version = RwSignal::new(version);
    Effect::watch(
        move || action.value().get(),
        move |answer, _, _| {
            if let Some(Ok(PriceRuleAnswer::Saved(saved))) = answer {
                version.set(saved.version);
            }
        },
        false,
    );

    let start = locale.get_untracked();
    let percent = RwSignal::new(format_percent(rule.percent_basis_points, start));
    let add = RwSignal::new(format_signed_amount(rule.add_minor, start));
    let rounding = RwSignal::new(rule.rounding);
    // A language switch writes the numbers in the new language's notation.
    Effect::watch(
        move || locale.get(),
        move |now, before, _| {
            let Some(before) = before else {
                return;
            };
            if let Ok(bp) = read_percent(&percent.get_untracked(), *before) {
                percent.set(format_percent(bp, *now));
            }
            if let Ok(minor) = read_amount(&add.get_untracked(), *before) {
                add.set(format_signed_amount(minor, *now));
            }
        },
        false,
    );

    let parsed = Memo::new(move |_| {
        let locale = locale.get();
        (
            read_percent(&percent.get(), locale),
            read_amount(&add.get(), locale),
        )
    });
    // What is wrong with a field, as the browser sees it (the same rules as the server's)…
    let client_error = move |field: &'static str| -> Option<FieldError> {
        let (p, a) = parsed.get();
        match (field, p, a) {
            ("percent", Err(error), _) | ("add", _, Err(error)) => Some(error),
            (_, Ok(p), Ok(a)) => PriceRule {
                percent_basis_points: p,
                add_minor: a,
                rounding: Rounding::None,
            }
            .check()
            .err()
            .filter(|(f, _)| *f == field)
            .map(|(_, error)| error),
            _ => None,
        }
    };
    // …else as the server answered the last save.
    let field_error = move |field: &'static str| {
        client_error(field).or_else(|| match action.value().get() {
            Some(Ok(PriceRuleAnswer::Invalid(problems))) => problems
                .into_iter()
                .find(|p| p.field == field)
                .map(|p| p.error),
            _ => None,
        })
    };
    let preview = move || {
        let locale = locale.get();
        let base = Money::new(EXAMPLE_MINOR, Currency::Eur).ok()?;
        let (Ok(p), Ok(a)) = parsed.get() else {
            return None;
        };
        let rule = PriceRule {
            percent_basis_points: p,
            add_minor: a,
            rounding: rounding.get(),
        };
        rule.check().ok()?;
        let result = match rule.apply(base) {
            Ok(price) => price.format(locale),
            Err(error) => error.message(locale),
        };
        Some(format!("{} → {result}", base.format(locale)))
    };
    let is_identity =
        move || matches!(parsed.get(), (Ok(0), Ok(0))) && rounding.get() == Rounding::None;

    let percent_id = format!("rule-{code}-percent");
    let add_id = format!("rule-{code}-add");
    let rounding_id = format!("rule-{code}-rounding");
    let rounding_options = Rounding::ALL
        .into_iter()
        .map(|option| {
            let label = rounding_text(option);
            view! {
                <option value=option.code() selected=option == rule.rounding>
                    {move || label(texts.get())}
                </option>
            }
        })
        .collect_view();
    let answer = move || {
        action.value().get().and_then(|answer| {
            let (ok, text): (bool, TextOf) = match answer {
                Ok(PriceRuleAnswer::Saved(_)) => (true, |t| t.catalog_list.rule_saved),
                Ok(PriceRuleAnswer::Invalid(_)) => return None,
                Ok(PriceRuleAnswer::Conflict) => (false, |t| t.catalog_list.rule_conflict),
                Err(err) => (false, refusal_text(&err)),
            };
            Some(view! {
                <p
                    class=if ok { "notice notice-success" } else { "notice notice-error" }
                    id=format!("rule-{code}-answer")
                    data-testid="price-rule-answer"
                    role=if ok { "status" } else { "alert" }
                >
                    {move || text(texts.get())}
                </p>
            })
        })
    };

    view! {
        <ActionForm action attr:class="card rule-row" attr:id=format!("rule-{code}") attr:data-marketplace=code attr:novalidate=true>
            <h2 class="rule-name">{marketplace.name()}</h2>
            <input type="hidden" name="marketplace" value=code/>
            <input type="hidden" name="version" value=move || version.get().map(|v| v.to_string()).unwrap_or_default()/>
            <input type="hidden" name="locale" value=move || locale.get().code()/>
            <div class="rule-fields">
                <div class="field" class:invalid=move || field_error("percent").is_some()>
                    <label for=percent_id.clone()>{move || texts.get().catalog_list.rule_percent}</label>
                    <input
                        type="text"
                        inputmode="decimal"
                        id=percent_id
                        name="percent"
                        data-testid="price-rule-percent"
                        autocomplete="off"
                        disabled=!can_edit
                        value=percent.get_untracked()
                        prop:value=move || percent.get()
                        on:input=move |ev| percent.set(event_target_value(&ev))
                        aria-invalid=move || field_error("percent").is_some().to_string()
                        aria-describedby=format!("rule-{code}-percent-hint rule-{code}-percent-error")
                    />
                    <p class="field-hint" id=format!("rule-{code}-percent-hint")>
                        {move || texts.get().catalog_list.rule_percent_hint}
                    </p>
                    <p class="field-error" id=format!("rule-{code}-percent-error") data-field="percent" role="alert">
                        {move || field_error("percent").map(|e| e.message(locale.get()))}
                    </p>
                </div>
                <div class="field" class:invalid=move || field_error("add").is_some()>
                    <label for=add_id.clone()>{move || texts.get().catalog_list.rule_add}</label>
                    <input
                        type="text"
                        inputmode="decimal"
                        id=add_id
                        name="add"
                        data-testid="price-rule-add"
                        autocomplete="off"
                        disabled=!can_edit
                        value=add.get_untracked()
                        prop:value=move || add.get()
                        on:input=move |ev| add.set(event_target_value(&ev))
                        aria-invalid=move || field_error("add").is_some().to_string()
                        aria-describedby=format!("rule-{code}-add-hint rule-{code}-add-error")
                    />
                    <p class="field-hint" id=format!("rule-{code}-add-hint")>
                        {move || texts.get().catalog_list.rule_add_hint}
                    </p>
                    <p class="field-error" id=format!("rule-{code}-add-error") data-field="add" role="alert">
                        {move || field_error("add").map(|e| e.message(locale.get()))}
                    </p>
                </div>
                <div class="field">
                    <label for=rounding_id.clone()>{move || texts.get().catalog_list.rule_rounding}</label>
                    <select
                        id=rounding_id
                        name="rounding"
                        data-testid="price-rule-rounding"
                        disabled=!can_edit
                        on:change=move |ev| {
                            if let Some(chosen) = Rounding::from_code(&event_target_value(&ev)) {
                                rounding.set(chosen);
                            }
                        }
                    >
                        {rounding_options}
                    </select>
                </div>
            </div>
            <p class="rule-preview" id=format!("rule-{code}-preview") data-testid="price-rule-preview" aria-live="polite">
                <span class="muted">{move || texts.get().catalog_list.rule_example}</span>
                " "
                <span class="rule-preview-value">{preview}</span>
                {move || {
                    is_identity()
                        .then(|| {
                            view! {
                                " "
                                <span class="muted">{move || texts.get().catalog_list.rule_no_rule}</span>
                            }
                        })
                }}
            </p>
            {can_edit
                .then(|| {
                    view! {
                        <button
                            type="submit"
                            class="button"
                            id=format!("rule-{code}-save")
                            data-testid="price-rule-save"
                            disabled=move || action.pending().get()
                        >
                            {move || texts.get().catalog_list.rule_save}
                        </button>
                    }
                })}
            {answer}
        </ActionForm>
    }
}
