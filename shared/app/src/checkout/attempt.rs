//! A buyer's attempts at paying a session: each a payment made through
//! `payments::create_payment` under the session's merchant, with the idempotency key of
//! its place in the session (`<session id>:<n>`), so a retried or doubled start makes one
//! payment, and linked to the session with one conditional write.

use crate::app::App;
use crate::error::{ApiError, Reply};
use serde_json::json;
use walletpay_domain::checkout::{Attempt, CheckoutSession, Refusal};
use walletpay_domain::{Lang, PaymentId, PaymentStatus, SessionId, WalletId};
use walletpay_ports::StoreError;

/// An attempt started: the session as it now stands and the payment's answer.
#[derive(Debug)]
pub struct Started {
    pub session: CheckoutSession,
    pub payment: Reply,
}

/// The session with each attempt's status read from its payment (written back when one
/// changed, so the session completes as soon as one is paid).
pub async fn refresh(app: &App, mut s: CheckoutSession) -> Result<CheckoutSession, StoreError> {
    for _ in 0..5 {
        let mut changed = false;
        // Every attempt, final ones too: a failed or expired one can still be paid late.
        for a in s.attempts.clone() {
            if let Some(p) = app.store.get_payment(&a.payment_id).await? {
                changed |= s.observe(&a.payment_id, p.status);
            }
        }
        if !changed {
            return Ok(s);
        }
        s.version += 1;
        match app.store.update_session(&s).await {
            Ok(()) => return Ok(s),
            Err(StoreError::Conflict) => {
                s = app
                    .store
                    .get_session(&s.id)
                    .await?
                    .ok_or_else(|| StoreError::Backend("a session vanished".into()))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Complete => ApiError::new(409, "session_complete", "This order is already paid."),
        Refusal::Expired => ApiError::new(409, "session_expired", "This checkout has expired."),
        Refusal::Pending(id) => ApiError::new(
            409,
            "attempt_pending",
            format!("Payment {id} may still succeed: it must end before another is made."),
        ),
        Refusal::WalletNotAllowed => ApiError::new(
            422,
            "wallet_not_allowed",
            "The shop does not take that wallet for this order.",
        )
        .field("wallet"),
    }
}

/// Starts an attempt with `wallet`: refused while an earlier one may still succeed.
pub async fn start_attempt(
    app: &App,
    id: &SessionId,
    wallet: WalletId,
    lang: Option<Lang>,
) -> Result<Started, ApiError> {
    let Some(s) = app.store.get_session(id).await? else {
        return Err(ApiError::not_found("checkout session"));
    };
    let mut s = refresh(app, s).await?;
    let now = app.clock.now();
    s.may_start(wallet, now).map_err(refused)?;
    let n = s.attempts.len();
    // The buyer comes back to the session's page, which sends them on to the shop; a page
    // not served over https (a local stack) is no return URL a wallet takes, and the buyer
    // goes straight to the shop's.
    let page = super::page_url(app, &s.id);
    let return_url = if page.starts_with("https://") {
        page
    } else {
        s.return_url.clone()
    };
    let body = json!({
        "merchant_reference": s.merchant_reference,
        "amount": s.amount.minor,
        "currency": s.amount.currency.code(),
        "country": s.country,
        "wallet": wallet.as_str(),
        "customer": s.customer,
        "return_url": return_url,
    });
    let reply = crate::payments::create_payment_in(
        app,
        "checkout",
        &s.merchant_id,
        Some(&s.attempt_key(n)),
        body.to_string().as_bytes(),
        lang.or(s.lang),
    )
    .await
    .map_err(|e| match e.code {
        // Another start took this place in the session with another wallet first.
        "idempotency_key_reused" | "idempotency_request_in_progress" => ApiError::new(
            409,
            "attempt_pending",
            "Another payment of this order was started at the same moment.",
        ),
        _ => e,
    })?;
    if reply.status != 201 {
        return Ok(Started {
            session: s,
            payment: reply,
        });
    }
    let created: serde_json::Value = serde_json::from_str(&reply.body)
        .map_err(|e| ApiError::internal(format!("a created payment's answer: {e}")))?;
    let payment_id = created["id"]
        .as_str()
        .and_then(PaymentId::parse)
        .ok_or_else(|| ApiError::internal("a created payment without an id"))?;
    let status = created["status"]
        .as_str()
        .and_then(PaymentStatus::parse)
        .unwrap_or(PaymentStatus::Processing);
    // Link it: one conditional write; a racing start of the same place made the same
    // payment (the same idempotency key), so finding it linked is success.
    for _ in 0..5 {
        if s.attempts.iter().any(|a| a.payment_id == payment_id) {
            break;
        }
        let mut next = s.clone();
        next.attempts.push(Attempt {
            payment_id: payment_id.clone(),
            wallet,
            status,
            created_at: now,
        });
        next.observe(&payment_id, status);
        next.version += 1;
        match app.store.update_session(&next).await {
            Ok(()) => {
                s = next;
                break;
            }
            Err(StoreError::Conflict) => {
                s = app
                    .store
                    .get_session(id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("checkout session"))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Started {
        session: s,
        payment: reply,
    })
}
