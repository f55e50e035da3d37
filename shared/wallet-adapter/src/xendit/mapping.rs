//! Xendit channels, amounts, statuses and failure codes in our terms.

use super::wire::{Actions, Charge};
use crate::adapter::{AdapterError, ProviderStatus};
use walletpay_domain::{
    Country, Currency, Failure, FailureCode, Money, MoneyError, NextAction, WalletId,
};

/// (country, wallet, Xendit channel code).
const CHANNELS: &[(Country, WalletId, &str)] = &[
    (Country::ID, WalletId::Dana, "ID_DANA"),
    (Country::ID, WalletId::Ovo, "ID_OVO"),
    (Country::ID, WalletId::Shopeepay, "ID_SHOPEEPAY"),
    (Country::ID, WalletId::Linkaja, "ID_LINKAJA"),
    (Country::PH, WalletId::Gcash, "PH_GCASH"),
    (Country::PH, WalletId::Maya, "PH_PAYMAYA"),
    (Country::PH, WalletId::Grabpay, "PH_GRABPAY"),
    (Country::VN, WalletId::Momo, "VN_MOMO"),
    (Country::VN, WalletId::Zalopay, "VN_ZALOPAY"),
    (Country::TH, WalletId::Truemoney, "TH_TRUEMONEY"),
    (Country::TH, WalletId::RabbitLinePay, "TH_LINEPAY"),
    (Country::TH, WalletId::Shopeepay, "TH_SHOPEEPAY"),
];

pub fn channel_code(country: Country, wallet: WalletId) -> Option<&'static str> {
    CHANNELS
        .iter()
        .find(|(c, w, _)| *c == country && *w == wallet)
        .map(|(_, _, code)| *code)
}

pub fn wallet_for_channel(code: &str) -> Option<(Country, WalletId)> {
    CHANNELS
        .iter()
        .find(|(_, _, c)| *c == code)
        .map(|(country, wallet, _)| (*country, *wallet))
}

/// The JSON number literal Xendit wants: major units, whole for IDR and VND.
pub fn amount_literal(amount: Money) -> Result<String, MoneyError> {
    match amount.currency {
        Currency::IDR | Currency::VND => amount.whole_major().map(|m| m.to_string()),
        c => {
            let s = amount.decimal_string(c.exponent());
            // "100.50" and "100" are both valid JSON numbers; drop a zero fraction.
            Ok(s.strip_suffix(".00").map(str::to_string).unwrap_or(s))
        }
    }
}

/// Reads an amount literal from Xendit back into minor units.
pub fn parse_amount(literal: &str, currency: Currency) -> Result<Money, MoneyError> {
    Money::parse_decimal(literal.trim(), currency)
}

/// Xendit's failure codes onto our taxonomy. An unknown code maps to `unknown`.
pub fn failure_from_code(code: &str) -> Failure {
    use FailureCode as F;
    let ours = match code {
        "INSUFFICIENT_BALANCE" => F::InsufficientBalance,
        "USER_DECLINED_PAYMENT" | "USER_DECLINED_THE_TRANSACTION" | "USER_CANCELLED" => {
            F::UserDeclined
        }
        "USER_DID_NOT_AUTHORIZE_THE_PAYMENT" | "EXPIRED" => F::AuthorizationTimeout,
        "ACCOUNT_ACCESS_BLOCKED" => F::AccountBlocked,
        "MAXIMUM_LIMIT_REACHED" | "CHARGE_LIMIT_EXCEEDED" => F::LimitReached,
        "CHANNEL_UNAVAILABLE" | "CHANNEL_NOT_ACTIVATED" | "SERVER_ERROR" => F::WalletUnavailable,
        "USER_UNREACHABLE" => F::WalletUnreachable,
        "PARTNER_TIMEOUT_ERROR" | "TIMEOUT_ERROR" => F::ProviderTimeout,
        "INVALID_ACCOUNT_DETAILS" => F::InvalidAccount,
        "ACCOUNT_NOT_ACTIVATED" => F::AccountNotActivated,
        "INVALID_MERCHANT_CREDENTIALS" | "INVALID_API_KEY" | "INVALID_TOKEN" => {
            F::MerchantAuthenticationFailed
        }
        "DUPLICATE_PAYMENT_REQUEST_ERROR" | "DUPLICATE_ERROR" => F::DuplicateRequest,
        _ => F::Unknown,
    };
    Failure::new(ours, Some(code.to_string()))
}

/// A charge's `status` (and `failure_code`) in our terms.
pub fn charge_status(charge: &Charge) -> Result<ProviderStatus, AdapterError> {
    match charge.status.as_str() {
        "PENDING" => Ok(ProviderStatus::Pending),
        // A voided charge keeps SUCCEEDED with `void_status`; a SUCCEEDED charge is money
        // taken, and refunds of it are tracked separately.
        "SUCCEEDED" => Ok(ProviderStatus::Succeeded),
        "FAILED" => Ok(ProviderStatus::Failed {
            failure: failure_from_code(charge.failure_code.as_deref().unwrap_or("UNKNOWN")),
        }),
        "VOIDED" => Ok(ProviderStatus::Canceled),
        other => Err(AdapterError::Unknown(format!(
            "unrecognised Xendit charge status {other:?}"
        ))),
    }
}

/// Our refund reasons in Xendit's words.
pub fn refund_reason(reason: walletpay_domain::RefundReason) -> &'static str {
    use walletpay_domain::RefundReason as R;
    match reason {
        R::RequestedByCustomer => "REQUESTED_BY_CUSTOMER",
        R::Duplicate => "DUPLICATE",
        R::Fraudulent => "FRAUDULENT",
        R::Other => "OTHERS",
    }
}

/// A refund object's `status` in our terms.
pub fn refund_outcome(r: &super::wire::RefundObject) -> Result<crate::RefundOutcome, AdapterError> {
    use crate::RefundOutcome as O;
    match r.status.as_str() {
        "PENDING" => Ok(O::Pending {
            provider_reference: r.id.clone(),
        }),
        "SUCCEEDED" => Ok(O::Succeeded {
            provider_reference: r.id.clone(),
        }),
        "FAILED" => Ok(O::Failed {
            provider_reference: Some(r.id.clone()),
            failure: failure_from_code(r.failure_code.as_deref().unwrap_or("UNKNOWN")),
        }),
        other => Err(AdapterError::Unknown(format!(
            "unrecognised Xendit refund status {other:?}"
        ))),
    }
}

/// What the customer does next. OVO pushes to the app (no URL). Elsewhere the mobile deep
/// link wins (social-commerce shoppers are on their phones), then the mobile web page, then
/// the desktop page, then a QR string.
pub fn next_action(channel_code: &str, actions: Option<&Actions>) -> Option<NextAction> {
    let a = actions.cloned().unwrap_or_default();
    if let Some(url) = a.mobile_deeplink_checkout_url {
        return Some(NextAction::Deeplink { url });
    }
    if let Some(url) = a.mobile_web_checkout_url.or(a.desktop_web_checkout_url) {
        return Some(NextAction::Redirect { url });
    }
    if let Some(data) = a.qr_checkout_string {
        return Some(NextAction::Qr { data });
    }
    (channel_code == "ID_OVO").then(|| NextAction::Push {
        message: "Open the OVO app and approve the payment.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::FailureCategory;

    #[test]
    fn idr_goes_to_xendit_as_whole_rupiah() {
        let m = Money::positive(15_000_000, Currency::IDR).unwrap();
        assert_eq!(amount_literal(m).unwrap(), "150000");
        assert!(amount_literal(Money::positive(15_000_050, Currency::IDR).unwrap()).is_err());
        assert_eq!(parse_amount("150000", Currency::IDR).unwrap(), m);
    }

    #[test]
    fn peso_centavos_are_kept_exactly() {
        let m = Money::positive(10_050, Currency::PHP).unwrap();
        assert_eq!(amount_literal(m).unwrap(), "100.50");
        assert_eq!(
            amount_literal(Money::positive(10_000, Currency::PHP).unwrap()).unwrap(),
            "100"
        );
        assert_eq!(parse_amount("100.5", Currency::PHP).unwrap(), m);
        assert_eq!(
            amount_literal(Money::positive(25_000, Currency::VND).unwrap()).unwrap(),
            "25000"
        );
    }

    #[test]
    fn failure_codes_land_in_the_right_category() {
        use FailureCategory as C;
        for (code, cat) in [
            ("INSUFFICIENT_BALANCE", C::InsufficientBalance),
            ("USER_DECLINED_PAYMENT", C::UserCancelled),
            ("USER_DID_NOT_AUTHORIZE_THE_PAYMENT", C::Expired),
            ("ACCOUNT_ACCESS_BLOCKED", C::RiskRejected),
            ("MAXIMUM_LIMIT_REACHED", C::LimitExceeded),
            ("CHANNEL_UNAVAILABLE", C::WalletUnavailable),
            ("USER_UNREACHABLE", C::WalletUnavailable),
            ("PARTNER_TIMEOUT_ERROR", C::NetworkError),
            ("INVALID_ACCOUNT_DETAILS", C::InvalidAccount),
            ("ACCOUNT_NOT_ACTIVATED", C::InvalidAccount),
            ("INVALID_MERCHANT_CREDENTIALS", C::AuthenticationFailed),
            ("SOMETHING_NEW", C::Unknown),
        ] {
            let f = failure_from_code(code);
            assert_eq!(f.category, cat, "{code}");
            assert_eq!(f.provider_code.as_deref(), Some(code));
        }
    }

    #[test]
    fn every_channel_maps_back_to_its_wallet() {
        for (country, wallet, code) in CHANNELS {
            assert_eq!(channel_code(*country, *wallet), Some(*code));
            assert_eq!(wallet_for_channel(code), Some((*country, *wallet)));
            let spec = walletpay_domain::catalog::wallet_spec(*country, *wallet)
                .expect("every Xendit channel is in the catalog");
            assert!(
                spec.providers.contains(&walletpay_domain::Provider::Xendit),
                "{code}"
            );
        }
    }

    #[test]
    fn next_action_prefers_the_deeplink_and_pushes_for_ovo() {
        let a = Actions {
            desktop_web_checkout_url: Some("https://d".into()),
            mobile_web_checkout_url: Some("https://m".into()),
            mobile_deeplink_checkout_url: None,
            qr_checkout_string: Some("qr".into()),
        };
        assert_eq!(
            next_action("ID_DANA", Some(&a)),
            Some(NextAction::Redirect {
                url: "https://m".into()
            })
        );
        assert!(matches!(
            next_action("ID_OVO", None),
            Some(NextAction::Push { .. })
        ));
        assert_eq!(next_action("ID_DANA", None), None);
    }
}
