//! Midtrans's payment types, amounts and transaction statuses in our terms.

use super::wire::{Action, Transaction};
use crate::adapter::ProviderStatus;
use walletpay_domain::{Country, Currency, Failure, FailureCode, Money, NextAction, WalletId};

pub fn payment_type(country: Country, wallet: WalletId) -> Option<&'static str> {
    match (country, wallet) {
        (Country::ID, WalletId::Gopay) => Some("gopay"),
        (Country::ID, WalletId::Shopeepay) => Some("shopeepay"),
        _ => None,
    }
}

/// Midtrans takes whole rupiah as a JSON integer and refuses decimals.
pub fn gross_amount(m: Money) -> Result<i64, String> {
    if m.currency != Currency::IDR {
        return Err(format!("Midtrans charges IDR only, not {}", m.currency));
    }
    m.whole_major()
        .map_err(|_| format!("{m} has sen; Midtrans takes whole rupiah"))
}

/// `"3000.00"` (how answers and notifications write amounts) in IDR minor units.
pub fn parse_gross(s: &str) -> Option<Money> {
    Money::parse_decimal(s, Currency::IDR).ok()
}

/// A transaction status in our terms. Midtrans reports only that a GoPay or ShopeePay
/// payment was denied, cancelled or expired, never why in more detail.
pub fn transaction_status(t: &Transaction) -> ProviderStatus {
    let failed = |code, raw: &str| ProviderStatus::Failed {
        failure: Failure::new(code, Some(raw.to_string())),
    };
    match t.transaction_status.as_deref() {
        Some("settlement") => ProviderStatus::Succeeded,
        Some("capture") if t.fraud_status.as_deref() != Some("deny") => ProviderStatus::Succeeded,
        // Paid, then (partly) refunded: the charge itself succeeded.
        Some("refund") | Some("partial_refund") => ProviderStatus::Succeeded,
        Some("deny") | Some("capture") => failed(FailureCode::RiskRejected, "deny"),
        Some("cancel") => failed(FailureCode::UserDeclined, "cancel"),
        Some("expire") => failed(FailureCode::AuthorizationTimeout, "expire"),
        Some("failure") => failed(FailureCode::Unknown, "failure"),
        _ => ProviderStatus::Pending,
    }
}

/// GoPay: the deeplink on a phone (the QR code is the other action); ShopeePay: its
/// deeplink.
pub fn next_action(actions: &[Action]) -> Option<NextAction> {
    let url = |name: &str| {
        actions
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.url.clone())
    };
    url("deeplink-redirect")
        .map(|url| NextAction::Redirect { url })
        .or_else(|| url("generate-qr-code").map(|url| NextAction::Redirect { url }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::FailureCategory;

    fn t(status: &str) -> Transaction {
        Transaction {
            status_code: "200".into(),
            transaction_status: Some(status.into()),
            ..Default::default()
        }
    }

    #[test]
    fn idr_goes_as_whole_rupiah() {
        let m = Money {
            minor: 15_000_000,
            currency: Currency::IDR,
        };
        assert_eq!(gross_amount(m), Ok(150_000));
        assert!(gross_amount(Money {
            minor: 15_000_050,
            currency: Currency::IDR
        })
        .is_err());
        assert_eq!(parse_gross("150000.00"), Some(m));
    }

    #[test]
    fn statuses() {
        assert_eq!(
            transaction_status(&t("settlement")),
            ProviderStatus::Succeeded
        );
        assert_eq!(transaction_status(&t("pending")), ProviderStatus::Pending);
        assert_eq!(
            transaction_status(&t("partial_refund")),
            ProviderStatus::Succeeded
        );
        let cat = |s| match transaction_status(&t(s)) {
            ProviderStatus::Failed { failure } => failure.category,
            other => panic!("{other:?}"),
        };
        assert_eq!(cat("expire"), FailureCategory::Expired);
        assert_eq!(cat("deny"), FailureCategory::RiskRejected);
        assert_eq!(cat("cancel"), FailureCategory::UserCancelled);
    }
}
