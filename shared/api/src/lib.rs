//! The HTTP API as an axum `Router`, the SQS and change-stream consumer glue, and the start-up code every
//! entry point shares. A Lambda function runs these routers through `lambda_http`; the local
//! stack serves the very same routers on a socket.

mod http_api;
pub mod reconcile;
pub mod runtime;
pub mod sqs;
pub mod streams;

pub use http_api::{
    checkout_router, dashboard_router, payments_router, refunds_router, router, webhooks_router,
    MAX_WEBHOOK_BYTES,
};
