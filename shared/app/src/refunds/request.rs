//! The `POST /v1/payments/{id}/refunds` body: an empty body refunds what is left; otherwise
//! a JSON object read into [`RefundBody`] (paths in errors from `serde_path_to_error`) and
//! then into a [`NewRefund`] of domain values. What the payment allows (how much is still
//! refundable, what its provider can refund) is checked against the payment, not here.

use crate::error::ApiError;
use crate::request::{bad, decode, PositiveAmount};
use serde::Deserialize;
use serde_json::Value;
use walletpay_domain::fields::MerchantReference;
use walletpay_domain::RefundReason;

/// The body as it travels.
#[derive(Debug, Deserialize)]
pub struct RefundBody {
    amount: Option<PositiveAmount>,
    reason: Option<String>,
    merchant_reference: Option<String>,
}

/// A validated refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewRefund {
    /// `None`: whatever is still refundable when the refund is reserved.
    pub amount: Option<i64>,
    pub reason: RefundReason,
    pub merchant_reference: Option<MerchantReference>,
}

impl TryFrom<RefundBody> for NewRefund {
    type Error = ApiError;

    fn try_from(b: RefundBody) -> Result<Self, ApiError> {
        let reason = match b.reason {
            None => RefundReason::RequestedByCustomer,
            Some(s) => RefundReason::parse(&s).ok_or_else(|| {
                bad(
                    "invalid_field",
                    "reason",
                    "`reason` is requested_by_customer, duplicate, fraudulent or other.",
                )
            })?,
        };
        let merchant_reference = b
            .merchant_reference
            .map(|s| {
                MerchantReference::parse(s).map_err(|_| {
                    bad(
                        "invalid_field",
                        "merchant_reference",
                        "`merchant_reference` is a string of 1 to 128 characters.",
                    )
                })
            })
            .transpose()?;
        Ok(NewRefund {
            amount: b.amount.map(|a| a.0),
            reason,
            merchant_reference,
        })
    }
}

/// Parses a refund body (empty or white space: `{}`); also answers it as JSON, for the
/// idempotency key's request hash.
pub(crate) fn parse(body: &[u8]) -> Result<(NewRefund, Value), ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let (wire, value): (RefundBody, Value) = decode(body)?;
    Ok((NewRefund::try_from(wire)?, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> (u16, &'static str, Option<String>, String) {
        let e = parse(body.as_bytes()).unwrap_err();
        (e.status, e.code, e.field, e.message)
    }

    #[test]
    fn an_empty_body_refunds_the_rest_for_the_customer() {
        for body in ["", "  \n", "{}"] {
            let (r, v) = parse(body.as_bytes()).unwrap();
            assert_eq!(r.amount, None);
            assert_eq!(r.reason, RefundReason::RequestedByCustomer);
            assert_eq!(v, serde_json::json!({}));
        }
        let (r, _) =
            parse(br#"{"amount": 5000000, "reason": "duplicate", "merchant_reference": "rf-1"}"#)
                .unwrap();
        assert_eq!(r.amount, Some(5_000_000));
        assert_eq!(r.reason, RefundReason::Duplicate);
        assert_eq!(r.merchant_reference.unwrap().as_str(), "rf-1");
    }

    #[test]
    fn each_fault_keeps_its_code_and_field() {
        for amount in ["0", "-5", "1.5", "\"100\"", "true", "[1]"] {
            let (status, code, field, message) = refused(&format!(r#"{{"amount": {amount}}}"#));
            assert_eq!(
                (status, code, field.as_deref()),
                (400, "amount_invalid", Some("amount"))
            );
            assert_eq!(
                message,
                "`amount` must be a positive integer in minor units."
            );
        }
        let (_, code, field, _) = refused(r#"{"reason": "because"}"#);
        assert_eq!((code, field.as_deref()), ("invalid_field", Some("reason")));
        let (_, code, field, message) = refused(r#"{"reason": 3}"#);
        assert_eq!((code, field.as_deref()), ("invalid_field", Some("reason")));
        assert_eq!(message, "`reason` must be a string.");
        for reference in [
            "\"\"",
            &format!("\"{}\"", "r".repeat(129)),
            "\"a\\u0000b\"",
            "7",
        ] {
            let (_, code, field, _) = refused(&format!(r#"{{"merchant_reference": {reference}}}"#));
            assert_eq!(
                (code, field.as_deref()),
                ("invalid_field", Some("merchant_reference")),
                "{reference}"
            );
        }
        assert_eq!(refused("[1]").1, "invalid_json");
        assert_eq!(refused("{\"amount\":").1, "invalid_json");
    }
}
