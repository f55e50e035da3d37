//! Every integration test of walletpay, in one binary (one link of the whole stack, not one
//! per area): a module per area. Run them all with `tests/run` (which starts the AWS
//! stand-ins), or one area with `cargo test -p walletpay-tests --test suite <module>::`.

mod analytics;
mod catalog;
mod checkout;
mod checkout_page;
mod conformance;
mod dashboard;
mod e2e_local;
mod events_samples;
mod fuzz;
mod incentives;
mod lifecycle;
mod notifications;
mod onboarding;
mod queue_conformance;
mod reconcile_store;
mod reconciliation;
mod refunds;
mod risk;
mod routing;
mod secrets_conformance;
mod simulation;
mod store_conformance;
