//! Stripe's API as the sandbox answers it: PaymentIntents (create, read, cancel) and
//! refunds (create, read, list), form-encoded, with Stripe's idempotency keys.

use super::simulate::outcome_error;
use super::*;
use crate::sandbox_kit::Simulator;
use crate::sandbox_kit::{self, alnum, magic, Outcome, SimulateBody};
use crate::stripe::wire::{
    DisplayQrCode, ErrorBody, List, NextAction, PaymentIntent, RedirectToUrl, Refund, StripeError,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use std::collections::BTreeMap;
use walletpay_domain::Money;

pub(super) async fn create_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = idempotency_key(&headers);
    let print = fingerprint("/v1/payment_intents", &form);
    if let Some(r) = replayed(&sb, &key, &print) {
        return r;
    }
    let f = fields(&form);
    let Some(amount) = one(&f, "amount")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0)
    else {
        return invalid("amount", "Missing required param: amount.");
    };
    let Some(currency) = one(&f, "currency").and_then(crate::stripe::mapping::parse_currency)
    else {
        return invalid("currency", "Invalid currency.");
    };
    let methods = f.get("payment_method_types[]").cloned().unwrap_or_default();
    let Some(method) = methods.first().cloned() else {
        return invalid(
            "payment_method_types",
            "Missing required param: payment_method_types.",
        );
    };
    if one(&f, "payment_method_data[type]") != Some(method.as_str()) {
        return invalid(
            "payment_method_data[type]",
            "payment_method_data[type] must match payment_method_types.",
        );
    }
    if !method_currency(&method, currency) {
        return invalid(
            "payment_method_types",
            &format!(
                "The payment method `{method}` does not support the currency {}.",
                currency.code().to_lowercase()
            ),
        );
    }
    if method == "promptpay" && one(&f, "payment_method_data[billing_details][email]").is_none() {
        return invalid(
            "payment_method_data[billing_details][email]",
            "PromptPay requires the customer's email.",
        );
    }
    let return_url = one(&f, "return_url").map(str::to_string);
    if method == "grabpay" && return_url.is_none() && one(&f, "confirm") == Some("true") {
        return invalid(
            "return_url",
            "A return_url is required to confirm a GrabPay PaymentIntent.",
        );
    }
    if let Some(at) = one(&f, "payment_method_options[pix][expires_at]") {
        let ahead = at.parse::<i64>().unwrap_or(0) - unix_now();
        if !(10..=1_209_600).contains(&ahead) {
            return invalid(
                "payment_method_options[pix][expires_at]",
                "expires_at must be between 10 seconds and 14 days in the future.",
            );
        }
    }
    let money = Money {
        minor: amount,
        currency,
    };
    let magic = sandbox_kit::whole(money);
    match magic {
        Some(magic::UNAVAILABLE) => {
            let mut e = outcome_error(Outcome::Success).unwrap_or_default();
            e.kind = "invalid_request_error".into();
            e.code = Some("payment_method_unavailable".into());
            e.message = Some("The payment method is currently unavailable.".into());
            let answer = json_answer(StatusCode::PAYMENT_REQUIRED, &ErrorBody { error: e });
            remember(&sb, &key, &print, answer.0, &answer.1);
            return send(answer);
        }
        Some(magic::SERVER_ERROR) => {
            let answer = json_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &ErrorBody {
                    error: StripeError {
                        kind: "api_error".into(),
                        message: Some("An unknown error occurred.".into()),
                        ..Default::default()
                    },
                },
            );
            remember(&sb, &key, &print, answer.0, &answer.1);
            return send(answer);
        }
        _ => {}
    }
    let id = format!("pi_{}", alnum(24));
    let page = format!("{}/checkout/{id}", sb.inner.config.public_url);
    let created = unix_now();
    let confirm = one(&f, "confirm") == Some("true");
    let next_action = confirm.then(|| match method.as_str() {
        "grabpay" => NextAction {
            kind: "redirect_to_url".into(),
            redirect_to_url: Some(RedirectToUrl {
                url: page.clone(),
                return_url: return_url.clone(),
            }),
            ..Default::default()
        },
        "promptpay" => NextAction {
            kind: "promptpay_display_qr_code".into(),
            promptpay_display_qr_code: Some(DisplayQrCode {
                data: walletpay_domain::emv::PromptPayBill {
                    biller_id: "010753600031508".into(),
                    ref1: id[3..17].to_ascii_uppercase(),
                    ref2: None,
                    amount: money,
                }
                .payload()
                .expect("a valid sandbox bill"),
                expires_at: None,
                hosted_instructions_url: Some(page.clone()),
                image_url_png: Some(format!("{page}.png")),
                image_url_svg: Some(format!("{page}.svg")),
            }),
            ..Default::default()
        },
        _ => {
            let expires_at = one(&f, "payment_method_options[pix][expires_at]")
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| {
                    one(&f, "payment_method_options[pix][expires_after_seconds]")
                        .and_then(|s| s.parse::<i64>().ok())
                        .map(|secs| created + secs)
                })
                .unwrap_or(created + 86_400);
            NextAction {
                kind: "pix_display_qr_code".into(),
                pix_display_qr_code: Some(DisplayQrCode {
                    data: sandbox_kit::pix_code("sandbox.stripe.local", &id[3..17], money),
                    expires_at: Some(expires_at),
                    hosted_instructions_url: Some(page.clone()),
                    image_url_png: Some(format!("{page}.png")),
                    image_url_svg: Some(format!("{page}.svg")),
                }),
                ..Default::default()
            }
        }
    });
    let metadata: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect();
    let intent = PaymentIntent {
        id: id.clone(),
        object: "payment_intent".into(),
        amount,
        amount_received: 0,
        currency: currency.code().to_lowercase(),
        status: if confirm {
            "requires_action"
        } else {
            "requires_confirmation"
        }
        .into(),
        next_action,
        last_payment_error: None,
        cancellation_reason: None,
        metadata,
        payment_method_types: methods,
        created,
        livemode: false,
    };
    sb.lock_intents().insert(
        id.clone(),
        Kept {
            intent: intent.clone(),
            before: intent.clone(),
            return_url,
            settled_at: None,
        },
    );
    // A Pix QR lapses at its `expires_at`; PromptPay and GrabPay take no expiry (the
    // merchant cancels what it no longer waits for).
    if let Some(at) = intent
        .next_action
        .as_ref()
        .and_then(|a| a.pix_display_qr_code.as_ref())
        .and_then(|q| q.expires_at)
    {
        tokio::spawn({
            let sb = sb.clone();
            async move {
                let wait = (at - unix_now()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                // Paid or canceled in the meantime: nothing lapses.
                let _ = sb
                    .simulate(&id, &SimulateBody::plain(Outcome::Expired))
                    .await;
            }
        });
    }
    let answer = json_answer(StatusCode::OK, &intent);
    remember(&sb, &key, &print, answer.0, &answer.1);
    if magic == Some(magic::SLOW) {
        tokio::time::sleep(sb.inner.config.slow_response).await;
    }
    send(answer)
}

pub(super) async fn get_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.intent(&id) {
        Some(pi) => send(json_answer(StatusCode::OK, &pi)),
        None => no_such("payment_intent", &id),
    }
}

pub(super) async fn cancel_intent(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let f = fields(&form);
    let mut intents = sb.lock_intents();
    let Some(k) = intents.get_mut(&id) else {
        return no_such("payment_intent", &id);
    };
    let cancellable = [
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
    ];
    if !cancellable.contains(&k.intent.status.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("payment_intent_unexpected_state"),
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {}.",
                k.intent.status
            ),
        );
    }
    k.before = k.intent.clone();
    k.intent.status = "canceled".into();
    k.intent.next_action = None;
    k.intent.cancellation_reason = one(&f, "cancellation_reason").map(str::to_string);
    send(json_answer(StatusCode::OK, &k.intent))
}

pub(super) async fn create_refund(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let key = idempotency_key(&headers);
    let print = fingerprint("/v1/refunds", &form);
    if let Some(r) = replayed(&sb, &key, &print) {
        return r;
    }
    let f = fields(&form);
    let Some(pi_id) = one(&f, "payment_intent") else {
        return invalid("payment_intent", "Missing required param: payment_intent.");
    };
    let Some(pi) = sb.intent(pi_id) else {
        return no_such("payment_intent", pi_id);
    };
    if pi.status != "succeeded" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_not_refundable"),
            "This PaymentIntent has no successful charge to refund.",
        );
    }
    let reason = one(&f, "reason").map(str::to_string);
    if reason
        .as_deref()
        .is_some_and(|r| !["duplicate", "fraudulent", "requested_by_customer"].contains(&r))
    {
        return invalid("reason", "Invalid reason.");
    }
    let taken: i64 = sb
        .refunds()
        .iter()
        .filter(|r| {
            r.payment_intent.as_deref() == Some(pi_id)
                && r.status != "failed"
                && r.status != "canceled"
        })
        .map(|r| r.amount)
        .sum();
    let left = pi.amount - taken;
    let amount = match one(&f, "amount") {
        None => left,
        Some(a) => match a.parse::<i64>() {
            Ok(a) if a > 0 => a,
            _ => return invalid("amount", "Invalid positive integer."),
        },
    };
    if amount > left {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})."
            ),
        );
    }
    let magic = crate::stripe::mapping::parse_currency(&pi.currency).and_then(|currency| {
        sandbox_kit::whole(Money {
            minor: amount,
            currency,
        })
    });
    let (status, failure) = match magic {
        Some(magic::REFUND_PENDING) => ("pending", None),
        Some(magic::REFUND_FAILS) => ("failed", Some("declined")),
        _ => ("succeeded", None),
    };
    let metadata: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect();
    let refund = Refund {
        id: format!("re_{}", alnum(24)),
        object: "refund".into(),
        amount,
        currency: pi.currency.clone(),
        payment_intent: Some(pi_id.to_string()),
        status: status.into(),
        failure_reason: failure.map(str::to_string),
        reason,
        metadata,
        created: unix_now(),
    };
    sb.inner
        .refunds
        .lock()
        .expect("sandbox lock")
        .insert(refund.id.clone(), refund.clone());
    let answer = if magic == Some(magic::REFUND_LOST) {
        json_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorBody {
                error: StripeError {
                    kind: "api_error".into(),
                    message: Some("An unknown error occurred.".into()),
                    ..Default::default()
                },
            },
        )
    } else {
        json_answer(StatusCode::OK, &refund)
    };
    remember(&sb, &key, &print, answer.0, &answer.1);
    send(answer)
}

pub(super) async fn get_refund(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    match sb.inner.refunds.lock().expect("sandbox lock").get(&id) {
        Some(r) => send(json_answer(StatusCode::OK, r)),
        None => no_such("refund", &id),
    }
}

#[derive(Deserialize)]
pub(super) struct RefundQuery {
    payment_intent: Option<String>,
}

pub(super) async fn list_refunds(
    State(sb): State<StripeSandbox>,
    headers: HeaderMap,
    Query(q): Query<RefundQuery>,
) -> Response {
    if !sb.authorized(&headers) {
        return unauthorized();
    }
    let mut data: Vec<Refund> = sb
        .refunds()
        .into_iter()
        .filter(|r| q.payment_intent.is_none() || r.payment_intent == q.payment_intent)
        .collect();
    data.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    send(json_answer(
        StatusCode::OK,
        &List {
            object: "list".into(),
            data,
            has_more: false,
            url: "/v1/refunds".into(),
        },
    ))
}
