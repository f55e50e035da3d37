//! Adyen's payment method types, amounts, result codes and refusal reasons in our terms.

use super::wire::{Action, Amount, PaymentResponse};
use crate::adapter::ProviderStatus;
use walletpay_domain::{Country, Currency, Failure, FailureCode, Money, NextAction, WalletId};

/// (country, wallet, Adyen `paymentMethod.type`).
const METHODS: &[(Country, WalletId, &str)] = &[
    (Country::ID, WalletId::Dana, "dana"),
    (Country::ID, WalletId::Gopay, "gopay_wallet"),
    (Country::PH, WalletId::Gcash, "gcash"),
    (Country::VN, WalletId::Momo, "momo_wallet"),
    (Country::MY, WalletId::TouchNGo, "touchngo"),
    (Country::MY, WalletId::Grabpay, "grabpay_MY"),
    (Country::TH, WalletId::Truemoney, "truemoney"),
    (Country::BR, WalletId::Pix, "pix"),
];

pub fn method_type(country: Country, wallet: WalletId) -> Option<&'static str> {
    METHODS
        .iter()
        .find(|(c, w, _)| *c == country && *w == wallet)
        .map(|(_, _, m)| *m)
}

pub fn wallet_for_method(method: &str) -> Option<(Country, WalletId)> {
    METHODS
        .iter()
        .find(|(_, _, m)| *m == method)
        .map(|(c, w, _)| (*c, *w))
}

/// Decimal places Adyen uses for a currency (its own table: IDR and VND have none).
pub fn adyen_exponent(c: Currency) -> u32 {
    match c {
        Currency::IDR | Currency::VND => 0,
        _ => 2,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} cannot be sent to Adyen without losing its fraction")]
pub struct NotRepresentable(pub Money);

/// Our amount (ISO 4217 minor units) in Adyen's exponent: IDR 150,000 is `15000000` here
/// and `150000` at Adyen. An amount with a fraction Adyen's exponent cannot carry (IDR sen)
/// is refused rather than rounded.
pub fn adyen_amount(m: Money) -> Result<Amount, NotRepresentable> {
    let shift = m.currency.exponent() - adyen_exponent(m.currency);
    let factor = 10i64.pow(shift);
    if m.minor % factor != 0 {
        return Err(NotRepresentable(m));
    }
    Ok(Amount {
        currency: m.currency,
        value: m.minor / factor,
    })
}

/// Adyen's amount back in ISO minor units.
pub fn from_adyen(value: i64, currency: Currency) -> Money {
    let shift = currency.exponent() - adyen_exponent(currency);
    Money {
        minor: value * 10i64.pow(shift),
        currency,
    }
}

/// A refusal reason (`refusalReason`, or a notification's `reason`) in our taxonomy; an
/// unknown one is `unknown`.
pub fn failure_from_reason(reason: &str) -> Failure {
    use FailureCode as F;
    let code = match reason {
        "Not enough balance" => F::InsufficientBalance,
        "Cancelled" | "Shopper Cancelled" => F::UserDeclined,
        "FRAUD" | "FRAUD-CANCELLED" | "Blocked Card" => F::RiskRejected,
        "Withdrawal amount exceeded" | "Withdrawal count exceeded" => F::LimitReached,
        "Invalid Card Number" | "Not supported" => F::InvalidAccount,
        "Issuer Unavailable" => F::WalletUnavailable,
        "Acquirer Error" => F::ProviderTimeout,
        "OFFER_CLOSED" | "Expired" => F::AuthorizationTimeout,
        _ => F::Unknown,
    };
    let provider_code = if reason.is_empty() { "Refused" } else { reason };
    Failure::new(code, Some(provider_code.to_string()))
}

/// A `/payments` result code in our terms.
pub fn result_status(r: &PaymentResponse) -> ProviderStatus {
    match r.result_code.as_str() {
        "Authorised" => ProviderStatus::Succeeded,
        "Refused" => ProviderStatus::Failed {
            failure: failure_from_reason(r.refusal_reason.as_deref().unwrap_or("")),
        },
        "Error" => ProviderStatus::Failed {
            failure: Failure::new(
                FailureCode::Unknown,
                Some(r.refusal_reason.clone().unwrap_or_else(|| "Error".into())),
            ),
        },
        "Cancelled" => ProviderStatus::Canceled,
        // Received, Pending, RedirectShopper, PresentToShopper, IdentifyShopper, ...
        _ => ProviderStatus::Pending,
    }
}

/// What the shopper does: follow the redirect, or scan the QR code.
pub fn next_action(a: Option<&Action>) -> Option<NextAction> {
    let a = a?;
    match a.kind.as_str() {
        "qrCode" => a.qr_code_data.clone().map(|data| NextAction::Qr { data }),
        "redirect" => a.url.clone().map(|url| NextAction::Redirect { url }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::FailureCategory;

    #[test]
    fn amounts_follow_adyens_exponents() {
        let idr = Money {
            minor: 15_000_000,
            currency: Currency::IDR,
        };
        assert_eq!(adyen_amount(idr).unwrap().value, 150_000);
        assert_eq!(from_adyen(150_000, Currency::IDR), idr);
        let sen = Money {
            minor: 15_000_050,
            currency: Currency::IDR,
        };
        assert!(
            adyen_amount(sen).is_err(),
            "IDR sen are refused, not rounded"
        );
        let vnd = Money {
            minor: 50_000,
            currency: Currency::VND,
        };
        assert_eq!(adyen_amount(vnd).unwrap().value, 50_000);
        let myr = Money {
            minor: 1_234,
            currency: Currency::MYR,
        };
        assert_eq!(adyen_amount(myr).unwrap().value, 1_234);
    }

    #[test]
    fn reasons_land_in_the_taxonomy() {
        assert_eq!(
            failure_from_reason("Not enough balance").category,
            FailureCategory::InsufficientBalance
        );
        assert_eq!(
            failure_from_reason("FRAUD").category,
            FailureCategory::RiskRejected
        );
        assert_eq!(
            failure_from_reason("Something new").category,
            FailureCategory::Unknown
        );
    }

    #[test]
    fn every_method_is_in_the_catalog_under_adyen() {
        for (country, wallet, _) in METHODS {
            let spec =
                walletpay_domain::catalog::wallet_spec(*country, *wallet).expect("in the catalog");
            assert!(spec.providers.contains(&walletpay_domain::Provider::Adyen));
        }
    }
}
