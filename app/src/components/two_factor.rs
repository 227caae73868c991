//! The two-factor sign-in settings of the account page: the status, turning it on (password,
//! then QR code or key and a code from the app, then the recovery codes, shown once), turning
//! it off, and new recovery codes. Every change asks for the password first.
//!
//! The steps live in the browser (one signal); the server checks every step again. Nothing of
//! an enrolment or of recovery codes stays in memory after the user leaves the step.

use leptos::prelude::*;
use shopmarkets_types::FieldError;

use crate::{
    api::{
        FieldProblem,
        two_factor::{
            BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, EnrolmentView, RecoveryCodesView,
            RegenerateRecoveryCodes, TwoFactorAnswer, TwoFactorStatusView, two_factor_status,
        },
    },
    components::field::Field,
    i18n::{TextOf, use_texts},
};

/// Fewer unused recovery codes than this, and the status urges new ones.
const FEW_RECOVERY_CODES: u32 = 4;

/// A change's answer, once there is one.
type Answer<T> = Option<Result<TwoFactorAnswer<T>, ServerFnError>>;

/// What the password is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Enable,
    Disable,
    Regenerate,
}

/// Where the user is.
#[derive(Clone)]
enum Step {
    Status,
    Password(Purpose),
    Scan(EnrolmentView),
    Codes(RecoveryCodesView),
}

/// The settings' state and actions, shared by the steps.
#[derive(Clone, Copy)]
struct Ui {
    step: RwSignal<Step>,
    /// A message above the steps: `(success, text)`.
    notice: RwSignal<Option<(bool, TextOf)>>,
    /// Bumped to reload the status.
    refresh: RwSignal<u32>,
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
    disable: ServerAction<DisableTwoFactor>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
}

impl Ui {
    /// Forgets every answer (a shown secret or codes included), so a step opened again starts
    /// empty.
    fn forget(self) {
        self.begin.clear();
        self.confirm.clear();
        self.disable.clear();
        self.regenerate.clear();
    }

    fn ask_password(self, purpose: Purpose) {
        self.forget();
        self.notice.set(None);
        self.step.set(Step::Password(purpose));
    }

    /// Back to the status, freshly loaded, with `notice` (or the one already shown).
    fn back_to_status(self, notice: Option<(bool, TextOf)>) {
        self.forget();
        if notice.is_some() {
            self.notice.set(notice);
        }
        self.refresh.update(|n| *n += 1);
        self.step.set(Step::Status);
    }

    /// Cancelled by the user: back to the status without a message.
    fn cancel(self) {
        self.notice.set(None);
        self.back_to_status(None);
    }
}

/// The server's refusal of a form, for showing in it.
#[derive(Clone, Default)]
struct Verdict {
    problems: Vec<FieldProblem>,
    refusal: Option<TextOf>,
}

impl Verdict {
    fn of<T>(answer: &Answer<T>) -> Self {
        match answer {
            Some(Ok(TwoFactorAnswer::Invalid(problems))) => Self {
                problems: problems.clone(),
                refusal: None,
            },
            Some(Ok(TwoFactorAnswer::TooManyAttempts)) => Self {
                problems: Vec::new(),
                refusal: Some(|t| t.security.too_many_attempts),
            },
            Some(Err(err)) => Self {
                problems: Vec::new(),
                refusal: Some(refusal_text(err)),
            },
            _ => Self::default(),
        }
    }

    fn problem(&self, field: &str) -> Option<FieldError> {
        self.problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.error)
    }
}

/// An error of a server function in words.
fn refusal_text(err: &ServerFnError) -> TextOf {
    match err {
        // The message of `services::unauthorized`.
        ServerFnError::ServerError(message) if message == "unauthorized" => {
            |t| t.auth.please_sign_in
        }
        _ => |t| t.request_failed,
    }
}

fn required(value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err(FieldError::Required)
    } else {
        Ok(())
    }
}

/// The secret in groups of four, as authenticator apps print it.
fn in_fours(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The two-factor card of the account page.
#[component]
pub fn TwoFactorSettings() -> impl IntoView {
    let texts = use_texts();
    let ui = Ui {
        step: RwSignal::new(Step::Status),
        notice: RwSignal::new(None),
        refresh: RwSignal::new(0),
        begin: ServerAction::new(),
        confirm: ServerAction::new(),
        disable: ServerAction::new(),
        regenerate: ServerAction::new(),
    };
    let status = Resource::new(move || ui.refresh.get(), |_| two_factor_status());

    // Successful answers move to the next step; refusals stay in their form.
    let outdated = Some((false, (|t| t.security.outdated) as TextOf));
    Effect::new(move |_| match ui.begin.value().get() {
        Some(Ok(TwoFactorAnswer::Done(enrolment))) => ui.step.set(Step::Scan(enrolment)),
        Some(Ok(TwoFactorAnswer::Outdated)) => ui.back_to_status(outdated),
        _ => {}
    });
    Effect::new(move |_| match ui.confirm.value().get() {
        Some(Ok(TwoFactorAnswer::Done(codes))) => {
            ui.notice.set(Some((true, |t| t.security.enabled_notice)));
            ui.refresh.update(|n| *n += 1);
            ui.step.set(Step::Codes(codes));
        }
        Some(Ok(TwoFactorAnswer::Outdated)) => ui.back_to_status(outdated),
        _ => {}
    });
    Effect::new(move |_| match ui.disable.value().get() {
        Some(Ok(TwoFactorAnswer::Done(()))) => {
            ui.back_to_status(Some((true, |t| t.security.disabled_notice)));
        }
        Some(Ok(TwoFactorAnswer::Outdated)) => ui.back_to_status(outdated),
        _ => {}
    });
    Effect::new(move |_| match ui.regenerate.value().get() {
        Some(Ok(TwoFactorAnswer::Done(codes))) => {
            ui.refresh.update(|n| *n += 1);
            ui.step.set(Step::Codes(codes));
        }
        Some(Ok(TwoFactorAnswer::Outdated)) => ui.back_to_status(outdated),
        _ => {}
    });

    view! {
        <section class="card two-factor" id="two-factor" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">{move || texts.get().security.title}</h2>
            <p class="muted">{move || texts.get().security.intro}</p>
            {move || {
                ui.notice
                    .get()
                    .map(|(success, text)| {
                        view! {
                            <p
                                class=if success { "notice notice-success" } else { "notice notice-error" }
                                role="status"
                                id="two-factor-notice"
                            >
                                {move || text(texts.get())}
                            </p>
                        }
                    })
            }}
            {move || match ui.step.get() {
                Step::Status => view! { <StatusPanel ui status/> }.into_any(),
                Step::Password(purpose) => view! { <PasswordPanel ui purpose/> }.into_any(),
                Step::Scan(enrolment) => view! { <ScanPanel ui enrolment/> }.into_any(),
                Step::Codes(codes) => view! { <CodesPanel ui codes/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn StatusPanel(
    ui: Ui,
    status: Resource<Result<TwoFactorStatusView, ServerFnError>>,
) -> impl IntoView {
    let texts = use_texts();
    view! {
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().security.loading}</p> }>
            {move || {
                status
                    .get()
                    .map(|result| match result {
                        Ok(status) if status.enabled => {
                            let left = status.recovery_codes_left;
                            view! {
                                <p id="two-factor-status" data-state="on">
                                    <strong>{move || texts.get().security.status_on}</strong>
                                    {status
                                        .enabled_at
                                        .map(|at| view! { " " {move || texts.get().security.on_since} " " {at} })}
                                    ". "
                                    <span id="recovery-codes-left" data-count=left.to_string()>
                                        {move || (texts.get().security.codes_left)(left)}
                                    </span>
                                </p>
                                {(left < FEW_RECOVERY_CODES)
                                    .then(|| {
                                        view! {
                                            <p class="notice notice-warning" id="recovery-codes-low">
                                                {move || texts.get().security.codes_low}
                                            </p>
                                        }
                                    })}
                                <div class="button-row">
                                    <button
                                        type="button"
                                        class="button button-secondary"
                                        id="two-factor-regenerate"
                                        on:click=move |_| ui.ask_password(Purpose::Regenerate)
                                    >
                                        {move || texts.get().security.regenerate}
                                    </button>
                                    <button
                                        type="button"
                                        class="button button-danger"
                                        id="two-factor-disable"
                                        on:click=move |_| ui.ask_password(Purpose::Disable)
                                    >
                                        {move || texts.get().security.disable}
                                    </button>
                                </div>
                            }
                                .into_any()
                        }
                        Ok(_) => {
                            view! {
                                <p id="two-factor-status" data-state="off">
                                    <strong>{move || texts.get().security.status_off}</strong>
                                    ". "
                                    {move || texts.get().security.off_explained}
                                </p>
                                <div class="button-row">
                                    <button
                                        type="button"
                                        class="button"
                                        id="two-factor-enable"
                                        on:click=move |_| ui.ask_password(Purpose::Enable)
                                    >
                                        {move || texts.get().security.enable}
                                    </button>
                                </div>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            let text = refusal_text(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="two-factor-error">
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

/// The password, asked again before a change.
#[component]
fn PasswordPanel(ui: Ui, purpose: Purpose) -> impl IntoView {
    let texts = use_texts();
    let (intro, submit, danger): (TextOf, TextOf, bool) = match purpose {
        Purpose::Enable => (
            |t| t.security.password_for_enable,
            |t| t.security.continue_submit,
            false,
        ),
        Purpose::Disable => (
            |t| t.security.password_for_disable,
            |t| t.security.disable_submit,
            true,
        ),
        Purpose::Regenerate => (
            |t| t.security.password_for_regenerate,
            |t| t.security.regenerate_submit,
            false,
        ),
    };
    let verdict = Signal::derive(move || match purpose {
        Purpose::Enable => ui.begin.value().with(Verdict::of),
        Purpose::Disable => ui.disable.value().with(Verdict::of),
        Purpose::Regenerate => ui.regenerate.value().with(Verdict::of),
    });
    let pending = Signal::derive(move || match purpose {
        Purpose::Enable => ui.begin.pending().get(),
        Purpose::Disable => ui.disable.pending().get(),
        Purpose::Regenerate => ui.regenerate.pending().get(),
    });
    let fields = move || {
        view! {
            <p>{move || intro(texts.get())}</p>
            <Field
                name="password"
                kind="password"
                label=|t| t.security.field_password
                autocomplete="current-password"
                validate=required
                server_error=Signal::derive(move || verdict.with(|v| v.problem("password")))
            />
            <Refusal verdict/>
            <div class="button-row">
                <button
                    type="submit"
                    class=if danger { "button button-danger" } else { "button" }
                    id="two-factor-password-submit"
                    disabled=move || pending.get()
                >
                    {move || submit(texts.get())}
                </button>
                <CancelButton ui/>
            </div>
        }
    };
    // One form per server function; they differ only in where they post.
    match purpose {
        Purpose::Enable => view! {
            <ActionForm action=ui.begin attr:class="form" attr:novalidate=true attr:id="two-factor-password-form">
                {fields()}
            </ActionForm>
        }
        .into_any(),
        Purpose::Disable => view! {
            <ActionForm action=ui.disable attr:class="form" attr:novalidate=true attr:id="two-factor-password-form">
                {fields()}
            </ActionForm>
        }
        .into_any(),
        Purpose::Regenerate => view! {
            <ActionForm action=ui.regenerate attr:class="form" attr:novalidate=true attr:id="two-factor-password-form">
                {fields()}
            </ActionForm>
        }
        .into_any(),
    }
}

/// The new secret (QR code and key) and the code that proves the app has it.
#[component]
fn ScanPanel(ui: Ui, enrolment: EnrolmentView) -> impl IntoView {
    let texts = use_texts();
    let EnrolmentView { qr_image, secret } = enrolment;
    let key = in_fours(&secret);
    let verdict = Signal::derive(move || ui.confirm.value().with(Verdict::of));

    view! {
        <h3>{move || texts.get().security.scan_title}</h3>
        <ol class="enrolment-steps">
            <li>
                <p>{move || texts.get().security.scan_qr}</p>
                // `qr_image` is our own server-generated SVG (black and white squares, nothing
                // else) as a `data:` URL; inside an <img> even a hostile SVG could not run.
                <img class="qr-code" id="two-factor-qr" src=qr_image alt=move || texts.get().security.qr_alt/>
            </li>
            <li>
                <p>{move || texts.get().security.type_key}</p>
                <p>
                    <code class="secret-key" id="two-factor-secret" translate="no">{key}</code>
                </p>
            </li>
            <li>
                <p>{move || texts.get().security.enter_code}</p>
                <ActionForm action=ui.confirm attr:class="form" attr:novalidate=true attr:id="two-factor-confirm-form">
                    <Field
                        name="code"
                        kind="text"
                        label=|t| t.security.field_code
                        hint=|t| t.security.field_code_hint
                        autocomplete="one-time-code"
                        validate=required
                        server_error=Signal::derive(move || verdict.with(|v| v.problem("code")))
                    />
                    <Refusal verdict/>
                    <div class="button-row">
                        <button
                            type="submit"
                            class="button"
                            id="two-factor-confirm-submit"
                            disabled=move || ui.confirm.pending().get()
                        >
                            {move || texts.get().security.confirm_submit}
                        </button>
                        <CancelButton ui/>
                    </div>
                </ActionForm>
            </li>
        </ol>
    }
}

/// New recovery codes, shown once, until the user says they are saved.
#[component]
fn CodesPanel(ui: Ui, codes: RecoveryCodesView) -> impl IntoView {
    let texts = use_texts();
    let saved = RwSignal::new(false);
    let items = codes
        .0
        .into_iter()
        .map(|code| view! { <li><code translate="no">{code}</code></li> })
        .collect_view();

    view! {
        <h3>{move || texts.get().security.codes_title}</h3>
        <p>{move || texts.get().security.codes_intro}</p>
        <ol class="recovery-codes" id="recovery-codes">{items}</ol>
        <div class="check">
            <input
                type="checkbox"
                id="recovery-codes-saved"
                on:change=move |ev| saved.set(event_target_checked(&ev))
            />
            <label for="recovery-codes-saved">{move || texts.get().security.codes_saved}</label>
        </div>
        <div class="button-row">
            <button
                type="button"
                class="button"
                id="recovery-codes-done"
                disabled=move || !saved.get()
                on:click=move |_| ui.back_to_status(None)
            >
                {move || texts.get().security.codes_done}
            </button>
        </div>
    }
}

/// A refusal that belongs to no field (too many attempts, a failed request).
#[component]
fn Refusal(verdict: Signal<Verdict>) -> impl IntoView {
    let texts = use_texts();
    move || {
        verdict.with(|v| v.refusal).map(|text| {
            view! {
                <p class="notice notice-error" role="alert" id="two-factor-refusal">
                    {move || text(texts.get())}
                </p>
            }
        })
    }
}

#[component]
fn CancelButton(ui: Ui) -> impl IntoView {
    let texts = use_texts();
    view! {
        <button type="button" class="button button-secondary" id="two-factor-cancel" on:click=move |_| ui.cancel()>
            {move || texts.get().security.cancel}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_grouped_in_fours() {
        assert_eq!(in_fours("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(in_fours("ABCDEF"), "ABCD EF");
        assert_eq!(in_fours(""), "");
    }

    #[test]
    fn refusals_are_told_apart_from_field_problems() {
        let wrong: Answer<()> = Some(Ok(TwoFactorAnswer::Invalid(vec![FieldProblem {
            field: "password".into(),
            error: FieldError::WrongPassword,
        }])));
        let verdict = Verdict::of(&wrong);
        assert_eq!(verdict.problem("password"), Some(FieldError::WrongPassword));
        assert!(verdict.refusal.is_none());
        assert!(
            Verdict::of::<()>(&Some(Ok(TwoFactorAnswer::TooManyAttempts)))
                .refusal
                .is_some()
        );
        assert!(
            Verdict::of::<()>(&Some(Ok(TwoFactorAnswer::Done(()))))
                .refusal
                .is_none()
        );
        assert!(Verdict::of::<()>(&None).problem("password").is_none());
    }
}
