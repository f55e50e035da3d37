//! DANA's answers in our terms: `latestTransactionStatus` and its text, `responseCode`s of
//! refused requests and refunds, and amounts (`"10000.00"` rupiah).

use super::wire::{Amount, Answer};
use crate::adapter::{AdapterError, ProviderStatus};
use walletpay_domain::{Failure, FailureCode, Money};

pub(crate) fn idr(m: Money) -> Amount {
    Amount {
        value: m.decimal_string(2),
        currency: m.currency.code().to_string(),
    }
}

/// A `transactionStatusDesc` of a failed payment in our taxonomy (DANA writes it as text).
pub(crate) fn failure_from_desc(desc: &str) -> Failure {
    let d = desc.to_ascii_lowercase();
    let code = if d.contains("balance") || d.contains("insufficient") {
        FailureCode::InsufficientBalance
    } else if d.contains("cancel") {
        FailureCode::UserDeclined
    } else if d.contains("expire") {
        FailureCode::AuthorizationTimeout
    } else if d.contains("risk") || d.contains("fraud") {
        FailureCode::RiskRejected
    } else if d.contains("limit") {
        FailureCode::LimitReached
    } else if d.contains("account") || d.contains("frozen") {
        FailureCode::InvalidAccount
    } else if d.contains("timeout") {
        FailureCode::ProviderTimeout
    } else {
        FailureCode::Unknown
    };
    Failure::new(code, Some(desc.to_string()))
}

/// A `latestTransactionStatus` in our terms.
pub fn transaction_status(code: &str, desc: Option<&str>) -> Result<ProviderStatus, AdapterError> {
    Ok(match code {
        "00" | "04" => ProviderStatus::Succeeded,
        "01" | "02" | "03" => ProviderStatus::Pending,
        "05" => ProviderStatus::Failed {
            failure: failure_from_desc(desc.unwrap_or("cancelled")),
        },
        "06" => ProviderStatus::Failed {
            failure: failure_from_desc(desc.unwrap_or("failed")),
        },
        "07" => return Err(AdapterError::NotFound),
        other => {
            return Err(AdapterError::Unknown(format!(
                "unknown DANA transaction status {other}"
            )))
        }
    })
}

/// The case part of a `responseCode` (`4035402` -> `02`), and its HTTP part.
pub(crate) fn parts(code: &str) -> (u16, &str) {
    (
        code.get(..3).and_then(|h| h.parse().ok()).unwrap_or(0),
        code.get(5..).unwrap_or(""),
    )
}

/// An error answer in our terms. Only answers that say the request was refused before DANA
/// acted are declines or refusals; anything else (in progress, conflicts, codes not known
/// here, 5xx) is an unknown outcome: the order or refund may exist.
pub(crate) fn refused(status: u16, a: &Answer) -> AdapterError {
    let (http, case) = parts(&a.response_code);
    let why = format!("DANA {}: {}", a.response_code, a.response_message);
    let declined = |code| AdapterError::Declined(Failure::new(code, Some(a.response_code.clone())));
    match (http.max(status), case) {
        // 400xx00-02: bad request, invalid field format, missing mandatory field.
        (400, "00" | "01" | "02") => AdapterError::Unsupported(why),
        (401, _) => AdapterError::Config(why),
        (403, "02") => declined(FailureCode::LimitReached),
        (403, "14") => declined(FailureCode::InsufficientBalance),
        (403, "05") => declined(FailureCode::RiskRejected),
        // 404xx01: not found. (4045418, another request under this reference, may be ours.)
        (404, "01") => AdapterError::NotFound,
        _ => AdapterError::Unknown(why),
    }
}

/// Refund answers that say DANA refused the refund (nothing was or will be paid out).
pub(crate) fn refund_refused(code: &str) -> bool {
    matches!(
        code,
        "4035813" | "4035815" | "4035814" | "4045801" | "4005801" | "4005802"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(code: &str) -> Answer {
        Answer {
            response_code: code.into(),
            response_message: "m".into(),
            ..Default::default()
        }
    }

    #[test]
    fn response_codes_in_our_terms() {
        let declined = |code: &str| match refused(0, &a(code)) {
            AdapterError::Declined(f) => f.category,
            other => panic!("{code}: {other:?}"),
        };
        use walletpay_domain::FailureCategory as C;
        assert_eq!(declined("4035402"), C::LimitExceeded);
        assert_eq!(declined("4035414"), C::InsufficientBalance);
        assert_eq!(declined("4035405"), C::RiskRejected);
        // Another order under this reference exists: it may be ours.
        assert!(matches!(
            refused(404, &a("4045418")),
            AdapterError::Unknown(_)
        ));
        assert!(matches!(
            refused(404, &a("4045401")),
            AdapterError::NotFound
        ));
        assert!(matches!(
            refused(500, &a("5005400")),
            AdapterError::Unknown(_)
        ));
        assert!(matches!(
            refused(504, &a("5045400")),
            AdapterError::Unknown(_)
        ));
        assert!(matches!(
            refused(401, &a("4015400")),
            AdapterError::Config(_)
        ));
        assert!(matches!(
            refused(400, &a("4005401")),
            AdapterError::Unsupported(_)
        ));
    }

    #[test]
    fn transaction_statuses() {
        assert_eq!(
            transaction_status("00", None).unwrap(),
            ProviderStatus::Succeeded
        );
        assert_eq!(
            transaction_status("03", None).unwrap(),
            ProviderStatus::Pending
        );
        match transaction_status("06", Some("Failed: insufficient balance")).unwrap() {
            ProviderStatus::Failed { failure } => assert_eq!(
                failure.category,
                walletpay_domain::FailureCategory::InsufficientBalance
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            transaction_status("07", None),
            Err(AdapterError::NotFound)
        ));
        assert!(transaction_status("99", None).is_err());
    }
}
