//! The bank's answers in our terms: our payment as a bill's references (and back), refund
//! statuses, and amounts (`"150.00"` baht).

use super::wire::Refund;
use crate::adapter::{AdapterError, RefundOutcome};
use walletpay_domain::{Currency, Failure, FailureCode, Money, PaymentId};

/// Our payment's references on the bill: its id's body in upper case, split 20 + 6 (the
/// field limit is 20 characters). The provider reference is the two joined.
pub fn references(id: &PaymentId) -> (String, String) {
    let body = id.body().to_ascii_uppercase();
    let (a, b) = body.split_at(body.len().min(20));
    (a.to_string(), b.to_string())
}

/// The payment a bill's references name.
pub fn payment_of(ref1: &str, ref2: Option<&str>) -> Option<PaymentId> {
    let body = format!("{ref1}{}", ref2.unwrap_or("")).to_ascii_lowercase();
    PaymentId::parse(&format!("{}{body}", PaymentId::PREFIX))
}

pub(crate) fn split_reference(r: &str) -> Result<(String, String), AdapterError> {
    if r.len() < 21
        || !r
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(AdapterError::NotFound);
    }
    Ok((r[..20].to_string(), r[20..].to_string()))
}

/// A refund as the bank answers it. `reversed` (made, then returned by the payer's bank)
/// reaches the worker only for a refund it still waits on, where it is a failure.
pub(crate) fn refund_outcome(r: Refund) -> Result<RefundOutcome, AdapterError> {
    Ok(match r.status.as_str() {
        "succeeded" => RefundOutcome::Succeeded {
            provider_reference: r.refund_id,
        },
        "pending" => RefundOutcome::Pending {
            provider_reference: r.refund_id,
        },
        "failed" | "reversed" => RefundOutcome::Failed {
            failure: Failure::new(
                FailureCode::Unknown,
                Some(
                    r.failure_reason
                        .unwrap_or_else(|| r.status.to_ascii_uppercase()),
                ),
            ),
            provider_reference: Some(r.refund_id),
        },
        other => {
            return Err(AdapterError::Unknown(format!(
                "the bank answered refund status {other:?}"
            )))
        }
    })
}

pub(crate) fn thb(amount: &str) -> Option<Money> {
    Money::parse_decimal(amount, Currency::THB).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_the_payment() {
        let id = PaymentId::parse("pay_01m8ab8makqqg641md11702kgn").unwrap();
        let (r1, r2) = references(&id);
        assert_eq!(r1.len(), 20);
        assert_eq!(format!("{r1}{r2}"), "01M8AB8MAKQQG641MD11702KGN");
        assert_eq!(payment_of(&r1, Some(&r2)), Some(id));
    }
}
