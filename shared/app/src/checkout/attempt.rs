//! A buyer's attempts at paying a session. An attempt's place is reserved in the session
//! first (one conditional write, which also re-checks that no earlier attempt may still
//! succeed), then its payment is made through `payments::create_payment_in` under the
//! idempotency key of that place (`<session id>:<n>`, in the `attempt` scope no header
//! reaches), then linked. A place whose link was never written (the process died, the
//! answer was lost) is linked by the next read of the session from its idempotency record,
//! which names the payment before the payment is written; a place whose payment was never
//! claimed is given up once the claim's lease has passed. So every payment of an order is
//! one the session knows of.

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::ms;
use serde_json::json;
use walletpay_domain::checkout::{Attempt, CheckoutSession, Refusal, SessionStatus};
use walletpay_domain::{Lang, PaymentId, PaymentStatus, SessionId, WalletId};
use walletpay_ports::StoreError;

/// An attempt started: the session as it now stands and the payment's answer.
#[derive(Debug)]
pub struct Started {
    pub session: CheckoutSession,
    pub payment: Reply,
}

fn scoped(s: &CheckoutSession, n: usize) -> String {
    crate::payments::Made::ByCheckout(&s.id).scoped_key(&s.attempt_key(n))
}

/// What a place without a payment id now stands for.
enum Place {
    /// Its payment exists.
    Made(PaymentId, PaymentStatus),
    /// Nothing was made, and nothing can be any more.
    GivenUp,
    /// Its payment may still be being made.
    Waiting,
}

async fn resolve_place(app: &App, s: &CheckoutSession, n: usize) -> Result<Place, StoreError> {
    match app
        .store
        .get_idempotent(&s.merchant_id, &scoped(s, n))
        .await?
    {
        Some(record) => Ok(match app.store.get_payment(&record.payment_id).await? {
            Some(p) => Place::Made(record.payment_id, p.status),
            None => Place::Waiting,
        }),
        None => {
            // Never claimed: once a claim's lease has passed, nothing can be made there.
            let lease = ms(app.settings.idempotency_lease);
            let created = s.attempts[n].created_at;
            Ok(if app.clock.now() > created.plus_millis(2 * lease) {
                Place::GivenUp
            } else {
                Place::Waiting
            })
        }
    }
}

/// The session with each attempt's status read from its payment (written back when one
/// changed, so the session completes as soon as one is paid).
pub async fn refresh(app: &App, mut s: CheckoutSession) -> Result<CheckoutSession, StoreError> {
    for _ in 0..5 {
        let mut changed = false;
        // Every attempt, final ones too: a failed or expired one can still be paid late.
        for n in 0..s.attempts.len() {
            match s.attempts[n].payment_id.clone() {
                Some(id) => {
                    if let Some(p) = app.store.get_payment(&id).await? {
                        changed |= s.observe(&id, p.status);
                    }
                }
                None => match resolve_place(app, &s, n).await? {
                    Place::GivenUp => {
                        s.attempts[n].status = PaymentStatus::Failed;
                        changed = true;
                    }
                    Place::Made(id, status) => {
                        s.attempts[n].payment_id = Some(id.clone());
                        s.attempts[n].status = status;
                        s.observe(&id, status);
                        changed = true;
                    }
                    Place::Waiting => {}
                },
            }
        }
        // An order that has ended gives back what it was granted and did not use, once.
        // An order that has ended brings its grants in line with how it ended, once (and
        // again if it is paid after that: a late success). Not settled now (the store
        // cannot be written): the next read, or the session's end check, tries again.
        let ended = s.status_at(app.clock.now()) != SessionStatus::Open;
        if ended && (!s.grants_settled || s.settled_paid_by != s.paid_by) {
            let settled = if s.attempts.iter().any(|a| a.incentive.is_some()) {
                super::incentives::settle(app, &s, s.version).await
            } else {
                Ok(())
            };
            match settled {
                Ok(()) => {
                    s.grants_settled = true;
                    s.settled_paid_by = s.paid_by.clone();
                    changed = true;
                }
                Err(e) => {
                    tracing::warn!(session = %s.id, error = %e, "an ended order's grants are not settled yet")
                }
            }
        }
        if !changed {
            refund_extra_payments(app, &s).await;
            return Ok(s);
        }
        s.version += 1;
        match app.store.update_session(&s).await {
            Ok(()) => {
                refund_extra_payments(app, &s).await;
                return Ok(s);
            }
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

/// An order paid by two attempts: the one that is not the session's payment is refunded
/// (a late success of an earlier attempt is already, by the late-success path). Logged if
/// its refund cannot be queued now; the next read tries again.
async fn refund_extra_payments(app: &App, s: &CheckoutSession) {
    let Some(paid_by) = &s.paid_by else { return };
    for a in &s.attempts {
        let Some(id) = &a.payment_id else { continue };
        if id == paid_by || !a.status.is_paid() {
            continue;
        }
        match app.store.get_payment(id).await {
            Ok(Some(p)) => {
                if let Err(e) = crate::refunds::refund_second_payment(app, &p).await {
                    tracing::error!(payment = %id, error = %e, "the second payment of an order is not refunded yet");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(payment = %id, error = %e, "the second payment of an order could not be read")
            }
        }
    }
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Complete => ApiError::new(409, "session_complete", "This order is already paid."),
        Refusal::Expired => ApiError::new(409, "session_expired", "This checkout has expired."),
        Refusal::Pending(n) => ApiError::new(
            409,
            "attempt_pending",
            format!("Attempt {n} may still succeed: it must end before another is made."),
        ),
        Refusal::TooManyAttempts => ApiError::new(
            409,
            "too_many_attempts",
            "This order has had as many payment attempts as one checkout takes.",
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
    start_attempt_offered(app, id, wallet, lang, false).await
}

/// As [`start_attempt`], for a buyer who was shown a first-purchase incentive with
/// `wallet` (`offered`): if it can no longer be granted (spent, ended, taken meanwhile), no
/// attempt starts (`409 incentive_unavailable`), so nobody pays another price than the one
/// they chose at.
pub async fn start_attempt_offered(
    app: &App,
    id: &SessionId,
    wallet: WalletId,
    lang: Option<Lang>,
    offered: bool,
) -> Result<Started, ApiError> {
    let Some(s) = app.store.get_session(id).await? else {
        return Err(ApiError::not_found("checkout session"));
    };
    let s = refresh(app, s).await?;
    let now = app.clock.now();
    s.may_start(wallet, now).map_err(refused)?;
    // The buyer's first-purchase incentive with this wallet, granted to this order (a
    // later attempt of the order finds it held, at no further cost).
    let granted = super::incentives::grant(app, &s, wallet)
        .await
        .map_err(ApiError::unavailable)?;
    if offered && granted.is_none() {
        return Err(ApiError::new(
            409,
            "incentive_unavailable",
            "The incentive shown with this wallet is no longer available.",
        ));
    }
    let applied = granted.as_ref().map(|g| g.applied.clone());
    // Reserve the place: of two starts at once, one writes it and the other is refused
    // (and a grant made for it just now is undone).
    let reserved = reserve_place(app, id, s, wallet, now, applied.clone()).await;
    let (mut s, n) = match reserved {
        Ok(placed) => placed,
        Err(e) => {
            if let Some(g) = granted.as_ref().filter(|g| g.new) {
                if let Ok(Some(fresh)) = app.store.get_session(id).await {
                    if let Err(undo) = super::incentives::undo(app, &fresh, g).await {
                        tracing::error!(session = %id, error = %undo, "a grant for an attempt that did not start is not undone");
                    }
                }
            }
            return Err(e);
        }
    };
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
        "amount": super::incentives::discounted(s.amount, applied.as_ref()).minor,
        "currency": s.amount.currency.code(),
        "country": s.country,
        "wallet": wallet.as_str(),
        "customer": s.customer,
        "return_url": return_url,
    });
    let made = crate::payments::create_payment_in(
        app,
        match &applied {
            Some(a) => crate::payments::Made::ByCheckoutWith(id, a),
            None => crate::payments::Made::ByCheckout(id),
        },
        &s.merchant_id,
        Some(&s.attempt_key(n)),
        body.to_string().as_bytes(),
        lang.or(s.lang),
    )
    .await;
    let reply = match made {
        Ok(r) => r,
        // Refused before anything was written (bad input for this wallet, no provider):
        // the place ends so another attempt can start. Anything else may have made the
        // payment: the place stays, and the next read of the session links it.
        Err(e) if e.status < 500 => {
            let _ = end_place(app, id, n).await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
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
    // Link it to its place (the next read would, from its idempotency record, if this
    // write never lands).
    for _ in 0..5 {
        if s.attempts[n].payment_id.as_ref() == Some(&payment_id) {
            break;
        }
        let mut next = s.clone();
        next.attempts[n].payment_id = Some(payment_id.clone());
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
    // The order's end releases what it was granted and did not use, even if nobody reads
    // the session again.
    if granted.as_ref().is_some_and(|g| g.new) {
        if let Err(e) = crate::status::schedule_session_end(app, &payment_id, s.expires_at).await {
            tracing::warn!(session = %s.id, error = %e, "the end of a session with an incentive is not scheduled; its next read settles it");
        }
    }
    Ok(Started {
        session: s,
        payment: reply,
    })
}

/// Reserves the next attempt's place in the session (one conditional write, re-checking
/// that no earlier attempt may still succeed): the session as written and the place's
/// number.
async fn reserve_place(
    app: &App,
    id: &SessionId,
    mut s: CheckoutSession,
    wallet: WalletId,
    now: walletpay_domain::Timestamp,
    incentive: Option<walletpay_domain::incentive::Applied>,
) -> Result<(CheckoutSession, usize), ApiError> {
    loop {
        s.may_start(wallet, now).map_err(refused)?;
        let mut next = s.clone();
        next.attempts.push(Attempt {
            payment_id: None,
            wallet,
            status: PaymentStatus::Processing,
            created_at: now,
            incentive: incentive.clone(),
        });
        next.version += 1;
        match app.store.update_session(&next).await {
            Ok(()) => {
                let n = next.attempts.len() - 1;
                return Ok((next, n));
            }
            Err(StoreError::Conflict) => {
                let fresh = app
                    .store
                    .get_session(id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("checkout session"))?;
                s = refresh(app, fresh).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Ends a place whose payment was refused before anything was written.
async fn end_place(app: &App, id: &SessionId, n: usize) -> Result<(), StoreError> {
    for _ in 0..5 {
        let Some(mut s) = app.store.get_session(id).await? else {
            return Ok(());
        };
        if s.attempts[n].payment_id.is_some() || s.attempts[n].status.is_terminal() {
            return Ok(());
        }
        s.attempts[n].status = PaymentStatus::Failed;
        s.version += 1;
        match app.store.update_session(&s).await {
            Err(StoreError::Conflict) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict)
}
