//! Merchant notifications: every state change of a payment or refund is an event.
//!
//! The event is part of the change itself: the history entry is in the same conditional
//! write as the new payment version. Its delivery job is queued *before* that write, carrying
//! the event as it will be delivered, so a stored change can never be left without its job
//! (if the process dies after the queue and before the write, or the write loses a race, the
//! job finds nothing, or another change, at that version and is dropped). The notifier
//! checks, on the first attempt, that the stored version holds exactly the job's entry; it
//! then delivers the event to the merchant's webhook URL, signed, at least once, retrying
//! after 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h and 24 h, then parks it on the
//! dead-letter queue (which raises an alarm). Nothing scans for unsent events and nothing
//! is written to mark them sent.
//!
//! Signature: header `Walletpay-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 with the merchant's webhook secret over `<t>.<raw body>`; during 24 h after a
//! secret rotation a second `v1=` signed with the previous secret follows. Receivers compare
//! in constant time with each `v1`, reject a `t` older than 5 minutes, and de-duplicate by
//! the event `id`; `sequence` orders a payment's events.

use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::idempotency::ms;
use crate::status::send_due;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use walletpay_domain::{MerchantId, Payment, PaymentId, Timestamp};
use walletpay_ports::{feed_key, HistoryEntry, Merchant, QueueError, StoreError};
use walletpay_wallet_adapter::signed_header;

/// `evt_<payment id body>_<seq>`: stable, so receivers can de-duplicate.
pub fn event_id(h: &HistoryEntry) -> String {
    format!("evt_{}_{}", h.payment_id.body(), h.seq)
}

pub fn parse_event_id(id: &str) -> Option<(PaymentId, u64)> {
    let rest = id.strip_prefix("evt_")?;
    let (body, seq) = rest.split_once('_')?;
    let payment = PaymentId::parse(&format!("{}{body}", PaymentId::PREFIX))?;
    Some((payment, seq.parse().ok()?))
}

/// The event type a history entry is announced as. A payment risk control blocked is
/// `payment.failed` from its first event, and one it holds `payment.requires_review`.
pub fn event_type(h: &HistoryEntry) -> &'static str {
    match h.event.as_str() {
        "created" => match h.to {
            walletpay_domain::PaymentStatus::Failed => "payment.failed",
            walletpay_domain::PaymentStatus::RequiresReview => "payment.requires_review",
            _ => "payment.created",
        },
        "review_approved" => "payment.review_approved",
        "review_declined" => "payment.failed",
        "fraud_reported" => "payment.fraud_reported",
        "accepted" => "payment.requires_action",
        "succeeded" => "payment.succeeded",
        "failed" => "payment.failed",
        "expired" => "payment.expired",
        "canceled" => "payment.canceled",
        "refund_requested" => "refund.created",
        "refund_succeeded" => "refund.succeeded",
        "refund_failed" => "refund.failed",
        "refund_reversed" => "refund.reversed",
        "refund_submitted" => "refund.updated",
        _ => "payment.updated",
    }
}

/// The event as merchants receive it.
pub fn event_json(h: &HistoryEntry, p: &Payment) -> Value {
    let refund_id = h
        .event
        .starts_with("refund_")
        .then(|| h.detail.clone())
        .flatten();
    json!({
        "id": event_id(h),
        "object": "event",
        "type": event_type(h),
        "created_at": h.at,
        "payment_id": h.payment_id.as_str(),
        "sequence": h.seq,
        "data": {
            "status": h.to.as_str(),
            "previous_status": h.from.map(|s| s.as_str()),
            "source": h.source,
            "refund_id": refund_id,
            "merchant_reference": p.merchant_reference,
            "amount": p.amount.minor,
            "currency": p.amount.currency.code(),
            "wallet": p.wallet.as_str(),
            "late_success": p.late_success,
            "risk": p.risk.as_ref().map(|r| json!({
                "decision": r.decision,
                "score": r.score,
                "reasons": r.reasons,
                "review_until": r.review_until,
            })),
        }
    })
}

/// Signs `body` for a merchant at `t` (unix seconds): the timestamped HMAC header of
/// `walletpay_wallet_adapter::signed_header`, with a second `v1` from the previous secret
/// while it is still valid.
pub fn signature_header(merchant: &Merchant, t: i64, body: &str, now: Timestamp) -> Option<String> {
    let mut secrets = vec![merchant.webhook_secret.as_ref()?.expose()];
    if let (Some(prev), Some(until)) = (
        &merchant.previous_webhook_secret,
        merchant.previous_secret_until,
    ) {
        if now < until {
            secrets.push(prev.expose());
        }
    }
    Some(signed_header::header_with(&secrets, t, body.as_bytes()))
}

/// A delivery job on the notifications queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationJob {
    pub event_id: String,
    /// Deliveries tried so far.
    pub attempt: u32,
    pub due_at: Timestamp,
    /// The change this event announces; the notifier delivers the event only once it has
    /// found exactly this entry stored.
    pub entry: HistoryEntry,
    /// The event as the merchant receives it.
    pub event: Value,
    /// When the job was first queued: a change still not stored a while later never will be.
    pub queued_at: Timestamp,
}

/// How long a job waits for its change to be stored before it is taken as never written.
const UNWRITTEN_AFTER_MS: i64 = 5 * 60 * 1000;

async fn enqueue(app: &App, job: &NotificationJob) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("a notification job serialises");
    send_due(
        app.notifications.as_ref(),
        &body,
        job.due_at,
        app.clock.now(),
    )
    .await
}

/// Queues the notification of a change about to be written (`p` is the payment after it).
/// Call it before the write, and write only if it succeeded.
pub async fn announce(app: &App, h: &HistoryEntry, p: &Payment) -> Result<(), QueueError> {
    let now = app.clock.now();
    enqueue(
        app,
        &NotificationJob {
            event_id: event_id(h),
            attempt: 0,
            due_at: now,
            entry: h.clone(),
            event: event_json(h, p),
            queued_at: now,
        },
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The merchant answered 2xx.
    Delivered(u16),
    /// No webhook URL: the event is in the feed only.
    NoEndpoint,
    /// Failed; the next attempt is scheduled.
    Retrying(u32),
    /// Failed for the last time; parked on the dead-letter queue.
    DeadLettered,
    /// Not due yet; sent on.
    Deferred,
    /// The change the job announces was never stored (its write failed or lost a race).
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("unreadable notification job: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The change may still be on its way to the store: try again shortly.
    #[error("event {0} not stored yet")]
    NotYetStored(String),
}

/// The payment a delivery job is about and its event's place in that payment's sequence:
/// a batch delivers one payment's events one after another, in this order.
pub fn order_of(body: &str) -> Option<(String, u64)> {
    #[derive(Deserialize)]
    struct Keyed {
        entry: Entry,
    }
    #[derive(Deserialize)]
    struct Entry {
        payment_id: PaymentId,
        seq: u64,
    }
    let k: Keyed = serde_json::from_str(body).ok()?;
    Some((k.entry.payment_id.to_string(), k.entry.seq))
}

/// Handles one delivery job.
pub async fn deliver(app: &App, body: &str) -> Result<Delivered, NotifyError> {
    let job: NotificationJob =
        serde_json::from_str(body).map_err(|e| NotifyError::Malformed(e.to_string()))?;
    let now = app.clock.now();
    if job.due_at > now {
        send_due(app.notifications.as_ref(), body, job.due_at, now).await?;
        return Ok(Delivered::Deferred);
    }
    if job.attempt == 0 {
        let (id, seq) = (&job.entry.payment_id, job.entry.seq);
        let stored = if now.millis() - job.queued_at.millis() > 10_000 {
            app.store.payment_version(id, seq).await?
        } else {
            crate::transition::read_soon(|| app.store.payment_version(id, seq)).await?
        };
        match stored {
            Some(v) if v.entry == job.entry => {}
            Some(_) => return Ok(Delivered::Unknown),
            None if now.millis() - job.queued_at.millis() > UNWRITTEN_AFTER_MS => {
                return Ok(Delivered::Unknown)
            }
            None => return Err(NotifyError::NotYetStored(job.event_id)),
        }
    }
    let Some(merchant) = crate::merchant::cached(app, &job.entry.merchant_id).await? else {
        return Ok(Delivered::Unknown);
    };
    let Some(url) = merchant.webhook_url.clone() else {
        return Ok(Delivered::NoEndpoint);
    };
    let payload = job.event.to_string();
    let t = now.unix_seconds();
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("user-agent", "walletpay-webhooks/1".to_string()),
    ];
    if let Some(sig) = signature_header(&merchant, t, &payload, now) {
        headers.push(("walletpay-signature", sig));
    }
    match app.webhooks.post(&url, &headers, &payload).await {
        Ok(status) if (200..300).contains(&status) => return Ok(Delivered::Delivered(status)),
        Ok(status) => {
            tracing::info!(event = %job.event_id, status, attempt = job.attempt, "merchant refused the notification")
        }
        Err(why) => {
            tracing::info!(event = %job.event_id, %why, attempt = job.attempt, "notification not delivered")
        }
    }
    let delays = &app.settings.notification_delays;
    match delays.get(job.attempt as usize) {
        Some(delay) => {
            let next = NotificationJob {
                attempt: job.attempt + 1,
                due_at: now.plus_millis(ms(*delay)),
                ..job
            };
            enqueue(app, &next).await?;
            Ok(Delivered::Retrying(next.attempt))
        }
        None => {
            tracing::error!(event = %job.event_id, attempts = job.attempt + 1, "notification undeliverable; parked on the dead-letter queue");
            app.notifications_dead
                .send(body, std::time::Duration::ZERO)
                .await?;
            Ok(Delivered::DeadLettered)
        }
    }
}

fn cursor_of(key: &str) -> String {
    hex::encode(key.as_bytes())
}

/// `GET /v1/events?after=<cursor>&limit=`: the merchant's events in the order they
/// happened. `next_cursor` is where to continue from (also when nothing new has happened).
pub async fn list_events(
    app: &App,
    merchant: &MerchantId,
    after: Option<&str>,
    limit: Option<&str>,
) -> Result<Reply, ApiError> {
    let invalid =
        |field: &str, m: &str| ApiError::new(400, "invalid_parameter", m.to_string()).field(field);
    let after_key = match after {
        None => None,
        Some(c) => Some(
            hex::decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|k| k.splitn(3, '#').count() == 3)
                .ok_or_else(|| invalid("after", "Not a cursor this API gave out."))?,
        ),
    };
    let limit = match limit {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return Err(invalid("limit", "`limit` is 1 to 200.")),
        },
    };
    let (mut versions, mut more) = app
        .store
        .merchant_events(merchant, after_key.as_deref(), limit)
        .await?;
    // Events are ordered by when they happened, but become visible a moment later (another
    // writer's clock, the index catching up). The feed shows only events older than the
    // settle window, so a cursor never passes an event that has yet to appear.
    let settled = app.clock.now().plus_millis(-ms(app.settings.feed_settle));
    if let Some(cut) = versions.iter().position(|v| v.entry.at > settled) {
        versions.truncate(cut);
        more = true;
    }
    let data: Vec<Value> = versions
        .iter()
        .map(|v| event_json(&v.entry, &v.payment))
        .collect();
    let next = versions
        .last()
        .map(|v| cursor_of(&feed_key(&v.entry)))
        .or_else(|| after.map(str::to_string));
    Ok(Reply::json(
        200,
        json!({"data": data, "next_cursor": next, "has_more": more}).to_string(),
    ))
}

/// `POST /v1/events/{id}/redeliver`: queues one event again.
pub async fn redeliver(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    let not_found = || ApiError::not_found("event");
    let (payment_id, seq) = parse_event_id(id).ok_or_else(not_found)?;
    let v = app
        .store
        .payment_version(&payment_id, seq)
        .await?
        .ok_or_else(not_found)?;
    if &v.entry.merchant_id != merchant {
        return Err(not_found());
    }
    let now = app.clock.now();
    let job = NotificationJob {
        event_id: event_id(&v.entry),
        attempt: 0,
        due_at: now,
        event: event_json(&v.entry, &v.payment),
        entry: v.entry,
        queued_at: now,
    };
    enqueue(app, &job).await.map_err(ApiError::unavailable)?;
    Ok(Reply::json(
        202,
        json!({"id": job.event_id, "redelivery": "queued"}).to_string(),
    ))
}
