//! The use cases. Each takes its ports from [`App`]; none knows whether it runs in a Lambda
//! function or in the local stack, on DynamoDB or on the embedded store.

pub mod analytics;
mod app;
pub mod auth;
pub mod checkout;
mod contention;
mod error;
pub mod events;
pub mod idempotency;
pub mod merchant;
pub mod notifications;
pub mod onboarding;
pub mod payments;
pub mod rate_limit;
pub mod reconcile;
pub mod refunds;
mod request;
pub mod risk;
pub mod routing;
pub mod status;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transition;
pub mod view;
pub mod wallets;
pub mod webhook_url;
pub mod webhooks;

pub use app::{Adapters, App, Settings};
pub use error::{ApiError, Reply};
pub use transition::transition;
