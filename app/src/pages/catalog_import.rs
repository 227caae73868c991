//! The CSV import page (`/products/import`): choose a file, follow the job's progress, read
//! its report; the recent imports below. The upload is a plain form post (it works without
//! scripting; the page then shows the job when it comes back) and the job runs on the server,
//! so closing the page does not stop it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shopmarkets_types::Locale;

use crate::{
    api::catalog_import::{
        ImportJobView, ImportProblem, ImportRowError, import_job, recent_import_jobs,
    },
    i18n::{Texts, use_locale, use_texts},
};

#[component]
pub fn CatalogImportPage() -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let job = move || query.with(|q| q.get("job")).filter(|j| !j.is_empty());
    let recent = Resource::new(job, |_| recent_import_jobs());

    view! {
        <Title text=move || texts.get().catalog.import_title/>
        <p class="breadcrumb"><a href="/products">{move || texts.get().catalog.back_to_list}</a></p>
        <h1>{move || texts.get().catalog.import_title}</h1>
        <section class="card" aria-labelledby="import-upload-heading">
            <h2 id="import-upload-heading">{move || texts.get().catalog.import_upload_heading}</h2>
            <p>{move || texts.get().catalog.import_intro}</p>
            <ul class="muted">
                <li>{move || texts.get().catalog.import_rule_columns}</li>
                <li>{move || texts.get().catalog.import_rule_format}</li>
                <li>{move || texts.get().catalog.import_rule_all_or_nothing}</li>
                <li>{move || texts.get().catalog.import_rule_idempotent}</li>
            </ul>
            <form method="post" action="/products/import/upload" enctype="multipart/form-data" id="import-form" class="inline-form">
                <label for="import-file">{move || texts.get().catalog.import_file}</label>
                <input type="file" id="import-file" name="file" accept=".csv,text/csv,text/plain" required/>
                <button type="submit" class="button primary" id="import-submit">{move || texts.get().catalog.import_submit}</button>
            </form>
        </section>
        {move || job().map(|id| view! { <JobPanel id/> })}
        <section class="card" aria-labelledby="import-recent-heading">
            <h2 id="import-recent-heading">{move || texts.get().catalog.import_recent}</h2>
            <Transition fallback=|| ()>
                {move || {
                    recent
                        .get()
                        .map(|result| match result {
                            Ok(jobs) if jobs.is_empty() => {
                                view! { <p class="muted">{move || texts.get().catalog.import_none}</p> }.into_any()
                            }
                            Ok(jobs) => view! { <RecentJobs jobs/> }.into_any(),
                            Err(_) => view! {
                                <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                            }
                                .into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn RecentJobs(jobs: Vec<ImportJobView>) -> impl IntoView {
    let texts = use_texts();
    view! {
        <table class="data-table">
            <thead>
                <tr>
                    <th scope="col">{move || texts.get().catalog.import_column_file}</th>
                    <th scope="col">{move || texts.get().catalog.import_column_started}</th>
                    <th scope="col">{move || texts.get().catalog.import_column_state}</th>
                </tr>
            </thead>
            <tbody>
                {jobs
                    .into_iter()
                    .map(|job| {
                        let state = job.state.clone();
                        view! {
                            <tr>
                                <td><a href=format!("/products/import?job={}", job.id)>{job.file_name.clone()}</a></td>
                                <td>{job.created_at.clone()}</td>
                                <td>{move || state_text(texts.get(), &state)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn state_text(t: &Texts, state: &str) -> &'static str {
    match state {
        "validating" => t.catalog.import_state_validating,
        "invalid" => t.catalog.import_state_invalid,
        "applying" => t.catalog.import_state_applying,
        "done" => t.catalog.import_state_done,
        _ => t.catalog.import_state_failed,
    }
}

/// A job with its progress bar, refreshed every second until it has ended.
#[component]
fn JobPanel(id: String) -> impl IntoView {
    let texts = use_texts();
    let tick = RwSignal::new(0_u32);
    let id = StoredValue::new(id);
    let job = Resource::new(move || tick.get(), move |_| import_job(id.get_value()));
    Effect::new(move |_| {
        if let Some(Ok(job)) = job.get()
            && !job.is_finished()
        {
            poll_again(tick);
        }
    });
    view! {
        <section class="card" aria-labelledby="import-job-heading" id="import-job">
            <h2 id="import-job-heading">{move || texts.get().catalog.import_job_heading}</h2>
            <Transition fallback=move || view! { <p class="muted">{move || texts.get().catalog.loading}</p> }>
                {move || {
                    job.get()
                        .map(|result| match result {
                            Ok(job) => view! { <Job job/> }.into_any(),
                            Err(_) => view! {
                                <p class="notice notice-error" role="alert">{move || texts.get().catalog.import_not_found}</p>
                            }
                                .into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

fn poll_again(tick: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    set_timeout(
        move || tick.update(|n| *n += 1),
        std::time::Duration::from_secs(1),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = tick;
}

#[component]
fn Job(job: ImportJobView) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let state = job.state.clone();
    let finished = job.is_finished();
    let fraction = if job.total_rows == 0 {
        0.0
    } else {
        job.processed_rows as f64 / job.total_rows as f64
    };
    let counts = format!(
        "{} / {}",
        job.processed_rows,
        if job.total_rows == 0 {
            "…".to_owned()
        } else {
            job.total_rows.to_string()
        }
    );
    let summary = (job.state == "done").then(|| {
        let (created, updated, unchanged) = (
            job.created_products,
            job.updated_products,
            job.unchanged_products,
        );
        view! {
            <p class="notice notice-success" role="status" id="import-done">
                {move || texts.get().catalog.import_done} " "
                {move || format!(
                    "{created} {} · {updated} {} · {unchanged} {}",
                    texts.get().catalog.import_created,
                    texts.get().catalog.import_updated,
                    texts.get().catalog.import_unchanged,
                )}
            </p>
        }
    });
    let failure = job.failure.clone().map(|code| {
        view! {
            <p class="notice notice-error" role="alert" id="import-failed">
                {move || failure_text(texts.get(), &code)}
            </p>
        }
    });
    let report = (job.state == "invalid").then(|| {
        let total = job.total_errors;
        let shown = job.errors.len() as u64;
        let rows = job.errors.clone();
        view! {
            <p class="notice notice-error" role="alert" id="import-invalid">
                {move || texts.get().catalog.import_invalid} " "
                {move || format!("{total} {}", texts.get().catalog.import_problems)}
                {move || (total > shown).then(|| format!(" ({} {shown})", texts.get().catalog.import_first))}
            </p>
            <div class="table-scroll">
                <table class="data-table" id="import-report">
                    <thead>
                        <tr>
                            <th scope="col">{move || texts.get().catalog.import_column_row}</th>
                            <th scope="col">{move || texts.get().catalog.import_column_column}</th>
                            <th scope="col">{move || texts.get().catalog.import_column_problem}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|e| {
                                let ImportRowError { row, column, problem } = e;
                                view! {
                                    <tr>
                                        <td>{row}</td>
                                        <td>{column.unwrap_or_default()}</td>
                                        <td>{move || problem_text(texts.get(), locale.get(), &problem)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
    });
    view! {
        <p>
            <strong>{job.file_name.clone()}</strong> " · " {job.created_at.clone()} " · "
            <span id="import-state" data-state=job.state.clone()>{move || state_text(texts.get(), &state)}</span>
        </p>
        {(!finished).then(|| view! {
            <progress id="import-progress" max="1" value=fraction></progress>
            <span class="muted">" " {counts.clone()}</span>
        })}
        {summary}
        {failure}
        {report}
    }
}

fn failure_text(t: &Texts, code: &str) -> &'static str {
    match code {
        "interrupted" => t.catalog.import_failed_interrupted,
        "changed_meanwhile" => t.catalog.import_failed_changed,
        "not_permitted" => t.catalog.import_failed_permission,
        _ => t.catalog.import_failed_internal,
    }
}

/// A report line in the merchant's language.
fn problem_text(t: &Texts, locale: Locale, problem: &ImportProblem) -> String {
    let c = &t.catalog;
    match problem {
        ImportProblem::Invalid(error) => error.message(locale),
        ImportProblem::NoHeader => c.problem_no_header.into(),
        ImportProblem::UnknownColumn => c.problem_unknown_column.into(),
        ImportProblem::DuplicateColumn => c.problem_duplicate_column.into(),
        ImportProblem::MissingColumn => c.problem_missing_column.into(),
        ImportProblem::UnnamedColumn => c.problem_unnamed_column.into(),
        ImportProblem::FieldCount { expected, found } => {
            format!("{} ({expected} ≠ {found})", c.problem_field_count)
        }
        ImportProblem::InvalidUtf8 => c.problem_invalid_utf8.into(),
        ImportProblem::Malformed => c.problem_malformed.into(),
        ImportProblem::AmbiguousAmount => c.problem_ambiguous_amount.into(),
        ImportProblem::UnknownCondition => c.problem_unknown_condition.into(),
        ImportProblem::DuplicateSku { first_row } => {
            format!("{} {first_row}", c.problem_duplicate_sku)
        }
        ImportProblem::DuplicateOptions { first_row } => {
            format!("{} {first_row}", c.problem_duplicate_options)
        }
        ImportProblem::OptionsTaken { sku } => format!("{} {sku}", c.problem_options_taken),
        ImportProblem::Contradicts { first_row } => {
            format!("{} {first_row}", c.problem_contradicts)
        }
        ImportProblem::OptionWithoutName => c.problem_option_without_name.into(),
        ImportProblem::VariantsNeedOptions => c.problem_variants_need_options.into(),
        ImportProblem::TooManyVariants { max } => {
            format!("{} ({max})", c.problem_too_many_variants)
        }
        ImportProblem::SkuOfOtherProduct => c.problem_sku_of_other_product.into(),
        ImportProblem::ProductUnderTwoHandles { first_row } => {
            format!("{} {first_row}", c.problem_two_handles)
        }
    }
}
