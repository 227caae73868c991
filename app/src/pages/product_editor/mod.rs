//! The product editor (`/products/new`, `/products/{id}`): content, attributes, option axes, a
//! grid of variants with SKU, GTIN, price and stock, images, stock adjustments with a reason,
//! and delete.
//!
//! The form is held in the browser and sent as a whole (it needs JavaScript, like every grid
//! editor; the page says so when scripting is off). The server parses it again, answers every
//! problem at its field, and refuses a save over someone else's newer one (version check).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use shopmarkets_types::{FieldError, Locale};

mod variants;

use crate::{
    api::{
        FieldProblem,
        catalog::{
            AttributeForm, AttributeKind, DeleteProduct, ProductEditorView, ProductForm,
            SaveProduct, SaveProductOutcome, VariantForm, product_editor,
        },
    },
    components::product_images::ProductImages,
    i18n::{Texts, use_locale, use_texts},
};
use variants::VariantsSection;

/// The most option axes a product has (size, colour, material).
const OPTION_AXES: usize = 3;

/// A check of a field's text as the browser runs it when the field is left.
type Check = fn(&str, Locale) -> Result<(), FieldError>;
/// A text of the UI by its place in [`Texts`].
type Text = fn(&Texts) -> &'static str;

#[component]
pub fn ProductEditorPage() -> impl IntoView {
    let texts = use_texts();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).filter(|id| id != "new");
    let reload = RwSignal::new(0_u32);
    let editor = Resource::new(move || (id(), reload.get()), |(id, _)| product_editor(id));

    view! {
        <Title text=move || texts.get().catalog.editor_title/>
        <p class="breadcrumb"><a href="/products">{move || texts.get().catalog.back_to_list}</a></p>
        // `<noscript>` content is raw text to a browser that runs scripts: written as HTML, not
        // hydrated.
        <noscript inner_html=move || {
            format!("<p class=\"notice notice-warning\">{}</p>", texts.get().catalog.needs_script)
        }></noscript>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().catalog.loading}</p> }>
            {move || {
                editor
                    .get()
                    .map(|result| match result {
                        Ok(view) => view! { <Editor data=view reload/> }.into_any(),
                        Err(err) => {
                            let not_found = err.to_string().contains("not found")
                                || err.to_string().contains("404");
                            view! {
                                <p class="notice notice-error" role="alert" id="editor-error">
                                    {move || {
                                        if not_found {
                                            texts.get().catalog.not_found
                                        } else {
                                            texts.get().request_failed
                                        }
                                    }}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// A variant row with a key that stays the same while the row is edited (so the grid keeps
/// focus while typing) and the stock the server reported for it.
#[derive(Clone)]
struct Row {
    key: u64,
    form: RwSignal<VariantForm>,
}

/// An attribute row, keyed like a variant row.
#[derive(Clone)]
struct AttributeRow {
    key: u64,
    form: RwSignal<AttributeForm>,
}

#[derive(Clone, Copy)]
struct FormState {
    title: RwSignal<String>,
    brand: RwSignal<String>,
    description_html: RwSignal<String>,
    category: RwSignal<String>,
    condition: RwSignal<String>,
    weight_grams: RwSignal<String>,
    length_mm: RwSignal<String>,
    width_mm: RwSignal<String>,
    height_mm: RwSignal<String>,
    option_names: [RwSignal<String>; OPTION_AXES],
    attributes: RwSignal<Vec<AttributeRow>>,
    variants: RwSignal<Vec<Row>>,
    next_key: StoredValue<u64>,
    problems: RwSignal<Vec<FieldProblem>>,
}

impl FormState {
    fn new(form: ProductForm) -> Self {
        let next_key = StoredValue::new(0_u64);
        let key = move || {
            let k = next_key.get_value();
            next_key.set_value(k + 1);
            k
        };
        let option =
            |i: usize| RwSignal::new(form.option_names.get(i).cloned().unwrap_or_default());
        Self {
            title: RwSignal::new(form.title.clone()),
            brand: RwSignal::new(form.brand.clone()),
            description_html: RwSignal::new(form.description_html.clone()),
            category: RwSignal::new(form.category.clone()),
            condition: RwSignal::new(form.condition.clone()),
            weight_grams: RwSignal::new(form.weight_grams.clone()),
            length_mm: RwSignal::new(form.length_mm.clone()),
            width_mm: RwSignal::new(form.width_mm.clone()),
            height_mm: RwSignal::new(form.height_mm.clone()),
            option_names: [option(0), option(1), option(2)],
            attributes: RwSignal::new(
                form.attributes
                    .into_iter()
                    .map(|a| AttributeRow {
                        key: key(),
                        form: RwSignal::new(a),
                    })
                    .collect(),
            ),
            variants: RwSignal::new(
                form.variants
                    .into_iter()
                    .map(|v| Row {
                        key: key(),
                        form: RwSignal::new(v),
                    })
                    .collect(),
            ),
            next_key,
            problems: RwSignal::new(vec![]),
        }
    }

    fn key(&self) -> u64 {
        let k = self.next_key.get_value();
        self.next_key.set_value(k + 1);
        k
    }

    /// The named option axes, in order (empty slots dropped).
    fn axes(&self) -> Vec<String> {
        self.option_names
            .iter()
            .map(|n| n.get())
            .filter(|n| !n.trim().is_empty())
            .collect()
    }

    fn to_form(self) -> ProductForm {
        ProductForm {
            title: self.title.get_untracked(),
            brand: self.brand.get_untracked(),
            description_html: self.description_html.get_untracked(),
            category: self.category.get_untracked(),
            condition: self.condition.get_untracked(),
            weight_grams: self.weight_grams.get_untracked(),
            length_mm: self.length_mm.get_untracked(),
            width_mm: self.width_mm.get_untracked(),
            height_mm: self.height_mm.get_untracked(),
            attributes: self
                .attributes
                .get_untracked()
                .iter()
                .map(|a| a.form.get_untracked())
                .collect(),
            option_names: self
                .option_names
                .iter()
                .map(|n| n.get_untracked())
                .filter(|n| !n.trim().is_empty())
                .collect(),
            variants: self
                .variants
                .get_untracked()
                .iter()
                .map(|v| v.form.get_untracked())
                .collect(),
        }
    }

    fn error(&self, field: &str) -> Option<FieldError> {
        self.problems
            .with(|p| p.iter().find(|p| p.field == field).map(|p| p.error))
    }
}

#[component]
fn Editor(data: ProductEditorView, reload: RwSignal<u32>) -> impl IntoView {
    let texts = use_texts();
    let ProductEditorView {
        id,
        version,
        form,
        stock,
        can_edit,
        updated_at,
    } = data;
    let is_new = id.is_none();
    let state = FormState::new(form);
    let version = RwSignal::new(version);
    let stock = RwSignal::new(stock);
    let save = ServerAction::<SaveProduct>::new();
    let answer = RwSignal::new(None::<EditorAnswer>);
    let navigate = use_navigate();
    let product_id = StoredValue::new(id.clone());

    Effect::new(move |_| {
        let Some(result) = save.value().get() else {
            return;
        };
        match result {
            Ok(SaveProductOutcome::Saved { id, changed, .. }) => {
                state.problems.set(vec![]);
                if product_id.get_value().is_none() {
                    navigate(&format!("/products/{id}"), Default::default());
                } else {
                    answer.set(Some(if changed {
                        EditorAnswer::Saved
                    } else {
                        EditorAnswer::Unchanged
                    }));
                    // New rows got ids, versions moved on: read the product back.
                    reload.update(|n| *n += 1);
                }
            }
            Ok(SaveProductOutcome::Invalid(problems)) => {
                state.problems.set(problems);
                answer.set(Some(EditorAnswer::Invalid));
            }
            Ok(SaveProductOutcome::Conflict { .. }) => answer.set(Some(EditorAnswer::Conflict)),
            Err(_) => answer.set(Some(EditorAnswer::Failed)),
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        answer.set(None);
        save.dispatch(SaveProduct {
            id: product_id.get_value(),
            version: version.get_untracked(),
            form: state.to_form(),
        });
    };

    view! {
        <h1 id="editor-heading">
            {move || if is_new { texts.get().catalog.new_product } else { texts.get().catalog.edit_product }}
        </h1>
        {updated_at.map(|at| view! { <p class="muted">{move || texts.get().catalog.last_changed} " " {at.clone()}</p> })}
        <form class="product-editor" id="product-form" on:submit=submit novalidate>
            <fieldset disabled=!can_edit class="plain">
                <ContentSection state/>
                <AttributesSection state/>
                <VariantsSection state stock is_new/>
            </fieldset>
            <EditorAnswerNotice answer/>
            {can_edit
                .then(|| {
                    view! {
                        <div class="form-actions sticky-actions">
                            <button type="submit" class="button primary" id="product-save" disabled=move || save.pending().get()>
                                {move || if save.pending().get() { texts.get().catalog.saving } else { texts.get().catalog.save }}
                            </button>
                            <a class="button" href="/products">{move || texts.get().catalog.cancel}</a>
                        </div>
                    }
                })}
        </form>
        {id.clone()
            .map(|id| {
                view! {
                    <ProductImages product_id=id.clone() can_edit variants=stock/>
                    {can_edit.then(|| view! { <DeleteProductForm id/> })}
                }
            })}
    }
    .into_any()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EditorAnswer {
    Saved,
    Unchanged,
    Invalid,
    Conflict,
    Failed,
}

#[component]
fn EditorAnswerNotice(answer: RwSignal<Option<EditorAnswer>>) -> impl IntoView {
    let texts = use_texts();
    move || {
        answer.get().map(|a| {
            let (class, text): (&str, fn(&Texts) -> &'static str) = match a {
                EditorAnswer::Saved => ("notice notice-success", |t| t.catalog.saved),
                EditorAnswer::Unchanged => ("notice", |t| t.catalog.unchanged),
                EditorAnswer::Invalid => ("notice notice-error", |t| t.catalog.invalid),
                EditorAnswer::Conflict => ("notice notice-error", |t| t.catalog.conflict),
                EditorAnswer::Failed => ("notice notice-error", |t| t.request_failed),
            };
            view! {
                <p class=class role="status" id="editor-answer">{move || text(texts.get())}</p>
                {(a == EditorAnswer::Conflict)
                    .then(|| {
                        view! {
                            <button type="button" class="button" on:click=move |_| {
                                if let Some(window) = web_window() {
                                    let _ = window.location().reload();
                                }
                            }>{move || texts.get().catalog.reload}</button>
                        }
                    })}
            }
        })
    }
}

fn web_window() -> Option<leptos::web_sys::Window> {
    #[cfg(feature = "hydrate")]
    {
        leptos::web_sys::window()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// A text input bound to a signal, with its label and the server's verdict.
#[component]
fn TextField(
    field: &'static str,
    label: fn(&Texts) -> &'static str,
    value: RwSignal<String>,
    state: FormState,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] hint: Option<fn(&Texts) -> &'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] validate: Option<Check>,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let client = RwSignal::new(None::<FieldError>);
    let error = move || client.get().or_else(|| state.error(field));
    let id = format!("field-{}", field.replace('.', "-"));
    view! {
        <div class="field" class:invalid=move || error().is_some()>
            <label for=id.clone()>{move || label(texts.get())}</label>
            <input
                id=id
                name=field
                type=kind.unwrap_or("text")
                inputmode=inputmode
                prop:value=move || value.get()
                aria-invalid=move || error().is_some().to_string()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:blur=move |ev| {
                    if let Some(validate) = validate {
                        client.set(validate(&event_target_value(&ev), locale.get_untracked()).err());
                    }
                }
            />
            {hint.map(|hint| view! { <p class="field-hint">{move || hint(texts.get())}</p> })}
            <p class="field-error" data-field=field role="alert">{move || error().map(|e| e.message(locale.get()))}</p>
        </div>
    }
    .into_any()
}

fn whole_number(value: &str, _: Locale) -> Result<(), FieldError> {
    let value = value.trim().replace(['.', ' '], "");
    if value.is_empty() || value.parse::<i64>().is_ok_and(|v| v >= 0) {
        Ok(())
    } else {
        Err(FieldError::InvalidNumber)
    }
}

#[component]
fn ContentSection(state: FormState) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let conditions: [(&str, Text); 5] = [
        ("new", |t| t.catalog.condition_new),
        ("refurbished", |t| t.catalog.condition_refurbished),
        ("used_like_new", |t| t.catalog.condition_used_like_new),
        ("used_good", |t| t.catalog.condition_used_good),
        ("used_acceptable", |t| t.catalog.condition_used_acceptable),
    ];
    view! {
        <section class="card" aria-labelledby="content-heading">
            <h2 id="content-heading">{move || texts.get().catalog.content_heading}</h2>
            <TextField field="title" label=|t| t.catalog.field_title value=state.title state/>
            <div class="field-row">
                <TextField field="brand" label=|t| t.catalog.field_brand value=state.brand state/>
                <TextField field="category" label=|t| t.catalog.field_category value=state.category state hint=|t| t.catalog.hint_category/>
                <div class="field">
                    <label for="field-condition">{move || texts.get().catalog.field_condition}</label>
                    <select id="field-condition" name="condition" on:change=move |ev| state.condition.set(event_target_value(&ev))>
                        {conditions
                            .into_iter()
                            .map(|(code, label)| {
                                view! {
                                    <option value=code selected=move || state.condition.get() == code>
                                        {move || label(texts.get())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
            </div>
            <div class="field">
                <label for="field-description">{move || texts.get().catalog.field_description}</label>
                <textarea
                    id="field-description"
                    name="description_html"
                    rows="8"
                    prop:value=move || state.description_html.get()
                    on:input=move |ev| state.description_html.set(event_target_value(&ev))
                ></textarea>
                <p class="field-hint">{move || texts.get().catalog.hint_description}</p>
                <p class="field-error" data-field="description" role="alert">
                    {move || state.error("description").map(|e| e.message(locale.get()))}
                </p>
            </div>
            <div class="field-row">
                <TextField field="weight_grams" label=|t| t.catalog.field_weight value=state.weight_grams state inputmode="numeric" validate=whole_number/>
                <TextField field="length_mm" label=|t| t.catalog.field_length value=state.length_mm state inputmode="numeric" validate=whole_number/>
                <TextField field="width_mm" label=|t| t.catalog.field_width value=state.width_mm state inputmode="numeric" validate=whole_number/>
                <TextField field="height_mm" label=|t| t.catalog.field_height value=state.height_mm state inputmode="numeric" validate=whole_number/>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn AttributesSection(state: FormState) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let add = move |_| {
        let key = state.key();
        state.attributes.update(|rows| {
            rows.push(AttributeRow {
                key,
                form: RwSignal::new(AttributeForm {
                    name: String::new(),
                    kind: AttributeKind::Text,
                    value: String::new(),
                }),
            })
        });
    };
    view! {
        <section class="card" aria-labelledby="attributes-heading">
            <h2 id="attributes-heading">{move || texts.get().catalog.attributes_heading}</h2>
            <p class="muted">{move || texts.get().catalog.attributes_intro}</p>
            <p class="field-error" data-field="attributes" role="alert">
                {move || state.error("attributes").map(|e| e.message(locale.get()))}
            </p>
            <div class="attribute-rows">
                <For
                    each={move || state.attributes.get().into_iter().enumerate().collect::<Vec<_>>()}
                    key={|(i, row): &(usize, AttributeRow)| (*i, row.key)}
                    children=move |(i, row)| {
                        let form = row.form;
                        let key = row.key;
                        let name_field = format!("attributes.{i}.name");
                        let value_field = format!("attributes.{i}.value");
                        let name_error = {
                            let f = name_field.clone();
                            move || state.error(&f).map(|e| e.message(locale.get()))
                        };
                        let value_error = {
                            let f = value_field.clone();
                            move || state.error(&f).map(|e| e.message(locale.get()))
                        };
                        view! {
                            <div class="attribute-row">
                                <input
                                    aria-label=move || texts.get().catalog.attribute_name
                                    placeholder=move || texts.get().catalog.attribute_name
                                    prop:value=move || form.with(|f| f.name.clone())
                                    on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))
                                />
                                <select
                                    aria-label=move || texts.get().catalog.attribute_kind
                                    on:change=move |ev| form.update(|f| f.kind = AttributeKind::from_code(&event_target_value(&ev)))
                                >
                                    {AttributeKind::ALL
                                        .into_iter()
                                        .map(|kind| {
                                            view! {
                                                <option value=kind.code() selected=move || form.with(|f| f.kind == kind)>
                                                    {move || match kind {
                                                        AttributeKind::Text => texts.get().catalog.kind_text,
                                                        AttributeKind::Number => texts.get().catalog.kind_number,
                                                        AttributeKind::Boolean => texts.get().catalog.kind_boolean,
                                                    }}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                                <input
                                    aria-label=move || texts.get().catalog.attribute_value
                                    placeholder=move || texts.get().catalog.attribute_value
                                    prop:value=move || form.with(|f| f.value.clone())
                                    on:input=move |ev| form.update(|f| f.value = event_target_value(&ev))
                                />
                                <button type="button" class="button small" on:click=move |_| state.attributes.update(|rows| rows.retain(|r| r.key != key))>
                                    {move || texts.get().catalog.remove_row}
                                </button>
                                <p class="field-error" role="alert">{name_error} {value_error}</p>
                            </div>
                        }
                    }
                />
            </div>
            <button type="button" class="button small" id="attribute-add" on:click=add>
                {move || texts.get().catalog.add_attribute}
            </button>
        </section>
    }
    .into_any()
}

#[component]
fn DeleteProductForm(id: String) -> impl IntoView {
    let texts = use_texts();
    let id = StoredValue::new(id);
    let delete = ServerAction::<DeleteProduct>::new();
    let confirming = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/products", Default::default());
        }
    });
    view! {
        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">{move || texts.get().catalog.delete_heading}</h2>
            <p>{move || texts.get().catalog.delete_intro}</p>
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" class="button danger" id="product-delete" on:click=move |_| confirming.set(true)>
                        {move || texts.get().catalog.delete}
                    </button>
                }
            >
                <ActionForm action=delete attr:class="inline-form">
                    <input type="hidden" name="id" value=move || id.get_value()/>
                    <p role="alert">{move || texts.get().catalog.delete_confirm}</p>
                    <button type="submit" class="button danger" id="product-delete-confirm">{move || texts.get().catalog.delete_yes}</button>
                    <button type="button" class="button" on:click=move |_| confirming.set(false)>{move || texts.get().catalog.cancel}</button>
                </ActionForm>
            </Show>
            {move || matches!(delete.value().get(), Some(Err(_))).then(|| view! {
                <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
            })}
        </section>
    }
    .into_any()
}
