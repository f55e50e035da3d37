//! The walletpay domain: money, markets and wallets, the payment state machine and
//! the failure taxonomy. Pure data and rules: no I/O, no AWS, no HTTP, no async runtime.

#[macro_use]
mod macros;

pub mod analytics;
pub mod catalog;
pub mod checkout;
pub mod emv;
pub mod failure;
pub mod fields;
pub mod ids;
pub mod incentive;
pub mod messages;
pub mod money;
pub mod onboarding;
pub mod payment;
pub mod refund;
pub mod risk;
pub mod time;

pub use catalog::{ActionKind, Country, Provider, WalletId, WalletSpec};
pub use failure::{Failure, FailureCategory, FailureCode, Recovery};
pub use ids::{IncentiveId, MerchantId, PaymentId, SessionId};
pub use messages::{failure_message, refund_failure_message, Lang, RefundTrouble};
pub use money::{Currency, Money, MoneyError};
pub use payment::{
    Customer, Decision, FraudReport, NextAction, Payment, PaymentEvent, PaymentStatus, RefundLine,
    RefundRefusal, RefundState, RouteStep, StaleReason,
};
pub use refund::{Refund, RefundId, RefundReason, RefundStatus};
pub use time::Timestamp;
