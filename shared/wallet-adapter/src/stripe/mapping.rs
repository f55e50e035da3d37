//! Stripe's amounts, statuses, next actions and error codes in our terms.

use super::wire::{PaymentIntent, Refund, StripeError};
use crate::adapter::{ProviderStatus, RefundOutcome};
use walletpay_domain::{Country, Currency, Failure, FailureCode, Money, NextAction, WalletId};

/// (country, wallet, Stripe payment method type).
const METHODS: &[(Country, WalletId, &str)] = &[
    (Country::TH, WalletId::Promptpay, "promptpay"),
    (Country::BR, WalletId::Pix, "pix"),
    (Country::MY, WalletId::Grabpay, "grabpay"),
    (Country::SG, WalletId::Grabpay, "grabpay"),
];

pub fn method_type(country: Country, wallet: WalletId) -> Option<&'static str> {
    METHODS
        .iter()
        .find(|(c, w, _)| *c == country && *w == wallet)
        .map(|(_, _, m)| *m)
}

/// Stripe's `amount`: the currency's smallest unit in Stripe's own table. For every currency
/// we use it equals the ISO 4217 minor unit (IDR is not zero-decimal at Stripe, so IDR
/// 150,000 is 15000000 there too; VND is zero-decimal at Stripe and in ISO 4217).
pub fn stripe_amount(amount: Money) -> i64 {
    amount.minor
}

pub fn stripe_currency(c: Currency) -> String {
    c.code().to_ascii_lowercase()
}

pub fn parse_currency(s: &str) -> Option<Currency> {
    s.to_ascii_uppercase().parse().ok()
}

/// A failure code from Stripe (`last_payment_error.code`, or its `decline_code`) in our
/// taxonomy; anything unknown is `unknown`.
pub fn failure_from_error(e: &StripeError) -> Failure {
    use FailureCode as F;
    let code = e
        .decline_code
        .as_deref()
        .or(e.code.as_deref())
        .unwrap_or("unknown");
    let ours = match code {
        "insufficient_funds" => F::InsufficientBalance,
        "payment_intent_authentication_failure" | "payment_method_customer_decline" => {
            F::UserDeclined
        }
        "payment_intent_payment_attempt_expired" | "payment_intent_payment_attempt_failed" => {
            F::AuthorizationTimeout
        }
        "payment_method_provider_decline" | "fraudulent" | "merchant_blacklist" | "stolen_card" => {
            F::RiskRejected
        }
        "payment_method_provider_timeout" => F::ProviderTimeout,
        "payment_method_unavailable" | "payment_method_not_available" => F::WalletUnavailable,
        "amount_too_large" | "amount_too_small" | "withdrawal_count_limit_exceeded" => {
            F::LimitReached
        }
        "payment_method_unactivated" | "account_invalid" => F::InvalidAccount,
        "api_key_expired" | "secret_key_required" => F::MerchantAuthenticationFailed,
        _ => F::Unknown,
    };
    Failure::new(ours, Some(code.to_string()))
}

/// A PaymentIntent's status in our terms. `requires_payment_method` after an attempt means
/// that attempt failed (Stripe keeps the intent open for another method).
pub fn intent_status(pi: &PaymentIntent) -> ProviderStatus {
    match pi.status.as_str() {
        "succeeded" => ProviderStatus::Succeeded,
        "canceled" => match pi.cancellation_reason.as_deref() {
            Some("expired") | Some("abandoned") => ProviderStatus::Expired,
            _ => ProviderStatus::Canceled,
        },
        "requires_payment_method" => match &pi.last_payment_error {
            Some(e) => ProviderStatus::Failed {
                failure: failure_from_error(e),
            },
            None => ProviderStatus::Pending,
        },
        // requires_confirmation, requires_action, processing, requires_capture
        _ => ProviderStatus::Pending,
    }
}

/// What the customer does: scan the PromptPay or Pix QR, or follow GrabPay's redirect.
pub fn next_action(pi: &PaymentIntent) -> Option<NextAction> {
    let na = pi.next_action.as_ref()?;
    match na.kind.as_str() {
        "promptpay_display_qr_code" => {
            na.promptpay_display_qr_code
                .as_ref()
                .map(|q| NextAction::Qr {
                    data: q.data.clone(),
                })
        }
        "pix_display_qr_code" => na.pix_display_qr_code.as_ref().map(|q| NextAction::Qr {
            data: q.data.clone(),
        }),
        "redirect_to_url" => na
            .redirect_to_url
            .as_ref()
            .map(|r| NextAction::Redirect { url: r.url.clone() }),
        _ => None,
    }
}

/// A Refund in our terms. `requires_action` (Stripe waits for the customer's bank details)
/// is still under way.
pub fn refund_outcome(r: &Refund) -> RefundOutcome {
    match r.status.as_str() {
        "succeeded" => RefundOutcome::Succeeded {
            provider_reference: r.id.clone(),
        },
        "failed" | "canceled" => {
            let reason = r.failure_reason.clone().unwrap_or_else(|| r.status.clone());
            let code = match reason.as_str() {
                "insufficient_funds" => FailureCode::InsufficientBalance,
                "lost_or_stolen_card" | "expired_or_canceled_card" => FailureCode::InvalidAccount,
                _ => FailureCode::Unknown,
            };
            RefundOutcome::Failed {
                provider_reference: Some(r.id.clone()),
                failure: Failure::new(code, Some(reason)),
            }
        }
        _ => RefundOutcome::Pending {
            provider_reference: r.id.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_domain::FailureCategory;

    fn intent(json: serde_json::Value) -> PaymentIntent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn amounts_are_the_iso_minor_units() {
        assert_eq!(
            stripe_amount(Money {
                minor: 15_000_000,
                currency: Currency::IDR
            }),
            15_000_000
        );
        assert_eq!(
            stripe_amount(Money {
                minor: 50_000,
                currency: Currency::VND
            }),
            50_000
        );
        assert_eq!(
            stripe_amount(Money {
                minor: 12_345,
                currency: Currency::THB
            }),
            12_345
        );
        assert_eq!(stripe_currency(Currency::BRL), "brl");
        assert_eq!(parse_currency("thb"), Some(Currency::THB));
    }

    #[test]
    fn next_actions_come_from_the_named_field() {
        let pp = intent(
            serde_json::json!({"id": "pi_1", "object": "payment_intent", "amount": 10000, "currency": "thb", "status": "requires_action", "created": 1,
            "next_action": {"type": "promptpay_display_qr_code", "promptpay_display_qr_code": {"data": "00020101021230...6304ABCD", "hosted_instructions_url": "https://x", "image_url_png": "https://x.png", "image_url_svg": "https://x.svg"}}}),
        );
        assert_eq!(
            next_action(&pp),
            Some(NextAction::Qr {
                data: "00020101021230...6304ABCD".into()
            })
        );
        assert_eq!(intent_status(&pp), ProviderStatus::Pending);
        let gp = intent(
            serde_json::json!({"id": "pi_2", "object": "payment_intent", "amount": 1000, "currency": "myr", "status": "requires_action", "created": 1,
            "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/redirect/x", "return_url": "https://shop.example"}}}),
        );
        assert_eq!(
            next_action(&gp),
            Some(NextAction::Redirect {
                url: "https://hooks.stripe.com/redirect/x".into()
            })
        );
    }

    #[test]
    fn statuses_and_failures() {
        let failed = intent(
            serde_json::json!({"id": "pi_3", "object": "payment_intent", "amount": 1000, "currency": "brl", "status": "requires_payment_method", "created": 1,
            "last_payment_error": {"type": "card_error", "code": "payment_intent_payment_attempt_expired", "message": "expired"}}),
        );
        match intent_status(&failed) {
            ProviderStatus::Failed { failure } => {
                assert_eq!(failure.category, FailureCategory::Expired)
            }
            other => panic!("{other:?}"),
        }
        let fresh = intent(
            serde_json::json!({"id": "pi_4", "object": "payment_intent", "amount": 1000, "currency": "brl", "status": "requires_payment_method", "created": 1}),
        );
        assert_eq!(intent_status(&fresh), ProviderStatus::Pending);
        let expired = intent(
            serde_json::json!({"id": "pi_5", "object": "payment_intent", "amount": 1000, "currency": "brl", "status": "canceled", "cancellation_reason": "abandoned", "created": 1}),
        );
        assert_eq!(intent_status(&expired), ProviderStatus::Expired);
        let ok = intent(
            serde_json::json!({"id": "pi_6", "object": "payment_intent", "amount": 1000, "currency": "brl", "status": "succeeded", "created": 1}),
        );
        assert_eq!(intent_status(&ok), ProviderStatus::Succeeded);
        let e = StripeError {
            kind: "card_error".into(),
            code: Some("card_declined".into()),
            decline_code: Some("insufficient_funds".into()),
            ..Default::default()
        };
        assert_eq!(
            failure_from_error(&e).category,
            FailureCategory::InsufficientBalance
        );
        let unknown = StripeError {
            code: Some("something_new".into()),
            ..Default::default()
        };
        assert_eq!(
            failure_from_error(&unknown).category,
            FailureCategory::Unknown
        );
    }

    #[test]
    fn every_method_is_in_the_catalog_under_stripe() {
        for (country, wallet, _) in METHODS {
            let spec =
                walletpay_domain::catalog::wallet_spec(*country, *wallet).expect("in the catalog");
            assert!(spec.providers.contains(&walletpay_domain::Provider::Stripe));
        }
    }
}
