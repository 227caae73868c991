//! A product's images in the editor: thumbnails in order (move left/right), which variant each
//! shows, alt text, remove; and uploading by drag and drop or file picker, one request per
//! file with its own progress bar. Without scripting the picker posts the files as a plain
//! form and the page comes back with them added.

use leptos::prelude::*;

use crate::{
    api::{
        catalog::VariantStockView,
        media::{
            AssignImage, ImageAltText, ImageView, ImagesOutcome, RemoveImage, ReorderImages,
            product_images,
        },
    },
    i18n::{Texts, use_texts},
};

/// Types the upload offers to pick (the server decides by content, not by this).
const ACCEPT: &str = "image/jpeg,image/png,image/webp,image/gif";

// Only the browser moves an upload along; the server renders the list empty.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum UploadState {
    Waiting,
    Sending,
    Done,
    /// Refused by the server; the code says why (`too_large`, `unsupported_type`, …).
    Refused(&'static str),
    Failed,
}

#[derive(Clone)]
struct Upload {
    key: u64,
    name: String,
    progress: RwSignal<f64>,
    state: RwSignal<UploadState>,
}

#[component]
pub fn ProductImages(
    product_id: String,
    can_edit: bool,
    #[prop(into)] variants: Signal<Vec<VariantStockView>>,
) -> impl IntoView {
    let texts = use_texts();
    let refresh = RwSignal::new(0_u32);
    let id = StoredValue::new(product_id.clone());
    let images = Resource::new(
        move || refresh.get(),
        move |_| product_images(id.get_value()),
    );
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let dragging = RwSignal::new(false);
    let upload_url = format!("/products/{product_id}/images/upload");

    view! {
        <section class="card" id="images" aria-labelledby="images-heading">
            <h2 id="images-heading">{move || texts.get().catalog.images_heading}</h2>
            <p class="muted">{move || texts.get().catalog.images_intro}</p>
            <Transition fallback=|| ()>
                {move || {
                    images
                        .get()
                        .map(|result| match result {
                            Ok(data) => {
                                let usage = storage_text(data.used_bytes, data.quota_bytes);
                                view! {
                                    <ImageGrid images=data.images product_id=id.get_value() can_edit variants refresh/>
                                    <p class="muted" id="images-storage">
                                        {move || texts.get().catalog.images_storage} " " {usage.clone()}
                                    </p>
                                }
                                    .into_any()
                            }
                            Err(_) => view! {
                                <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                            }
                                .into_any(),
                        })
                }}
            </Transition>
            {can_edit
                .then(|| {
                    view! {
                        <form
                            class="drop-zone"
                            class:dragging=move || dragging.get()
                            method="post"
                            enctype="multipart/form-data"
                            action=upload_url.clone()
                            on:dragover=move |ev| {
                                ev.prevent_default();
                                dragging.set(true);
                            }
                            on:dragleave=move |_| dragging.set(false)
                            on:drop=move |ev| {
                                ev.prevent_default();
                                dragging.set(false);
                                start_uploads(files_of_drop(&ev), id.get_value(), uploads, refresh);
                            }
                        >
                            <p>{move || texts.get().catalog.images_drop}</p>
                            <label class="button">
                                {move || texts.get().catalog.images_choose}
                                <input
                                    type="file"
                                    name="files"
                                    id="image-files"
                                    multiple
                                    accept=ACCEPT
                                    class="visually-hidden"
                                    on:change=move |ev| {
                                        start_uploads(files_of_input(&ev), id.get_value(), uploads, refresh);
                                    }
                                />
                            </label>
                            // Raw HTML: `<noscript>` content is not hydrated.
                            <noscript inner_html=move || {
                                format!(
                                    "<button type=\"submit\" class=\"button primary\">{}</button>",
                                    texts.get().catalog.images_upload
                                )
                            }></noscript>
                            <p class="field-hint">{move || texts.get().catalog.images_limits}</p>
                        </form>
                        <ul class="upload-list" id="upload-list">
                            <For
                                each=move || uploads.get()
                                key=|u: &Upload| u.key
                                children=move |u: Upload| view! { <UploadRow upload=u/> }
                            />
                        </ul>
                    }
                })}
        </section>
    }
    .into_any()
}

#[component]
fn UploadRow(upload: Upload) -> impl IntoView {
    let texts = use_texts();
    let Upload {
        name,
        progress,
        state,
        ..
    } = upload;
    let status = move || -> &'static str {
        let t = texts.get();
        match state.get() {
            UploadState::Waiting => t.catalog.upload_waiting,
            UploadState::Sending => t.catalog.upload_sending,
            UploadState::Done => t.catalog.upload_done,
            UploadState::Refused(code) => refusal_text(t, code),
            UploadState::Failed => t.request_failed,
        }
    };
    view! {
        <li class="upload" data-state=move || format!("{:?}", state.get()).to_lowercase()>
            <span class="upload-name">{name}</span>
            <progress max="1" value=move || progress.get()></progress>
            <span class="upload-status" class:error=move || matches!(state.get(), UploadState::Refused(_) | UploadState::Failed)>
                {status}
            </span>
        </li>
    }
    .into_any()
}

fn refusal_text(t: &Texts, code: &str) -> &'static str {
    match code {
        "too_large" => t.catalog.upload_too_large,
        "unsupported_type" => t.catalog.upload_unsupported,
        "too_many_pixels" => t.catalog.upload_too_many_pixels,
        "undecodable" => t.catalog.upload_undecodable,
        "quota_exceeded" => t.catalog.upload_quota,
        _ => t.request_failed,
    }
}

fn storage_text(used: u64, quota: u64) -> String {
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    format!("{:.1} / {:.0} MB", mb(used), mb(quota))
}

#[component]
fn ImageGrid(
    images: Vec<ImageView>,
    product_id: String,
    can_edit: bool,
    variants: Signal<Vec<VariantStockView>>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let texts = use_texts();
    let reorder = ServerAction::<ReorderImages>::new();
    let assign = ServerAction::<AssignImage>::new();
    let alt = ServerAction::<ImageAltText>::new();
    let remove = ServerAction::<RemoveImage>::new();
    let refused = RwSignal::new(false);
    let after = move |value: Option<Result<ImagesOutcome, ServerFnError>>| match value {
        Some(Ok(ImagesOutcome::Done)) => {
            refused.set(false);
            refresh.update(|n| *n += 1);
        }
        Some(_) => refused.set(true),
        None => {}
    };
    Effect::new(move |_| after(reorder.value().get()));
    Effect::new(move |_| after(assign.value().get()));
    Effect::new(move |_| after(remove.value().get()));
    Effect::new(move |_| {
        if let Some(Ok(ImagesOutcome::Invalid(_)) | Err(_)) = alt.value().get() {
            refused.set(true);
        }
    });
    if images.is_empty() {
        return view! { <p class="muted" id="images-empty">{move || texts.get().catalog.images_empty}</p> }
            .into_any();
    }
    let order: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    let count = images.len();
    let product_id = StoredValue::new(product_id);
    let order = StoredValue::new(order);
    let moved = move |from: usize, to: usize| {
        let mut ids = order.get_value();
        let id = ids.remove(from);
        ids.insert(to, id);
        reorder.dispatch(ReorderImages {
            product_id: product_id.get_value(),
            ordered: ids,
        });
    };
    view! {
        {move || refused.get().then(|| view! {
            <p class="notice notice-error" role="alert">{move || texts.get().catalog.images_change_failed}</p>
        })}
        <ol class="image-grid" id="image-grid">
            {images
                .into_iter()
                .enumerate()
                .map(|(i, image)| {
                    let image_id = StoredValue::new(image.id.clone());
                    let chosen = image.variant_id.clone().unwrap_or_default();
                    let alt_text = image.alt_text.clone();
                    view! {
                        <li class="image-tile" data-image=image.id.clone()>
                            <a href=image.large.clone() target="_blank" rel="noopener">
                                <img src=image.thumbnail.clone() alt=alt_text.clone() width="160" height="160" loading="lazy"/>
                            </a>
                            <span class="muted">{format!("{} × {}", image.width, image.height)}</span>
                            {can_edit
                                .then(|| {
                                    let chosen = chosen.clone();
                                    view! {
                                        <select
                                            aria-label=move || texts.get().catalog.images_variant
                                            on:change=move |ev| {
                                                assign.dispatch(AssignImage {
                                                    image_id: image_id.get_value(),
                                                    variant_id: event_target_value(&ev),
                                                });
                                            }
                                        >
                                            <option value="" selected=chosen.is_empty()>{move || texts.get().catalog.images_for_product}</option>
                                            {move || {
                                                let chosen = chosen.clone();
                                                variants
                                                    .get()
                                                    .into_iter()
                                                    .map(|v| {
                                                        let selected = v.id == chosen;
                                                        view! { <option value=v.id selected=selected>{v.sku}</option> }
                                                    })
                                                    .collect_view()
                                            }}
                                        </select>
                                        <input
                                            aria-label=move || texts.get().catalog.images_alt
                                            placeholder=move || texts.get().catalog.images_alt
                                            maxlength="250"
                                            value=alt_text.clone()
                                            on:change=move |ev| {
                                                alt.dispatch(ImageAltText {
                                                    image_id: image_id.get_value(),
                                                    alt_text: event_target_value(&ev),
                                                });
                                            }
                                        />
                                        <div class="row-actions">
                                            <button type="button" class="button small" disabled=i == 0
                                                aria-label=move || texts.get().catalog.images_move_left
                                                on:click=move |_| moved(i, i - 1)
                                            >"←"</button>
                                            <button type="button" class="button small" disabled=i + 1 == count
                                                aria-label=move || texts.get().catalog.images_move_right
                                                on:click=move |_| moved(i, i + 1)
                                            >"→"</button>
                                            <button type="button" class="button small danger"
                                                on:click=move |_| { remove.dispatch(RemoveImage { image_id: image_id.get_value() }); }
                                            >{move || texts.get().catalog.images_remove}</button>
                                        </div>
                                    }
                                })}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
        .into_any()
}

#[cfg(feature = "hydrate")]
type Files = Vec<leptos::web_sys::File>;
#[cfg(not(feature = "hydrate"))]
type Files = Vec<()>;

#[cfg(feature = "hydrate")]
fn files_of_list(list: Option<leptos::web_sys::FileList>) -> Files {
    list.map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default()
}

fn files_of_drop(ev: &leptos::ev::DragEvent) -> Files {
    #[cfg(feature = "hydrate")]
    {
        files_of_list(ev.data_transfer().and_then(|dt| dt.files()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        vec![]
    }
}

fn files_of_input(ev: &leptos::ev::Event) -> Files {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok());
        let files = files_of_list(input.as_ref().and_then(|i| i.files()));
        // The same file may be picked again later.
        if let Some(input) = input {
            input.set_value("");
        }
        files
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        vec![]
    }
}

/// Queues the files and sends them one after the other (kind to the server, and each file's
/// bar means something), then reloads the grid.
fn start_uploads(
    files: Files,
    product_id: String,
    uploads: RwSignal<Vec<Upload>>,
    refresh: RwSignal<u32>,
) {
    if files.is_empty() {
        return;
    }
    let start = uploads.with_untracked(|u| u.iter().map(|u| u.key + 1).max().unwrap_or(0));
    #[allow(clippy::unit_arg, clippy::let_unit_value)]
    let queue: Vec<_> = files
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let upload = Upload {
                key: start + i as u64,
                name: file_name(&file),
                progress: RwSignal::new(0.0),
                state: RwSignal::new(UploadState::Waiting),
            };
            (file, upload)
        })
        .collect();
    uploads.update(|u| u.extend(queue.iter().map(|(_, upload)| upload.clone())));
    send_next(
        queue.into_iter().collect(),
        format!("/products/{product_id}/images/upload"),
        refresh,
    );
}

#[cfg(feature = "hydrate")]
fn file_name(file: &leptos::web_sys::File) -> String {
    file.name()
}

#[cfg(not(feature = "hydrate"))]
fn file_name(_: &()) -> String {
    String::new()
}

#[cfg(not(feature = "hydrate"))]
fn send_next(_: std::collections::VecDeque<((), Upload)>, _: String, _: RwSignal<u32>) {}

/// Sends the first queued file with `XMLHttpRequest` (the one browser API that reports upload
/// progress), then the rest.
#[cfg(feature = "hydrate")]
fn send_next(
    mut queue: std::collections::VecDeque<(leptos::web_sys::File, Upload)>,
    url: String,
    refresh: RwSignal<u32>,
) {
    use leptos::{
        wasm_bindgen::{JsCast, closure::Closure},
        web_sys::{FormData, ProgressEvent, XmlHttpRequest},
    };

    let Some((file, upload)) = queue.pop_front() else {
        refresh.update(|n| *n += 1);
        return;
    };
    let fail = move || upload.state.set(UploadState::Failed);
    let Ok(xhr) = XmlHttpRequest::new() else {
        return fail();
    };
    let Ok(form) = FormData::new() else {
        return fail();
    };
    if form
        .append_with_blob_and_filename("file", &file, &file.name())
        .is_err()
        || xhr.open("POST", &url).is_err()
        || xhr
            .set_request_header("Accept", "application/json")
            .is_err()
    {
        return fail();
    }
    upload.state.set(UploadState::Sending);

    let progress = upload.progress;
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            progress.set(ev.loaded() / ev.total());
        }
    });
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // Freed once the request is over (the load or error handler drops it).
    let on_progress = std::rc::Rc::new(std::cell::RefCell::new(Some(on_progress)));

    let finished = {
        let xhr = xhr.clone();
        let on_progress = on_progress.clone();
        move |ok: bool| {
            if let Ok(target) = xhr.upload() {
                target.set_onprogress(None);
            }
            on_progress.borrow_mut().take();
            let state = if ok && xhr.status().is_ok_and(|s| s == 200) {
                parse_result(&xhr.response_text().ok().flatten().unwrap_or_default())
            } else if xhr.status().is_ok_and(|s| s == 413) {
                UploadState::Refused("too_large")
            } else {
                UploadState::Failed
            };
            if state == UploadState::Done {
                upload.progress.set(1.0);
            }
            upload.state.set(state);
            send_next(queue, url, refresh);
        }
    };
    let finished = std::rc::Rc::new(std::cell::RefCell::new(Some(finished)));
    let on_load = {
        let finished = finished.clone();
        Closure::once_into_js(move || {
            if let Some(f) = finished.borrow_mut().take() {
                f(true)
            }
        })
    };
    let on_error = Closure::once_into_js(move || {
        if let Some(f) = finished.borrow_mut().take() {
            f(false)
        }
    });
    xhr.set_onload(Some(on_load.unchecked_ref()));
    xhr.set_onerror(Some(on_error.unchecked_ref()));
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        upload.state.set(UploadState::Failed);
    }
}

/// The server's answer for one file.
#[cfg(feature = "hydrate")]
fn parse_result(body: &str) -> UploadState {
    #[derive(serde::Deserialize)]
    #[serde(tag = "result", rename_all = "snake_case")]
    enum Answer {
        Added,
        Refused { code: String },
    }
    const CODES: [&str; 5] = [
        "too_large",
        "unsupported_type",
        "too_many_pixels",
        "undecodable",
        "quota_exceeded",
    ];
    match serde_json::from_str::<Vec<Answer>>(body)
        .ok()
        .and_then(|a| a.into_iter().next())
    {
        Some(Answer::Added) => UploadState::Done,
        Some(Answer::Refused { code }) => CODES
            .into_iter()
            .find(|c| *c == code)
            .map_or(UploadState::Failed, UploadState::Refused),
        None => UploadState::Failed,
    }
}
