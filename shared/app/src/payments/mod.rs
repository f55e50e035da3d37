//! Payments: `POST /v1/payments` (here), reading them (`read`), canceling one (`cancel`),
//! and the request body (`request`).
//!
//! Creating a payment, in order: validate everything (nothing is written for a bad request);
//! claim the `Idempotency-Key` with one conditional write that also fixes the payment id;
//! ask risk control (`risk::assess`: a block fails the payment with `risk_rejected`, a
//! review holds it in `requires_review` for the shop, see `review`; neither reaches a
//! provider); write the payment (`processing`) with its first history entry; offer it to the planned
//! providers in turn (`offer`: the next only while each refuses before anything can have
//! been charged); record what the last one said with one conditional write per event
//! (`events_of`); store the response for replays.

mod cancel;
mod read;
mod request;
mod review;

pub use crate::idempotency::check_key as check_idempotency_key;
pub use cancel::cancel_payment;
pub use read::{get_payment, list_payments, load_own, payment_events, ListParams};
pub use request::{parse_new_payment, NewPayment};
pub use review::{report_fraud, review_payment};

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::{claim, finish, ms, new_record, Claim};
use crate::request::unprocessable;
use crate::transition::{transition, TransitionError};
use crate::view::payment_json;
use std::sync::Arc;
use walletpay_domain::risk::RiskDecision;
use walletpay_domain::{
    Failure, FailureCode, Lang, MerchantId, Payment, PaymentEvent, PaymentId, PaymentStatus,
};
use walletpay_ports::HistoryEntry;
use walletpay_wallet_adapter::{AdapterError, ChargeCreated, ChargeRequest, WalletAdapter};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `POST /v1/payments`.
pub async fn create_payment(
    app: &App,
    merchant: &MerchantId,
    idempotency_key: Option<&str>,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    create_payment_in(app, Made::ByApi, merchant, idempotency_key, body, lang).await
}

/// Who makes a payment: the shop through the API, or a checkout session's attempt (its key
/// then in a scope of its own, which no `Idempotency-Key` header can reach, and the payment
/// knows its session).
#[derive(Debug, Clone, Copy)]
pub enum Made<'a> {
    ByApi,
    ByCheckout(&'a walletpay_domain::SessionId),
    /// A checkout's attempt with a first-purchase incentive granted (the body's amount is
    /// already the discounted one).
    ByCheckoutWith(
        &'a walletpay_domain::SessionId,
        &'a walletpay_domain::incentive::Applied,
    ),
}

impl Made<'_> {
    /// The key as stored: `payments:<key>` for the API's, `attempt:<key>` for a checkout's
    /// (a prefix of its own: no header-given key is stored under it).
    pub fn scoped_key(self, key: &str) -> String {
        match self {
            Made::ByApi => format!("payments:{key}"),
            Made::ByCheckout(_) | Made::ByCheckoutWith(..) => format!("attempt:{key}"),
        }
    }
}

/// As [`create_payment`], for `made`.
pub async fn create_payment_in(
    app: &App,
    made: Made<'_>,
    merchant: &MerchantId,
    idempotency_key: Option<&str>,
    body: &[u8],
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let key = check_idempotency_key(idempotency_key)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "body_too_large",
            "The body is larger than 64 KiB.",
        ));
    }
    let (new, value) = parse_new_payment(body)?;
    let plan = crate::routing::plan_for(app, merchant, new.country, new.wallet).await?;
    let Some((adapter, first_reason)) = plan.first().cloned() else {
        return Err(unprocessable(
            "wallet_unavailable",
            "wallet",
            format!("{} is not available for this shop yet.", new.wallet),
        ));
    };

    let scoped_key = made.scoped_key(key.as_str());
    let (session, incentive) = match made {
        Made::ByApi => (None, None),
        Made::ByCheckout(id) => (Some(id.clone()), None),
        Made::ByCheckoutWith(id, applied) => (Some(id.clone()), Some(applied.clone())),
    };
    let now = app.clock.now();
    let record = new_record(
        app,
        merchant,
        &scoped_key,
        &value,
        PaymentId::new(now.millis(), rand::random()),
        None,
    );

    let payment_id = match claim(app, &record).await? {
        Claim::Replay(reply) => return Ok(reply),
        Claim::Owned(owned) => owned.payment_id,
        Claim::TakenOver(owned) => {
            // The request that died may have written the payment already.
            if let Some(existing) = app.store.get_payment(&owned.payment_id).await? {
                return finish(
                    app,
                    merchant,
                    &scoped_key,
                    201,
                    payment_json(app, &existing, lang),
                )
                .await;
            }
            owned.payment_id
        }
    };

    // Risk control decides before anything is written or sent (see `risk`); a replay above
    // was decided and counted the first time.
    let customer = new.customer();
    let assessed = match crate::risk::assess(
        app,
        merchant,
        new.amount,
        new.country,
        new.wallet,
        &customer,
        now,
    )
    .await
    {
        Ok(a) => a,
        Err(e) => {
            let _ = app.store.release_idempotent(merchant, &scoped_key).await;
            return Err(ApiError::unavailable(e));
        }
    };
    let decision = assessed.assessment.decision;
    let review_until = assessed.assessment.review_until;
    let mut payment = Payment {
        id: payment_id.clone(),
        merchant_id: merchant.clone(),
        merchant_reference: new.merchant_reference.to_string(),
        amount: new.amount,
        country: new.country,
        wallet: new.wallet,
        provider: adapter.provider(),
        provider_reference: None,
        status: PaymentStatus::Processing,
        next_action: None,
        failure: None,
        customer,
        return_url: new.return_url.map(|u| u.as_str().to_string()),
        description: new.description.map(String::from),
        created_at: now,
        updated_at: now,
        expires_at: now.plus_millis(ms(app.settings.payment_ttl)),
        late_success: false,
        refunds: Vec::new(),
        route: vec![walletpay_domain::RouteStep {
            provider: adapter.provider(),
            reason: first_reason,
        }],
        risk: Some(assessed.assessment.clone()),
        fraud_report: None,
        checkout_session: session,
        incentive,
        version: 1,
    };
    match decision {
        // Nothing goes to a provider; the customer is told only that the wallet refused.
        RiskDecision::Block => {
            payment.status = PaymentStatus::Failed;
            payment.failure = Some(Failure::new(FailureCode::RiskRejected, None));
            payment.route.clear();
        }
        RiskDecision::Review => {
            payment.status = PaymentStatus::RequiresReview;
            payment.route.clear();
            if let Some(until) = review_until {
                payment.expires_at = until;
            }
        }
        RiskDecision::Allow => {}
    }
    let created = HistoryEntry {
        payment_id: payment_id.clone(),
        merchant_id: merchant.clone(),
        seq: 1,
        at: now,
        event: "created".into(),
        from: None,
        to: payment.status,
        source: "api".into(),
        detail: Some(assessed.assessment.summary()),
    };
    // The counters and the first status check (for a held payment: the end of its review
    // window) go out before the payment is written, so no payment can exist without them:
    // if the process dies anywhere below, the check still finds it.
    let check = async {
        match decision {
            RiskDecision::Block => Ok(()),
            RiskDecision::Review => {
                crate::status::schedule_review_end(app, &payment_id, payment.expires_at).await
            }
            RiskDecision::Allow => crate::status::schedule(app, &payment_id, 0).await,
        }
    };
    let (checked, counted) = tokio::join!(check, app.store.add_counters(&assessed.counts));
    let before_write = checked
        .map_err(ApiError::unavailable)
        .and(counted.map_err(ApiError::unavailable));
    if let Err(e) = before_write {
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(e);
    }
    if let Err(e) = crate::notifications::announce(app, &created, &payment).await {
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(ApiError::unavailable(e));
    }
    if let Err(e) = app.store.insert_payment(&payment, &created).await {
        // Nothing was written: free the key so the client's retry starts afresh.
        let _ = app.store.release_idempotent(merchant, &scoped_key).await;
        return Err(e.into());
    }
    if decision != RiskDecision::Allow {
        return finish(
            app,
            merchant,
            &scoped_key,
            201,
            payment_json(app, &payment, lang),
        )
        .await;
    }

    let (payment, outcome) = offer(app, payment, adapter, &plan[1..]).await?;
    let current = record_outcome(app, payment, outcome).await?;
    finish(
        app,
        merchant,
        &scoped_key,
        201,
        payment_json(app, &current, lang),
    )
    .await
}

/// Records what the last provider offered the payment said, one conditional write per event.
async fn record_outcome(
    app: &App,
    payment: Payment,
    outcome: Result<ChargeCreated, AdapterError>,
) -> Result<Payment, ApiError> {
    let id = payment.id.clone();
    let mut current = payment;
    for (event, reference) in events_of(&id, outcome) {
        current = transition(
            app,
            &id,
            Some(current),
            &event,
            "provider_response",
            reference.as_deref(),
        )
        .await
        .map_err(transition_error)?
        .0;
    }
    Ok(current)
}

/// Offers the payment to the planned providers in turn, as long as each refuses before
/// anything can have been charged (see `routing`): the payment as it stands after any
/// reroutes, and the last provider's answer.
async fn offer(
    app: &App,
    mut payment: Payment,
    mut adapter: Arc<dyn WalletAdapter>,
    rest: &[(Arc<dyn WalletAdapter>, String)],
) -> Result<(Payment, Result<ChargeCreated, AdapterError>), ApiError> {
    let mut next = rest.iter();
    loop {
        let outcome = adapter.create_charge(&charge_request(&payment)).await;
        crate::routing::record(
            app,
            adapter.provider(),
            payment.country,
            payment.wallet,
            crate::routing::provider_side(&outcome.as_ref().map(|_| ())),
        )
        .await;
        match (&outcome, next.next()) {
            (Err(e), Some((following, why))) if crate::routing::may_fail_over(e) => {
                tracing::warn!(payment = %payment.id, provider = %adapter.provider(), error = %e, next = %following.provider(), "failing over");
                let reason = format!("{why}; {} refused: {e}", adapter.provider());
                payment = crate::routing::reroute(app, payment, following.provider(), reason)
                    .await
                    .map_err(transition_error)?;
                adapter = following.clone();
            }
            _ => return Ok((payment, outcome)),
        }
    }
}

/// The events a provider's answer to a create stands for, each with the charge it names:
/// accepted (and final, where it answered so at once), or failed; none while the outcome is
/// unknown (a status check or the provider's webhook will tell).
fn events_of(
    payment_id: &PaymentId,
    outcome: Result<ChargeCreated, AdapterError>,
) -> Vec<(PaymentEvent, Option<String>)> {
    let mut events: Vec<(PaymentEvent, Option<String>)> = Vec::new();
    match outcome {
        Ok(created) => {
            let reference = created.provider_reference.clone();
            events.push((
                PaymentEvent::Accepted {
                    provider_reference: created.provider_reference,
                    next_action: created.next_action,
                },
                Some(reference.clone()),
            ));
            if let Some(e) = created.status.to_event() {
                events.push((e, Some(reference)));
            }
        }
        Err(AdapterError::Declined(failure)) => {
            events.push((PaymentEvent::Failed { failure }, None));
        }
        // Maybe charged, maybe not: the payment stays `processing` until a status check or
        // the provider's webhook tells.
        Err(AdapterError::Unknown(why)) => {
            tracing::warn!(payment = %payment_id, %why, "provider outcome unknown; payment stays processing");
        }
        Err(AdapterError::NotFound) => {
            tracing::warn!(payment = %payment_id, "provider lost the charge it was creating; payment stays processing");
        }
        Err(AdapterError::Unsupported(why)) => {
            tracing::error!(payment = %payment_id, %why, "provider refused a request we validated");
            events.push((
                PaymentEvent::Failed {
                    failure: Failure::new(FailureCode::Unknown, Some("UNSUPPORTED_REQUEST".into())),
                },
                None,
            ));
        }
        Err(AdapterError::Config(why)) => {
            tracing::error!(payment = %payment_id, %why, "provider credentials missing or refused");
            events.push((
                PaymentEvent::Failed {
                    failure: Failure::new(FailureCode::MerchantAuthenticationFailed, None),
                },
                None,
            ));
        }
    }
    events
}

/// What the provider is asked to charge for a payment.
pub(crate) fn charge_request(payment: &Payment) -> ChargeRequest<'_> {
    ChargeRequest {
        payment_id: &payment.id,
        amount: payment.amount,
        country: payment.country,
        wallet: payment.wallet,
        customer: &payment.customer,
        return_url: payment.return_url.as_deref(),
        description: payment.description.as_deref(),
        expires_at: payment.expires_at,
    }
}

pub(crate) fn transition_error(e: TransitionError) -> ApiError {
    match e {
        TransitionError::Store(e) => e.into(),
        e => ApiError::internal(e),
    }
}
