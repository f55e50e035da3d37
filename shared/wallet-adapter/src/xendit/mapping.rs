//! Xendit in our terms: channel codes, amounts, payment request and refund statuses, failure
//! codes, the customer's next action (every QR read back with the domain's strict EMV
//! reader), and what each channel can refund.

use super::wire::{Action, Payment, PaymentRequest, Refund};
use crate::adapter::{AdapterError, ProviderStatus, RefundOutcome};
use walletpay_domain::emv::{self, EmvError, QrPh, Qris};
use walletpay_domain::{
    Country, Currency, Failure, FailureCode, Money, MoneyError, NextAction, Timestamp, WalletId,
};

/// (country, wallet, v3 channel code). v3 drops the legacy country prefix; ShopeePay's code
/// is the same in every country, told apart by `country`.
const CHANNELS: &[(Country, WalletId, &str)] = &[
    (Country::ID, WalletId::Dana, "DANA"),
    (Country::ID, WalletId::Ovo, "OVO"),
    (Country::ID, WalletId::Shopeepay, "SHOPEEPAY"),
    (Country::ID, WalletId::Linkaja, "LINKAJA"),
    (Country::ID, WalletId::Qris, "QRIS"),
    (Country::PH, WalletId::Gcash, "GCASH"),
    (Country::PH, WalletId::Maya, "PAYMAYA"),
    (Country::PH, WalletId::Grabpay, "GRABPAY"),
    (Country::PH, WalletId::Qrph, "QRPH"),
    (Country::VN, WalletId::Momo, "MOMO"),
    (Country::VN, WalletId::Zalopay, "ZALOPAY"),
    (Country::TH, WalletId::Truemoney, "TRUEMONEY"),
    (Country::TH, WalletId::RabbitLinePay, "LINEPAY"),
    (Country::TH, WalletId::Shopeepay, "SHOPEEPAY"),
];

pub fn channel_code(country: Country, wallet: WalletId) -> Option<&'static str> {
    CHANNELS
        .iter()
        .find(|(c, w, _)| *c == country && *w == wallet)
        .map(|(_, _, code)| *code)
}

pub fn wallet_for_channel(country: Country, code: &str) -> Option<WalletId> {
    CHANNELS
        .iter()
        .find(|(c, _, k)| *c == country && *k == code)
        .map(|(_, wallet, _)| *wallet)
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

/// Reads an amount from Xendit back into minor units: a JSON number, or (as some of
/// Xendit's examples write it) a string holding one.
pub fn parse_amount(literal: &str, currency: Currency) -> Result<Money, MoneyError> {
    Money::parse_decimal(literal.trim().trim_matches('"'), currency)
}

/// Xendit's failure codes onto our taxonomy (v3's, and the legacy names a webhook of an old
/// charge can still carry). An unknown code maps to `unknown`.
pub fn failure_from_code(code: &str) -> Failure {
    use FailureCode as F;
    let ours = match code {
        "INSUFFICIENT_BALANCE" => F::InsufficientBalance,
        "USER_DECLINED_PAYMENT" => F::UserDeclined,
        "USER_DID_NOT_AUTHORIZE"
        | "USER_DID_NOT_AUTHORIZE_THE_PAYMENT"
        | "PAYMENT_REQUEST_EXPIRED" => F::AuthorizationTimeout,
        "ACCOUNT_ACCESS_BLOCKED" => F::AccountBlocked,
        "PAYMENT_AMOUNT_LIMITS_EXCEEDED"
        | "PAYMENT_ATTEMPT_COUNTS_EXCEEDED"
        | "MAXIMUM_LIMIT_REACHED" => F::LimitReached,
        "CHANNEL_UNAVAILABLE"
        | "ISSUER_UNAVAILABLE"
        | "SERVER_ERROR"
        | "INVALID_MERCHANT_SETTINGS" => F::WalletUnavailable,
        "USER_DEVICE_UNREACHABLE" | "USER_UNREACHABLE" => F::WalletUnreachable,
        "PARTNER_TIMEOUT_ERROR" | "TIMEOUT_ERROR" => F::ProviderTimeout,
        "INVALID_ACCOUNT_DETAILS" => F::InvalidAccount,
        "ACCOUNT_NOT_ACTIVATED" => F::AccountNotActivated,
        "INVALID_API_KEY" | "INVALID_TOKEN" => F::MerchantAuthenticationFailed,
        "DUPLICATE_ERROR" => F::DuplicateRequest,
        _ => F::Unknown,
    };
    Failure::new(ours, Some(code.to_string()))
}

fn status_of(status: &str, failure_code: Option<&str>) -> Result<ProviderStatus, AdapterError> {
    match status {
        // Waiting for the customer (or, pending, for the wallet's answer).
        "REQUIRES_ACTION" | "PENDING" | "ACCEPTING_PAYMENTS" => Ok(ProviderStatus::Pending),
        // Cards with manual capture only; with our automatic capture it must not happen.
        "AUTHORIZED" => {
            tracing::error!("Xendit answered AUTHORIZED for an automatic capture");
            Err(AdapterError::Unknown(
                "Xendit answered AUTHORIZED for an automatic capture".into(),
            ))
        }
        "SUCCEEDED" => Ok(ProviderStatus::Succeeded),
        "FAILED" => Ok(ProviderStatus::Failed {
            failure: failure_from_code(failure_code.unwrap_or("FAILURE_DETAILS_UNAVAILABLE")),
        }),
        "CANCELED" => Ok(ProviderStatus::Canceled),
        "EXPIRED" => Ok(ProviderStatus::Expired),
        other => Err(AdapterError::Unknown(format!(
            "unrecognised Xendit status {other:?}"
        ))),
    }
}

/// A payment request's `status` (and `failure_code`) in our terms.
pub fn request_status(pr: &PaymentRequest) -> Result<ProviderStatus, AdapterError> {
    status_of(&pr.status, pr.failure_code.as_deref())
}

/// A payment's `status` (a payment webhook's `data`) in our terms.
pub fn payment_status(p: &Payment) -> Result<ProviderStatus, AdapterError> {
    status_of(&p.status, p.failure_code.as_deref())
}

/// What a payment took: the sum of its captures, else what was asked.
pub fn payment_amount(p: &Payment) -> Option<Money> {
    let currency: Currency = p.currency.parse().ok()?;
    if p.captures.is_empty() {
        return parse_amount(p.request_amount.get(), currency).ok();
    }
    let mut total = 0i64;
    for c in &p.captures {
        total += parse_amount(c.capture_amount.get(), currency).ok()?.minor;
    }
    Some(Money {
        minor: total,
        currency,
    })
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

/// A refund's `failure_code` in our terms: the customer's account (`ACCOUNT_ACCESS_BLOCKED`,
/// `ACCOUNT_NOT_FOUND`) or a duplicate; `INSUFFICIENT_BALANCE` is the merchant's balance at
/// Xendit, not the customer's, and like `REFUND_FAILED` tells no more than that it failed.
pub fn refund_failure(code: &str) -> Failure {
    let ours = match code {
        "ACCOUNT_ACCESS_BLOCKED" | "ACCOUNT_NOT_FOUND" => FailureCode::InvalidAccount,
        "DUPLICATE_ERROR" => FailureCode::DuplicateRequest,
        _ => FailureCode::Unknown,
    };
    Failure::new(ours, Some(code.to_string()))
}

/// A refund's `status` in our terms (note Xendit spells a refund's `CANCELLED` with two Ls).
pub fn refund_outcome(r: &Refund) -> Result<RefundOutcome, AdapterError> {
    match r.status.as_str() {
        "PENDING" => Ok(RefundOutcome::Pending {
            provider_reference: r.id.clone(),
        }),
        "SUCCEEDED" => Ok(RefundOutcome::Succeeded {
            provider_reference: r.id.clone(),
        }),
        "FAILED" | "CANCELLED" => Ok(RefundOutcome::Failed {
            provider_reference: Some(r.id.clone()),
            failure: refund_failure(r.failure_code.as_deref().unwrap_or(&r.status)),
        }),
        other => Err(AdapterError::Unknown(format!(
            "unrecognised Xendit refund status {other:?}"
        ))),
    }
}

/// The QR a channel shows, read strictly (QRIS codes as QRIS, QR Ph codes as QR Ph, any
/// other, such as ShopeePay's desktop code, as an EMV merchant-presented code, down to every
/// nested field), and for the payment's own amount: a static code, or one for another
/// amount, is not this payment's.
pub fn check_qr(channel: &str, data: &str, amount: Money) -> Result<(), EmvError> {
    let read = match channel {
        "QRIS" => Qris::parse(data)?.amount,
        "QRPH" => QrPh::parse(data)?.amount,
        _ => {
            emv::parse_strict(data)?;
            return Ok(());
        }
    };
    if read != Some(amount) {
        return Err(EmvError::Invalid {
            field: "54",
            why: format!("the code is for {read:?}, the payment for {amount}"),
        });
    }
    Ok(())
}

/// What the customer does next. The national QR channels show their code (one that does not
/// read, or none at all, is `Err`: nobody could pay it). Elsewhere the deep link wins
/// (social-commerce shoppers are on their phones), then the web page, then a QR (checked
/// only when it is the one shown). A push channel (OVO) answers with no action at all.
pub fn next_action(
    channel: &str,
    actions: &[Action],
    amount: Money,
) -> Result<Option<NextAction>, EmvError> {
    let find = |descriptor: &str| {
        actions
            .iter()
            .find(|a| a.descriptor == descriptor)
            .map(|a| a.value.clone())
    };
    if matches!(channel, "QRIS" | "QRPH") {
        let data = find("QR_STRING").ok_or(EmvError::Missing("QR_STRING"))?;
        check_qr(channel, &data, amount)?;
        return Ok(Some(NextAction::Qr { data }));
    }
    if let Some(url) = find("DEEPLINK_URL") {
        return Ok(Some(NextAction::Deeplink { url }));
    }
    if let Some(url) = find("WEB_URL") {
        return Ok(Some(NextAction::Redirect { url }));
    }
    if let Some(data) = find("QR_STRING") {
        check_qr(channel, &data, amount)?;
        return Ok(Some(NextAction::Qr { data }));
    }
    Ok((channel == "OVO").then(|| NextAction::Push {
        message: "Open the OVO app and approve the payment.".into(),
    }))
}

/// What a channel can never refund, or not in part (Xendit's channel pages): `Some(why)`.
pub fn refund_refusal(channel: &str, partial: bool) -> Option<String> {
    match channel {
        "OVO" => Some(
            "OVO refunds at Xendit are only for merchant-initiated payments: refund the customer another way."
                .into(),
        ),
        "QRPH" => Some(
            "QR Ph payments cannot be refunded through Xendit: refund the customer another way (a transfer)."
                .into(),
        ),
        "TRUEMONEY" | "LINEPAY" => Some(format!(
            "{} payments cannot be refunded through Xendit yet: refund the customer another way.",
            if channel == "LINEPAY" { "LINE Pay" } else { "TrueMoney" }
        )),
        "LINKAJA" if partial => Some(
            "LinkAja payments can only be refunded in full through Xendit.".into(),
        ),
        _ => None,
    }
}

/// The issuers of Xendit's QRIS refund table, under the names a payment may carry
/// (`payment_details.issuer_name`: its exact spelling is not published, so each issuer's
/// usual names are listed, compared in capitals with spaces and punctuation removed).
const QRIS_ISSUERS: &[(&str, &[&str])] = &[
    ("DANA", &["DANA", "DANAINDONESIA"]),
    ("ShopeePay", &["SHOPEEPAY", "SHOPEE", "AIRPAY"]),
    ("OVO", &["OVO"]),
    ("GoPay", &["GOPAY", "GOJEK"]),
    ("CIMB", &["CIMB", "CIMBNIAGA", "BANKCIMBNIAGA"]),
    ("Permata", &["PERMATA", "PERMATABANK", "BANKPERMATA"]),
    (
        "Jenius / SMBC",
        &[
            "JENIUS",
            "SMBC",
            "JENIUSSMBC",
            "SMBCINDONESIA",
            "BTPN",
            "BANKBTPN",
        ],
    ),
    ("BSI", &["BSI", "BANKSYARIAHINDONESIA"]),
];

/// How long after a payment a QRIS refund can be asked for (Xendit's QRIS channel page: 7
/// days; its overview says 30, the shorter is kept).
pub const QRIS_REFUND_DAYS: i64 = 7;

/// The issuer of Xendit's QRIS refund table a payment's `issuer_name` names, if any.
pub fn qris_issuer(issuer_name: &str) -> Option<&'static str> {
    let key: String = issuer_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    QRIS_ISSUERS
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(name, _)| *name)
}

/// Whether the issuer a QRIS payment was paid with takes this refund, after Xendit's QRIS
/// issuer table: DANA, ShopeePay, OVO, GoPay, Permata, Jenius/SMBC and BSI take full and
/// partial refunds; CIMB no full refund within 24 hours of the payment; any other issuer
/// none; and none after [`QRIS_REFUND_DAYS`].
pub fn qris_refund_refusal(
    issuer: Option<&str>,
    partial: bool,
    paid_at: Option<Timestamp>,
    now: Timestamp,
) -> Option<String> {
    let (Some(name), Some(paid_at)) = (issuer, paid_at) else {
        return Some(
            "Xendit does not say which wallet or bank paid this QRIS payment, or when, so it cannot be refunded through Xendit."
                .into(),
        );
    };
    let Some(known) = qris_issuer(name) else {
        return Some(format!(
            "QRIS payments made with {name} cannot be refunded through Xendit: refund the customer another way."
        ));
    };
    let age = now.millis() - paid_at.millis();
    if age > QRIS_REFUND_DAYS * 24 * 3600 * 1000 {
        return Some(format!(
            "A QRIS payment can be refunded through Xendit up to {QRIS_REFUND_DAYS} days after it was paid: refund the customer another way."
        ));
    }
    if known == "CIMB" && !partial && age < 24 * 3600 * 1000 {
        return Some(
            "A QRIS payment made with CIMB can only be refunded in full from 24 hours after the payment: refund part of it, or try again later."
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::FailureCategory;

    fn action(kind: &str, descriptor: &str, value: &str) -> Action {
        Action {
            kind: kind.into(),
            descriptor: descriptor.into(),
            value: value.into(),
        }
    }

    #[test]
    fn idr_goes_to_xendit_as_whole_rupiah() {
        let m = Money::positive(15_000_000, Currency::IDR).unwrap();
        assert_eq!(amount_literal(m).unwrap(), "150000");
        assert!(amount_literal(Money::positive(15_000_050, Currency::IDR).unwrap()).is_err());
        assert_eq!(parse_amount("150000", Currency::IDR).unwrap(), m);
        assert_eq!(parse_amount("\"150000\"", Currency::IDR).unwrap(), m);
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
            ("USER_DID_NOT_AUTHORIZE", C::Expired),
            ("PAYMENT_REQUEST_EXPIRED", C::Expired),
            ("ACCOUNT_ACCESS_BLOCKED", C::RiskRejected),
            ("PAYMENT_AMOUNT_LIMITS_EXCEEDED", C::LimitExceeded),
            ("CHANNEL_UNAVAILABLE", C::WalletUnavailable),
            ("USER_DEVICE_UNREACHABLE", C::WalletUnavailable),
            ("PARTNER_TIMEOUT_ERROR", C::NetworkError),
            ("INVALID_ACCOUNT_DETAILS", C::InvalidAccount),
            ("ACCOUNT_NOT_ACTIVATED", C::InvalidAccount),
            ("FAILURE_DETAILS_UNAVAILABLE", C::Unknown),
            ("SOMETHING_NEW", C::Unknown),
        ] {
            let f = failure_from_code(code);
            assert_eq!(f.category, cat, "{code}");
            assert_eq!(f.provider_code.as_deref(), Some(code));
        }
    }

    #[test]
    fn every_channel_maps_back_to_its_wallet_and_is_in_the_catalog() {
        for (country, wallet, code) in CHANNELS {
            assert_eq!(channel_code(*country, *wallet), Some(*code));
            assert_eq!(wallet_for_channel(*country, code), Some(*wallet));
            let spec = walletpay_domain::catalog::wallet_spec(*country, *wallet)
                .expect("every Xendit channel is in the catalog");
            assert!(
                spec.providers.contains(&walletpay_domain::Provider::Xendit),
                "{code}"
            );
        }
        assert_eq!(
            wallet_for_channel(Country::TH, "SHOPEEPAY"),
            Some(WalletId::Shopeepay)
        );
        assert_eq!(wallet_for_channel(Country::VN, "SHOPEEPAY"), None);
    }

    #[test]
    fn next_action_prefers_the_deeplink_pushes_for_ovo_and_reads_every_qr() {
        let web = action("REDIRECT_CUSTOMER", "WEB_URL", "https://w");
        let deep = action("REDIRECT_CUSTOMER", "DEEPLINK_URL", "shopee://pay");
        let idr = Money::positive(15_000_000, Currency::IDR).unwrap();
        assert_eq!(
            next_action("DANA", std::slice::from_ref(&web), idr).unwrap(),
            Some(NextAction::Redirect {
                url: "https://w".into()
            })
        );
        assert_eq!(
            next_action("SHOPEEPAY", &[web.clone(), deep.clone()], idr).unwrap(),
            Some(NextAction::Deeplink {
                url: "shopee://pay".into()
            })
        );
        assert!(matches!(
            next_action("OVO", &[], idr).unwrap(),
            Some(NextAction::Push { .. })
        ));
        assert_eq!(next_action("DANA", &[], idr).unwrap(), None);
        let qris = Qris {
            issuer: "ID.CO.XENDIT.WWW".into(),
            merchant_pan: "936000000000000001".into(),
            merchant_id: "M1".into(),
            criteria: "UMI".into(),
            nmid: "ID1020000000001".into(),
            mcc: "5999".into(),
            amount: Some(Money::positive(15_000_000, Currency::IDR).unwrap()),
            merchant_name: "SHOP".into(),
            merchant_city: "JAKARTA".into(),
            postal_code: "10110".into(),
            reference: None,
        }
        .payload()
        .unwrap();
        let shown = action("PRESENT_TO_CUSTOMER", "QR_STRING", &qris);
        assert_eq!(
            next_action("QRIS", std::slice::from_ref(&shown), idr).unwrap(),
            Some(NextAction::Qr { data: qris.clone() })
        );
        // A QRIS code is not a QR Ph code, a code for another amount is not this payment's,
        // a broken code is never shown, and a national QR channel must show one.
        let php = Money::positive(15_000_000, Currency::PHP).unwrap();
        assert!(next_action("QRPH", std::slice::from_ref(&shown), php).is_err());
        let other = Money::positive(14_000_000, Currency::IDR).unwrap();
        assert!(next_action("QRIS", std::slice::from_ref(&shown), other).is_err());
        let broken = action(
            "PRESENT_TO_CUSTOMER",
            "QR_STRING",
            &qris.replace("SHOP", "SHOQ"),
        );
        assert!(next_action("QRIS", std::slice::from_ref(&broken), idr).is_err());
        assert!(next_action("QRIS", &[], idr).is_err());
        // ShopeePay's desktop code is not the one shown: it is not what decides.
        assert_eq!(
            next_action("SHOPEEPAY", &[deep, broken], idr).unwrap(),
            Some(NextAction::Deeplink {
                url: "shopee://pay".into()
            })
        );
    }

    #[test]
    fn refunds_the_channels_cannot_make_are_named() {
        for channel in ["OVO", "QRPH", "TRUEMONEY", "LINEPAY"] {
            assert!(refund_refusal(channel, false).is_some(), "{channel}");
        }
        assert!(refund_refusal("LINKAJA", true).is_some());
        assert!(refund_refusal("LINKAJA", false).is_none());
        assert!(refund_refusal("DANA", true).is_none());
        let now = Timestamp(30 * 24 * 3600 * 1000);
        let hour_ago = Some(Timestamp(now.millis() - 3600 * 1000));
        let two_days_ago = Some(Timestamp(now.millis() - 48 * 3600 * 1000));
        let eight_days_ago = Some(Timestamp(now.millis() - 8 * 24 * 3600 * 1000));
        assert!(qris_refund_refusal(Some("DANA"), true, hour_ago, now).is_none());
        assert!(qris_refund_refusal(Some("Jenius / SMBC"), false, hour_ago, now).is_none());
        assert!(
            qris_refund_refusal(Some("Bank Syariah Indonesia"), false, hour_ago, now).is_none()
        );
        assert!(qris_refund_refusal(Some("CIMB Niaga"), false, hour_ago, now).is_some());
        assert!(qris_refund_refusal(Some("CIMB Niaga"), true, hour_ago, now).is_none());
        assert!(qris_refund_refusal(Some("CIMB Niaga"), false, two_days_ago, now).is_none());
        assert!(qris_refund_refusal(Some("DANA"), true, eight_days_ago, now).is_some());
        // Near misses are other banks, refused: never accepted and then lost.
        for other in [
            "BANK XYZ",
            "Bank Danamon",
            "OVO Finansial Syariah",
            "GoPayLater",
        ] {
            assert!(
                qris_refund_refusal(Some(other), true, hour_ago, now).is_some(),
                "{other}"
            );
        }
        assert!(qris_refund_refusal(None, false, hour_ago, now).is_some());
        assert!(qris_refund_refusal(Some("DANA"), false, None, now).is_some());
    }
}
