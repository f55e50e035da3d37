//! The API's representation of a payment, in the customer's language.

use crate::app::App;
use serde::Serialize;
use walletpay_domain::catalog::wallets_in;
use walletpay_domain::{
    failure_message, Failure, FailureCategory, FailureCode, Lang, NextAction, Payment, Recovery,
    Timestamp,
};

#[derive(Debug, Serialize)]
pub struct FailureView<'a> {
    pub code: FailureCode,
    pub category: FailureCategory,
    pub message: &'static str,
    pub retryable: bool,
    pub recovery: &'a [Recovery],
    /// With `switch_wallet`: the other wallets this shop takes in the payment's country for
    /// its amount, most used first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<&'static str>>,
    pub provider_code: Option<&'a str>,
}

impl<'a> FailureView<'a> {
    pub fn of(f: &'a Failure, lang: Lang, alternatives: Option<Vec<&'static str>>) -> Self {
        FailureView {
            code: f.code,
            category: f.category,
            message: failure_message(f.category, lang),
            retryable: f.retryable,
            recovery: &f.recovery,
            alternatives: f
                .recovery
                .contains(&Recovery::SwitchWallet)
                .then(|| alternatives.unwrap_or_default()),
            provider_code: f.provider_code.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PaymentView<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub status: &'static str,
    pub amount: i64,
    /// Refunded and confirmed so far.
    pub amount_refunded: i64,
    /// What can still be refunded (0 unless paid).
    pub amount_refundable: i64,
    pub currency: &'static str,
    pub country: &'static str,
    pub wallet: &'static str,
    pub provider: &'static str,
    pub provider_reference: Option<&'a str>,
    pub next_action: Option<&'a NextAction>,
    pub failure: Option<FailureView<'a>>,
    pub merchant_reference: &'a str,
    pub description: Option<&'a str>,
    pub late_success: bool,
    /// The providers offered the payment, in order, with why.
    pub route: &'a [walletpay_domain::RouteStep],
    /// Risk control's decision, score and reasons, and the shop's review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraud_report: Option<&'a walletpay_domain::FraudReport>,
    /// The hosted checkout session this payment is an attempt of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_session: Option<&'a walletpay_domain::SessionId>,
    /// The first-purchase incentive it was made with: its id, the order's amount before it
    /// and the discount (`amount` is what is left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incentive: Option<&'a walletpay_domain::incentive::Applied>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Risk control's verdict as the shop sees it (the figures it was taken on stay inside).
#[derive(Debug, Serialize)]
pub struct RiskView<'a> {
    pub decision: walletpay_domain::risk::RiskDecision,
    pub score: u8,
    pub reasons: &'a [walletpay_domain::risk::Reason],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub shadow: &'a [walletpay_domain::risk::Reason],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_until: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<&'a walletpay_domain::risk::Review>,
}

/// The wallets the customer can switch to: same country, the amount within their limits,
/// a provider configured for them, the failed one left out.
pub fn alternatives(app: &App, p: &Payment) -> Vec<&'static str> {
    wallets_in(p.country)
        .filter(|s| s.wallet != p.wallet)
        .filter(|s| (s.min_minor..=s.max_minor).contains(&p.amount.minor))
        .filter(|s| app.adapters.route(p.country, s.wallet, None).is_some())
        .map(|s| s.wallet.as_str())
        .collect()
}

impl<'a> PaymentView<'a> {
    pub fn render(app: &App, p: &'a Payment, lang: Option<Lang>) -> Self {
        let lang = lang.unwrap_or_else(|| Lang::of_country(p.country));
        PaymentView {
            id: p.id.as_str(),
            object: "payment",
            status: p.status.as_str(),
            amount: p.amount.minor,
            amount_refunded: p.refunded_minor(),
            amount_refundable: p.refundable_minor(),
            currency: p.amount.currency.code(),
            country: p.country.as_str(),
            wallet: p.wallet.as_str(),
            provider: p.provider.as_str(),
            provider_reference: p.provider_reference.as_deref(),
            next_action: p.next_action.as_ref(),
            failure: p
                .failure
                .as_ref()
                .map(|f| FailureView::of(f, lang, Some(alternatives(app, p)))),
            merchant_reference: &p.merchant_reference,
            description: p.description.as_deref(),
            late_success: p.late_success,
            route: &p.route,
            risk: p.risk.as_ref().map(|r| RiskView {
                decision: r.decision,
                score: r.score,
                reasons: &r.reasons,
                shadow: &r.shadow,
                review_until: r.review_until,
                review: r.review.as_ref(),
            }),
            fraud_report: p.fraud_report.as_ref(),
            checkout_session: p.checkout_session.as_ref(),
            incentive: p.incentive.as_ref(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            expires_at: p.expires_at,
        }
    }
}

pub fn payment_json(app: &App, p: &Payment, lang: Option<Lang>) -> String {
    serde_json::to_string(&PaymentView::render(app, p, lang)).expect("a payment view serialises")
}
