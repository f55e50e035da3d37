//! Reading payments: `GET /v1/payments/{id}` (optionally asking the provider first),
//! `GET /v1/payments` (the merchant's, newest first, with filters and cursors) and
//! `GET /v1/payments/{id}/events` (a payment's history).

use super::transition_error;
use crate::app::App;
use crate::error::{ApiError, Reply};
use crate::view::payment_json;
use walletpay_domain::{Lang, MerchantId, Payment, PaymentId, PaymentStatus, WalletId};

/// The merchant's own payment, or 404 (also for another merchant's payment, so ids reveal
/// nothing).
pub async fn load_own(app: &App, merchant: &MerchantId, id: &str) -> Result<Payment, ApiError> {
    let id = PaymentId::parse(id).ok_or_else(|| ApiError::not_found("payment"))?;
    match app.store.get_payment(&id).await? {
        Some(p) if &p.merchant_id == merchant => Ok(p),
        _ => Err(ApiError::not_found("payment")),
    }
}

/// `GET /v1/payments/{id}`; with `refresh`, asks the provider first.
pub async fn get_payment(
    app: &App,
    merchant: &MerchantId,
    id: &str,
    refresh: bool,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let mut p = load_own(app, merchant, id).await?;
    if refresh && !matches!(p.status, PaymentStatus::Succeeded | PaymentStatus::Failed) {
        p = crate::status::refresh(app, p, "refresh")
            .await
            .map_err(transition_error)?;
    }
    Ok(Reply::json(200, payment_json(app, &p, lang)))
}

/// The query of `GET /v1/payments`, as the API received it.
#[derive(Debug, Default)]
pub struct ListParams<'a> {
    pub status: Option<&'a str>,
    pub wallet: Option<&'a str>,
    pub country: Option<&'a str>,
    pub created_after: Option<&'a str>,
    pub created_before: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, "invalid_parameter", message.to_string()).field(field)
}

/// An opaque cursor: the hex of the last listed payment's listing key.
fn encode_cursor(key: &str) -> String {
    hex::encode(key.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = hex::decode(cursor).ok()?;
    let key = String::from_utf8(bytes).ok()?;
    let (at, id) = key.split_once('#')?;
    (walletpay_domain::Timestamp::parse_rfc3339(at).is_some() && PaymentId::parse(id).is_some())
        .then_some(key)
}

/// `GET /v1/payments`: the merchant's payments, newest first, from the merchant index.
pub async fn list_payments(
    app: &App,
    merchant: &MerchantId,
    params: &ListParams<'_>,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let time =
        |v: Option<&str>, field: &str| -> Result<Option<walletpay_domain::Timestamp>, ApiError> {
            v.map(|s| {
                walletpay_domain::Timestamp::parse_rfc3339(s)
                    .ok_or_else(|| invalid(field, "Times are RFC 3339, like 2026-11-25T00:00:00Z."))
            })
            .transpose()
        };
    let query = walletpay_ports::PaymentQuery {
        status: params
            .status
            .map(|s| {
                PaymentStatus::parse(s).ok_or_else(|| invalid("status", "Not a payment status."))
            })
            .transpose()?,
        wallet: params
            .wallet
            .map(|s| WalletId::parse(s).ok_or_else(|| invalid("wallet", "Not a wallet id.")))
            .transpose()?,
        country: params
            .country
            .map(|s| {
                walletpay_domain::Country::parse(s)
                    .ok_or_else(|| invalid("country", "Not a served country."))
            })
            .transpose()?,
        created_after: time(params.created_after, "created_after")?,
        created_before: time(params.created_before, "created_before")?,
        limit: match params.limit {
            None => 20,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(invalid("limit", "`limit` is 1 to 100.")),
            },
        },
        after_key: params
            .cursor
            .map(|c| {
                decode_cursor(c).ok_or_else(|| invalid("cursor", "Not a cursor this API gave out."))
            })
            .transpose()?,
    };
    let (payments, next) = app.store.list_payments(merchant, &query).await?;
    let next_cursor = next.as_deref().map(encode_cursor);
    let data: Vec<crate::view::PaymentView<'_>> = payments
        .iter()
        .map(|p| crate::view::PaymentView::render(app, p, lang))
        .collect();
    let body = serde_json::json!({ "data": data, "next_cursor": next_cursor });
    Ok(Reply::json(200, body.to_string()))
}

/// `GET /v1/payments/{id}/events`: the payment's history, oldest first.
pub async fn payment_events(app: &App, merchant: &MerchantId, id: &str) -> Result<Reply, ApiError> {
    let p = load_own(app, merchant, id).await?;
    let history = app.store.payment_history(&p.id).await?;
    let data: Vec<serde_json::Value> = history
        .iter()
        .map(|h| {
            serde_json::json!({
                "seq": h.seq,
                "event": h.event,
                "from": h.from.map(PaymentStatus::as_str),
                "to": h.to.as_str(),
                "source": h.source,
                "detail": h.detail,
                "at": h.at,
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        serde_json::json!({ "data": data, "next_cursor": null }).to_string(),
    ))
}
