//! Merchant notifications: every state change of a payment or refund is an event.
//!
//! Each change writes its history entry in the same conditional write as the change, and
//! the entry is in the outbox until its notification is queued (the transactional outbox:
//! nothing is sent that was not stored). After the write the writer queues the notification
//! at once; the sweeper queues whatever stayed in the outbox longer than
//! `Settings::outbox_grace` (nothing stored is left unsent). The notifier takes the entry
//! out of the outbox when it first receives the job, then delivers it to the merchant's
//! webhook URL, signed, at least once, retrying after 10 s, 1 min, 5 min, 30 min, 2 h, 6 h,
//! 12 h and 24 h, then parks it on the dead-letter queue (which raises an alarm).
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
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use walletpay_domain::{MerchantId, Payment, PaymentId, Timestamp};
use walletpay_ports::{feed_key, HistoryEntry, Merchant, QueueError, StoreError};

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

/// The event type a history entry is announced as.
pub fn event_type(event: &str) -> &'static str {
    match event {
        "created" => "payment.created",
        "accepted" => "payment.requires_action",
        "succeeded" => "payment.succeeded",
        "failed" => "payment.failed",
        "expired" => "payment.expired",
        "canceled" => "payment.canceled",
        "refund_requested" => "refund.created",
        "refund_succeeded" => "refund.succeeded",
        "refund_failed" => "refund.failed",
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
        "type": event_type(&h.event),
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
        }
    })
}

/// Signs `body` for a merchant at `t` (unix seconds).
pub fn signature_header(merchant: &Merchant, t: i64, body: &str, now: Timestamp) -> Option<String> {
    let current = merchant.webhook_secret.as_deref()?;
    let mut header = format!("t={t},v1={}", hmac_hex(current, t, body));
    if let (Some(prev), Some(until)) = (
        &merchant.previous_webhook_secret,
        merchant.previous_secret_until,
    ) {
        if now < until {
            header.push_str(&format!(",v1={}", hmac_hex(prev, t, body)));
        }
    }
    Some(header)
}

pub fn hmac_hex(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A delivery job on the notifications queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationJob {
    pub event_id: String,
    /// Deliveries tried so far.
    pub attempt: u32,
    pub due_at: Timestamp,
}

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

/// Queues the notification of an entry just written. A failure is logged, not returned:
/// the entry stays in the outbox and the sweeper queues it.
pub async fn notify(app: &App, h: &HistoryEntry) {
    let job = NotificationJob {
        event_id: event_id(h),
        attempt: 0,
        due_at: app.clock.now(),
    };
    if let Err(e) = enqueue(app, &job).await {
        tracing::warn!(event = %job.event_id, error = %e, "notification not queued; the outbox sweeper will");
    }
}

/// Queues every outbox entry older than the grace period; returns how many.
pub async fn sweep_outbox(app: &App) -> Result<usize, StoreError> {
    let before = app.clock.now().plus_millis(-ms(app.settings.outbox_grace));
    let stuck = app.store.outbox_before(before, 500).await?;
    for h in &stuck {
        tracing::warn!(event = %event_id(h), "outbox entry was never queued; queuing it now");
        notify(app, h).await;
    }
    Ok(stuck.len())
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
    /// The event does not exist (a malformed or stale job).
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
    let Some((payment_id, seq)) = parse_event_id(&job.event_id) else {
        return Err(NotifyError::Malformed(format!(
            "bad event id {}",
            job.event_id
        )));
    };
    let (Some(entry), Some(payment)) = (
        app.store.history_entry(&payment_id, seq).await?,
        app.store.get_payment(&payment_id).await?,
    ) else {
        return Ok(Delivered::Unknown);
    };
    if job.attempt == 0 {
        // Queued: the outbox's work for this entry is done.
        app.store.clear_outbox(&payment_id, seq).await?;
    }
    let Some(merchant) = app.store.get_merchant(&payment.merchant_id).await? else {
        return Ok(Delivered::Unknown);
    };
    let Some(url) = merchant.webhook_url.clone() else {
        return Ok(Delivered::NoEndpoint);
    };
    let payload = event_json(&entry, &payment).to_string();
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
                event_id: job.event_id,
                attempt: job.attempt + 1,
                due_at: now.plus_millis(ms(*delay)),
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
    let (entries, more) = app
        .store
        .merchant_events(merchant, after_key.as_deref(), limit)
        .await?;
    let mut data = Vec::with_capacity(entries.len());
    let mut payments: std::collections::HashMap<PaymentId, Payment> =
        std::collections::HashMap::new();
    for h in &entries {
        if !payments.contains_key(&h.payment_id) {
            if let Some(p) = app.store.get_payment(&h.payment_id).await? {
                payments.insert(h.payment_id.clone(), p);
            }
        }
        if let Some(p) = payments.get(&h.payment_id) {
            data.push(event_json(h, p));
        }
    }
    let next = entries
        .last()
        .map(|h| cursor_of(&feed_key(h)))
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
    let entry = app
        .store
        .history_entry(&payment_id, seq)
        .await?
        .ok_or_else(not_found)?;
    if &entry.merchant_id != merchant {
        return Err(not_found());
    }
    let job = NotificationJob {
        event_id: event_id(&entry),
        attempt: 0,
        due_at: app.clock.now(),
    };
    enqueue(app, &job).await.map_err(ApiError::unavailable)?;
    Ok(Reply::json(
        202,
        json!({"id": job.event_id, "redelivery": "queued"}).to_string(),
    ))
}
