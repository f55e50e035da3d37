//! Providers' webhooks as they arrive, signed with the sandboxes' credentials: a genuine
//! success of each provider, and any body (a fuzzer's mutation of one) signed the way its
//! provider signs, so that what follows the signature check is reached too.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};
use walletpay_wallet_adapter::{adyen, midtrans, stripe, xendit};

pub const PROVIDERS: [&str; 4] = ["xendit", "stripe", "adyen", "midtrans"];

fn headers(pairs: &[(&str, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("content-type", "application/json".parse().unwrap());
    for (k, v) in pairs {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            h.insert(name, value);
        }
    }
    h
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `body` as `provider` would send it: Xendit's callback token, Stripe's timestamped HMAC
/// header, Adyen's HMAC of each item's fields in the item, Midtrans' `signature_key` of its
/// order, status code and gross amount.
pub fn signed(provider: &str, body: &Value) -> (http::HeaderMap, Vec<u8>) {
    match provider {
        "xendit" => (
            headers(&[("x-callback-token", xendit::SANDBOX_CALLBACK_TOKEN.into())]),
            body.to_string().into_bytes(),
        ),
        "stripe" => {
            let now = crate::now().unix_seconds();
            let raw = body.to_string().into_bytes();
            let header = stripe::signature::header(stripe::SANDBOX_WEBHOOK_SECRET, now, &raw);
            (headers(&[("stripe-signature", header)]), raw)
        }
        "adyen" => {
            let mut body = body.clone();
            if let Some(items) = body
                .get_mut("notificationItems")
                .and_then(|v| v.as_array_mut())
            {
                for item in items {
                    let Some(n) = item
                        .as_object_mut()
                        .and_then(|o| o.get_mut("NotificationRequestItem"))
                        .filter(|n| n.is_object())
                    else {
                        continue;
                    };
                    let data = format!(
                        "{}:{}:{}:{}:{}:{}:{}:{}",
                        text(&n["pspReference"]),
                        text(&n["originalReference"]),
                        text(&n["merchantAccountCode"]),
                        text(&n["merchantReference"]),
                        text(&n["amount"]["value"]),
                        text(&n["amount"]["currency"]),
                        text(&n["eventCode"]),
                        text(&n["success"]),
                    );
                    let key = hex::decode(adyen::SANDBOX_HMAC_KEY).unwrap();
                    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                    mac.update(data.as_bytes());
                    let sig = base64::engine::general_purpose::STANDARD
                        .encode(mac.finalize().into_bytes());
                    if !n["additionalData"].is_object() {
                        n["additionalData"] = json!({});
                    }
                    n["additionalData"]["hmacSignature"] = json!(sig);
                }
            }
            (headers(&[]), body.to_string().into_bytes())
        }
        "midtrans" => {
            let mut body = body.clone();
            if body.is_object() {
                let sig = hex::encode(Sha512::digest(
                    format!(
                        "{}{}{}{}",
                        text(&body["order_id"]),
                        text(&body["status_code"]),
                        text(&body["gross_amount"]),
                        midtrans::SANDBOX_SERVER_KEY
                    )
                    .as_bytes(),
                ));
                body["signature_key"] = json!(sig);
            }
            (headers(&[]), body.to_string().into_bytes())
        }
        other => panic!("no signer for {other}"),
    }
}

/// A genuine success webhook of `provider` for `payment` (its body, before signing).
pub fn success(provider: &str, payment: &str) -> Value {
    let now = crate::now().unix_seconds();
    match provider {
        "xendit" => {
            json!({"event": "payment.capture", "business_id": "5f27a14a9bf05c73dd040bc8", "created": "2026-11-25T10:00:00.000Z", "api_version": "v3",
            "data": {"payment_id": "py-1402feb0-bb79-47ae-9d1e-e69394d3949c", "business_id": "5f27a14a9bf05c73dd040bc8", "reference_id": payment,
            "payment_request_id": "pr-1102feb0-bb79-47ae-9d1e-e69394d3949c", "type": "PAY", "country": "ID", "currency": "IDR",
            "request_amount": 150000, "capture_method": "AUTOMATIC", "channel_code": "DANA",
            "captures": [{"capture_id": "cptr-fa2abf5c-b5e4-4cd5-95df-f2c949eba332", "capture_amount": 150000, "capture_timestamp": "2026-11-25T10:00:01.000Z"}],
            "status": "SUCCEEDED", "payment_details": {}, "created": "2026-11-25T10:00:00.000Z", "updated": "2026-11-25T10:00:01.000Z"}})
        }
        "stripe" => {
            json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "created": now, "livemode": false,
            "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent", "amount": 300000, "amount_received": 300000,
            "currency": "thb", "status": "succeeded", "created": now, "metadata": {"payment_id": payment}, "payment_method_types": ["promptpay"]}}})
        }
        "adyen" => {
            json!({"live": "false", "notificationItems": [{"NotificationRequestItem": {"additionalData": {},
            "amount": {"currency": "IDR", "value": 150000}, "eventCode": "AUTHORISATION", "eventDate": "2026-11-25T10:00:00+00:00",
            "merchantAccountCode": adyen::SANDBOX_MERCHANT_ACCOUNT, "merchantReference": payment, "pspReference": "QFQTPCQ8HXSKGK82",
            "paymentMethod": "dana", "reason": "", "success": "true"}}]})
        }
        "midtrans" => {
            json!({"transaction_time": "2026-11-25 17:00:00", "transaction_status": "settlement",
            "transaction_id": "2c4f7a3e-1b6d-4f0a-9b8e-3d2c1a0f9e8d", "status_message": "midtrans payment notification",
            "status_code": "200", "payment_type": "gopay", "order_id": payment,
            "gross_amount": "150000.00", "fraud_status": "accept", "currency": "IDR"})
        }
        other => panic!("no sample for {other}"),
    }
}

/// Every provider's genuine success for `payment`, signed: (provider, headers, body).
pub fn genuine(payment: &str) -> Vec<(&'static str, http::HeaderMap, Vec<u8>)> {
    PROVIDERS
        .iter()
        .map(|p| {
            let (h, b) = signed(p, &success(p, payment));
            (*p, h, b)
        })
        .collect()
}
