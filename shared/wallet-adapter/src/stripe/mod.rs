//! Stripe PaymentIntents (aggregator for PromptPay, Pix and GrabPay). So far: webhook
//! signatures (`Stripe-Signature`), checked against the official libraries' test vectors.
//! The client and sandbox follow.

pub mod signature;
