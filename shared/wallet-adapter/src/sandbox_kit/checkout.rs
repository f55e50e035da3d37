//! The sandboxes' own controls, the same for every provider: the checkout page a customer
//! approves or declines a charge on (`GET`/`POST .../checkout/{reference}`), and
//! `POST .../simulate/{reference}`, which settles a pending charge and sends its webhooks as
//! asked. A sandbox implements [`Simulator`] (what its page shows, how it settles a charge,
//! how its provider words an error) and mounts [`page`], [`decide`] and [`simulate`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The outcomes a test or a person can give a pending charge: one per customer-side failure
/// category, and success. Each sandbox answers with its provider's own code for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    InsufficientBalance,
    UserCancelled,
    Expired,
    RiskRejected,
    LimitExceeded,
    InvalidAccount,
    /// The wallet did not answer the provider in time (`network_error`).
    Timeout,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Success,
        Outcome::InsufficientBalance,
        Outcome::UserCancelled,
        Outcome::Expired,
        Outcome::RiskRejected,
        Outcome::LimitExceeded,
        Outcome::InvalidAccount,
        Outcome::Timeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::InsufficientBalance => "insufficient_balance",
            Outcome::UserCancelled => "user_cancelled",
            Outcome::Expired => "expired",
            Outcome::RiskRejected => "risk_rejected",
            Outcome::LimitExceeded => "limit_exceeded",
            Outcome::InvalidAccount => "invalid_account",
            Outcome::Timeout => "timeout",
        }
    }

    /// The failure category a payment settled this way ends in (`None` for success).
    pub fn category(self) -> Option<&'static str> {
        match self {
            Outcome::Success => None,
            Outcome::InsufficientBalance => Some("insufficient_balance"),
            Outcome::UserCancelled => Some("user_cancelled"),
            Outcome::Expired => Some("expired"),
            Outcome::RiskRejected => Some("risk_rejected"),
            Outcome::LimitExceeded => Some("limit_exceeded"),
            Outcome::InvalidAccount => Some("invalid_account"),
            Outcome::Timeout => Some("network_error"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Success => "Approve payment",
            Outcome::InsufficientBalance => "Decline: insufficient balance",
            Outcome::UserCancelled => "Cancel",
            Outcome::Expired => "Let it expire",
            Outcome::RiskRejected => "Decline: account blocked",
            Outcome::LimitExceeded => "Decline: over the wallet's limit",
            Outcome::InvalidAccount => "Decline: account not usable",
            Outcome::Timeout => "Wallet does not answer",
        }
    }
}

/// `POST .../simulate/{provider_reference}`: settle a pending charge, and how its webhooks go.
#[derive(Debug, Clone, Deserialize)]
pub struct SimulateBody {
    pub outcome: Outcome,
    /// `false`: settle without any webhook (a lost webhook; a status check must find it).
    #[serde(default = "yes")]
    pub send_callback: bool,
    /// Send the webhook twice.
    #[serde(default)]
    pub duplicate: bool,
    /// After the final webhook, send one carrying the charge as it was before (an
    /// out-of-order delivery).
    #[serde(default)]
    pub stale_after: bool,
    /// A success for a charge that already lapsed at the provider (Xendit's sandbox: a
    /// customer who pays after the charge timed out). Other sandboxes refuse a settled
    /// charge whatever this says.
    #[serde(default)]
    pub late: bool,
    /// The customer pays another amount than the charge's, in the provider's decimal
    /// notation (the bank's sandbox: a bill paid short or over). Other sandboxes pay the
    /// charge's own amount.
    #[serde(default)]
    pub amount: Option<String>,
    /// The wallet or bank that paid a national QR code (QRIS), as the provider names it
    /// (Xendit's `payment_details.issuer_name`, Midtrans's `issuer`); each sandbox has a
    /// default. Other charges ignore it.
    #[serde(default)]
    pub issuer: Option<String>,
}

fn yes() -> bool {
    true
}

impl SimulateBody {
    pub fn plain(outcome: Outcome) -> Self {
        SimulateBody {
            outcome,
            send_callback: true,
            duplicate: false,
            stale_after: false,
            late: false,
            amount: None,
            issuer: None,
        }
    }
}

/// The page a customer approves or declines a sandbox charge on: a button per outcome in
/// `outcomes` while the charge waits (`state` is `None`), else the charge's final status;
/// `note` says why a decision was refused.
pub fn checkout_page(
    provider: &str,
    method: &str,
    amount: &str,
    reference: &str,
    state: Option<&str>,
    outcomes: &[Outcome],
    note: Option<&str>,
) -> Html<String> {
    let body = match state {
        None => outcomes
            .iter()
            .map(|o| {
                format!(
                    r#"<button name="outcome" value="{}">{}</button>"#,
                    o.name(),
                    o.label()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(s) => format!("<p>This payment is {}.</p>", super::escape(s)),
    };
    let note = note
        .map(|n| format!(r#"<p role="alert">{}</p>"#, super::escape(n)))
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{provider} sandbox checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto}}button{{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem}}</style></head>
<body><h1>{method}</h1><p>Pay <strong>{amount}</strong></p><p>Reference {reference}</p>{note}
<form method="post">{body}</form><p><small>{provider} sandbox: no real money moves.</small></p></body></html>"#,
        provider = super::escape(provider),
        method = super::escape(method),
        amount = super::escape(amount),
        reference = super::escape(reference),
    ))
}

/// The form the checkout page posts.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    pub outcome: Outcome,
}

/// Why a sandbox refused a control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// Nothing by that reference (`what` names it as the provider does: "charge").
    #[error("no such {what}: {reference}")]
    NotFound {
        what: &'static str,
        reference: String,
    },
    /// It exists, but is not in a state this applies to (a charge already settled).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
}

impl SandboxError {
    pub fn not_found(what: &'static str, reference: &str) -> Self {
        SandboxError::NotFound {
            what,
            reference: reference.to_string(),
        }
    }

    /// The HTTP status the error is answered with (where the provider has no other).
    pub fn status(&self) -> StatusCode {
        match self {
            SandboxError::NotFound { .. } => StatusCode::NOT_FOUND,
            SandboxError::Conflict(_) => StatusCode::CONFLICT,
            SandboxError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// A charge as its checkout page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The payment method, as the provider names it (`ID_DANA`, `gopay`, `Pix`).
    pub method: String,
    /// The amount, with its currency (`IDR 150000.00`).
    pub amount: String,
    /// The merchant's reference for the charge.
    pub reference: String,
    /// `None` while the charge waits for the customer; else its status, in the provider's
    /// words.
    pub settled: Option<String>,
}

/// A provider sandbox's side of the shared controls.
pub trait Simulator: Clone + Send + Sync + 'static {
    /// The provider, as the page names it.
    const NAME: &'static str;
    /// What a charge is called in "no such ..." (`charge`, `payment intent`, `bill`).
    const CHARGE: &'static str;
    /// What `simulate` answers with: the charge after the outcome.
    type Settled: Serialize + Send;
    /// The outcomes a customer can give a charge on the page (a Pix or a PromptPay transfer
    /// is made or not: only `success`; an unpaid one expires).
    const OUTCOMES: &'static [Outcome] = &Outcome::ALL;

    /// The charge a page's path names (the same page may stand under other names, such as a
    /// QR image's link).
    fn canonical(&self, reference: &str) -> String {
        reference.to_string()
    }

    /// The charge `reference` names, as its page shows it.
    fn shown(&self, reference: &str) -> Option<Shown>;

    /// Settles a pending charge with `how.outcome` and sends its webhooks as `how` says.
    fn simulate(
        &self,
        reference: &str,
        how: &SimulateBody,
    ) -> impl Future<Output = Result<Self::Settled, SandboxError>> + Send;

    /// Where the customer goes once they decided: the shop's return URL for that outcome,
    /// if the charge has one (otherwise the page again, now showing the outcome).
    fn return_to(&self, reference: &str) -> Option<String>;

    /// An error in the provider's own error body.
    fn refusal(&self, e: &SandboxError) -> Response;
}

/// `GET .../checkout/{reference}`: the page with a button per outcome while the charge
/// waits, its final status after.
pub async fn page<S: Simulator>(State(sb): State<S>, Path(reference): Path<String>) -> Response {
    match sb.shown(&sb.canonical(&reference)) {
        Some(c) => render::<S>(&c, None).into_response(),
        None => not_found::<S>(),
    }
}

/// `POST .../checkout/{reference}`: the customer's decision. Settles the charge, then sends
/// the customer back to the shop, or to the page, which shows how it ended. A decision the
/// charge cannot take (it was settled meanwhile, or the outcome is not one it offers) is
/// answered 409 with the page as it stands and why.
pub async fn decide<S: Simulator>(
    State(sb): State<S>,
    Path(reference): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let reference = sb.canonical(&reference);
    if sb.shown(&reference).is_none() {
        return not_found::<S>();
    }
    let settled = if S::OUTCOMES.contains(&form.outcome) {
        sb.simulate(&reference, &SimulateBody::plain(form.outcome))
            .await
            .map(|_| ())
    } else {
        Err(SandboxError::BadRequest(format!(
            "{} is not an outcome this charge can have",
            form.outcome.name()
        )))
    };
    match settled {
        Ok(()) => match sb.return_to(&reference) {
            Some(url) => Redirect::to(&url).into_response(),
            // Relative to the page's own URL, wherever the sandbox is mounted.
            None => Redirect::to(&format!("./{}", path_segment(&reference))).into_response(),
        },
        Err(e) => match sb.shown(&reference) {
            Some(c) => {
                (StatusCode::CONFLICT, render::<S>(&c, Some(&e.to_string()))).into_response()
            }
            None => not_found::<S>(),
        },
    }
}

fn render<S: Simulator>(c: &Shown, note: Option<&str>) -> Html<String> {
    checkout_page(
        S::NAME,
        &c.method,
        &c.amount,
        &c.reference,
        c.settled.as_deref(),
        S::OUTCOMES,
        note,
    )
}

/// `s` as one URL path segment (unreserved characters kept, the rest percent-encoded).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST .../simulate/{reference}` with a [`SimulateBody`].
pub async fn simulate<S: Simulator>(
    State(sb): State<S>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let how: SimulateBody = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => {
            return sb.refusal(&SandboxError::BadRequest(format!(
                "expected {{\"outcome\": ...}}: {e}"
            )))
        }
    };
    match sb.simulate(&sb.canonical(&reference), &how).await {
        Ok(done) => (StatusCode::OK, Json(done)).into_response(),
        Err(e) => sb.refusal(&e),
    }
}

fn not_found<S: Simulator>() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(format!("<h1>No such {}</h1>", S::CHARGE)),
    )
        .into_response()
}
