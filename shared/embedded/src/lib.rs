//! The embedded implementations of the ports, for the local stack and fast tests: an
//! in-memory store (optionally persisted to a folder), an in-process queue with SQS's
//! visibility and dead-letter semantics, and in-memory secrets (in `walletpay-ports`).

mod analytics;
mod checkout;
mod queue;
mod reconcile;
mod risk;
mod store;

pub use queue::InProcessQueue;
pub use store::EmbeddedStore;
