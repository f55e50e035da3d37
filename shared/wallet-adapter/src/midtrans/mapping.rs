//! Midtrans's payment types, amounts, transaction statuses, the customer's next action (a
//! QRIS code read back with the domain's strict reader) and QRIS refund windows in our terms.

use super::wire::{Action, Transaction};
use crate::adapter::ProviderStatus;
use walletpay_domain::emv::{EmvError, Qris};
use walletpay_domain::{
    Country, Currency, Failure, FailureCode, Money, NextAction, Timestamp, WalletId,
};

pub fn payment_type(country: Country, wallet: WalletId) -> Option<&'static str> {
    match (country, wallet) {
        (Country::ID, WalletId::Gopay) => Some("gopay"),
        (Country::ID, WalletId::Shopeepay) => Some("shopeepay"),
        (Country::ID, WalletId::Qris) => Some("qris"),
        _ => None,
    }
}

/// Midtrans's times: `2021-06-23 15:46:00`, Jakarta time (UTC+7).
pub fn parse_wib(s: &str) -> Option<Timestamp> {
    let iso = format!("{}+07:00", s.trim().replacen(' ', "T", 1));
    Timestamp::parse_rfc3339(&iso)
}

/// Whether a QRIS payment acquired by GoPay can still be refunded (Midtrans's refund
/// windows: paid with GoPay itself, "on-us", 45 days after settlement; with any other
/// wallet or bank, "off-us", 7 days): `Some(why)` if not.
pub fn qris_refund_refusal(t: &Transaction, now: Timestamp) -> Option<String> {
    let on_us = match t.transaction_type.as_deref() {
        Some("on-us") => true,
        Some("off-us") => false,
        _ => t.issuer.is_some() && t.issuer == t.acquirer,
    };
    let days = if on_us { 45 } else { 7 };
    let Some(settled) = t.settlement_time.as_deref().and_then(parse_wib) else {
        return Some(
            "Midtrans does not say when this QRIS payment was paid, so its refund window cannot be known: refund the customer another way."
                .into(),
        );
    };
    (now.millis() - settled.millis() > days * 24 * 3600 * 1000).then(|| {
        format!(
            "Midtrans refunds a QRIS payment made with {} up to {days} days after it was paid: refund the customer another way.",
            t.issuer.as_deref().unwrap_or("another wallet")
        )
    })
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
/// deeplink; QRIS: the code itself, which must read as QRIS for the payment's `amount` (a
/// code that does not is never shown: `Err`), or where Midtrans sends none (its status
/// answers carry none), the image of it (`generate-qr-code`).
pub fn next_action(t: &Transaction, amount: Money) -> Result<Option<NextAction>, EmvError> {
    let url = |name: &str| {
        t.actions
            .iter()
            .find(|a: &&Action| a.name == name)
            .map(|a| a.url.clone())
    };
    if t.payment_type.as_deref() == Some("qris") {
        let Some(data) = t.qr_string.clone() else {
            return url("generate-qr-code")
                .map(|url| Some(NextAction::Redirect { url }))
                .ok_or(EmvError::Missing("qr_string"));
        };
        let read = Qris::parse(&data)?.amount;
        if read != Some(amount) {
            return Err(EmvError::Invalid {
                field: "54",
                why: format!("the code is for {read:?}, the payment for {amount}"),
            });
        }
        return Ok(Some(NextAction::Qr { data }));
    }
    Ok(url("deeplink-redirect")
        .map(|url| NextAction::Redirect { url })
        .or_else(|| url("generate-qr-code").map(|url| NextAction::Redirect { url })))
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

    #[test]
    fn a_qris_charge_shows_its_code_only_when_it_reads() {
        let code = "00020101021226620014COM.GO-JEK.WWW011993600914349052630340210G4905263030303UKE51440014ID.CO.QRIS.WWW0215AID0607336128660303UKE5204341453033605802ID5904Test6007BANDUNG6105402845409789000.0062475036c032f87c-f773-4619-aefa-675e1f06f9210703A016304A623";
        let amount = Money {
            minor: 78_900_000,
            currency: Currency::IDR,
        };
        let mut q = t("pending");
        q.payment_type = Some("qris".into());
        q.qr_string = Some(code.into());
        assert_eq!(
            next_action(&q, amount).unwrap(),
            Some(NextAction::Qr { data: code.into() })
        );
        let other = Money {
            minor: 100,
            ..amount
        };
        assert!(next_action(&q, other).is_err(), "a code for another amount");
        q.qr_string = Some(code.replace("BANDUNG", "BANDUNX"));
        assert!(
            next_action(&q, amount).is_err(),
            "a code whose CRC fails is never shown"
        );
        q.qr_string = None;
        assert!(next_action(&q, amount).is_err(), "nothing to show");
        q.actions = vec![Action {
            name: "generate-qr-code".into(),
            method: "GET".into(),
            url: "https://api.midtrans.com/v2/qris/x/qr-code".into(),
        }];
        assert_eq!(
            next_action(&q, amount).unwrap(),
            Some(NextAction::Redirect {
                url: "https://api.midtrans.com/v2/qris/x/qr-code".into()
            }),
            "a status answer carries no code: its image"
        );
    }

    #[test]
    fn qris_refunds_have_midtrans_windows() {
        let mut q = t("settlement");
        q.payment_type = Some("qris".into());
        q.acquirer = Some("gopay".into());
        q.settlement_time = Some("2026-11-01 10:00:00".into());
        let settled = parse_wib("2026-11-01 10:00:00").unwrap();
        assert_eq!(settled.to_string(), "2026-11-01T03:00:00.000Z");
        let day = 24 * 3600 * 1000;
        let at = |days: i64| Timestamp(settled.millis() + days * day + 1);
        q.issuer = Some("gopay".into());
        q.transaction_type = Some("on-us".into());
        assert!(qris_refund_refusal(&q, at(44)).is_none());
        assert!(qris_refund_refusal(&q, at(45)).is_some());
        q.issuer = Some("bca".into());
        q.transaction_type = Some("off-us".into());
        assert!(qris_refund_refusal(&q, at(6)).is_none());
        assert!(qris_refund_refusal(&q, at(7)).unwrap().contains("bca"));
        q.settlement_time = None;
        assert!(
            qris_refund_refusal(&q, at(1)).is_some(),
            "no window without a time"
        );
    }
}
