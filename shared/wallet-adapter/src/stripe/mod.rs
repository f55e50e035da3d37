//! Stripe PaymentIntents (aggregator for PromptPay, Pix and GrabPay). So far: webhook
//! signatures (`Stripe-Signature`, checked against the official libraries' test vectors),
//! the wire types, and the mapping of amounts, statuses, next actions and error codes. The
//! client and sandbox follow; until then the adapter is not registered, so no wallet routes
//! to Stripe.

pub mod mapping;
pub mod signature;
pub mod wire;
