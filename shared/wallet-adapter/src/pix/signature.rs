//! How API Pix webhooks are authenticated: they are not, at the payload. The PSP calls
//! `POST {webhookUrl}/pix` over mutual TLS, which ends before the request reaches us, and
//! the body carries no signature. So a webhook is only a hint: each item (at most
//! [`MAX_WEBHOOK_ITEMS`] from one body) is an event to confirm with the PSP
//! (`confirm: true`: `GET /cob/{txid}`, then `GET /pix/{e2eid}`, over our own mutual TLS)
//! before anything changes. A forged webhook can cause status queries, never a state.

use super::mapping::{brl, payment_of};
use super::wire::Webhook;
use crate::{ProviderEvent, ProviderStatus, WebhookError};
use walletpay_domain::{Provider, Timestamp};

/// The most items taken from one webhook body.
/// (Each costs up to two calls to the PSP.)
pub const MAX_WEBHOOK_ITEMS: usize = 50;

/// The items of a webhook body, each to be confirmed with the PSP.
pub fn hints(body: &[u8]) -> Result<Vec<ProviderEvent>, WebhookError> {
    let w: Webhook =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if w.pix.len() > MAX_WEBHOOK_ITEMS {
        // Unsigned, so anyone can post one: a long body does not buy that many lookups.
        // The status checks find whatever the rest were about.
        tracing::warn!(
            items = w.pix.len(),
            taken = MAX_WEBHOOK_ITEMS,
            "Pix webhook with more items than are taken from one body"
        );
    }
    Ok(w.pix
        .into_iter()
        .take(MAX_WEBHOOK_ITEMS)
        .filter_map(|p| {
            let txid = p.txid?;
            Some(ProviderEvent {
                provider: Provider::Pix,
                payment_id: payment_of(&txid),
                provider_reference: txid,
                status: ProviderStatus::Succeeded,
                amount: brl(&p.valor),
                occurred_at: Timestamp::parse_rfc3339(&p.horario),
                refund: None,
                confirm: true,
                report: None,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_a_hint_to_confirm_and_a_long_body_is_cut() {
        let item = |i: usize| {
            serde_json::json!({"endToEndId": format!("E{i}"), "txid": "01m8ab8makqqg641md11702kgn",
                "valor": "12.34", "horario": "2026-12-01T10:00:00Z"})
        };
        let mut items: Vec<_> = (0..60).map(item).collect();
        // A Pix received without a charge (a transfer to the key) names no payment: skipped.
        items[1] = serde_json::json!({"endToEndId": "E1", "valor": "5.00", "horario": "2026-12-01T10:00:00Z"});
        let body = serde_json::json!({ "pix": items });
        let events = hints(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            events.len(),
            MAX_WEBHOOK_ITEMS - 1,
            "the first 50 items, less the one without a txid"
        );
        assert!(events.iter().all(|e| e.confirm && e.refund.is_none()));
        let first = &events[0];
        assert_eq!(first.provider, Provider::Pix);
        assert_eq!(
            first.payment_id.as_ref().map(|p| p.as_str()),
            Some("pay_01m8ab8makqqg641md11702kgn")
        );
        assert_eq!(first.provider_reference, "01m8ab8makqqg641md11702kgn");
        assert_eq!(first.amount.unwrap().minor, 1234);
        assert_eq!(
            first.occurred_at,
            Timestamp::parse_rfc3339("2026-12-01T10:00:00Z")
        );
        assert!(first.occurred_at.is_some());
        assert!(matches!(hints(b"{}"), Err(WebhookError::Malformed(_))));
        assert!(matches!(
            hints(b"not json"),
            Err(WebhookError::Malformed(_))
        ));
    }
}
