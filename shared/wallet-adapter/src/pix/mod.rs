//! Pix without an aggregator (Brazil): the central bank's API Pix at the merchant's PSP.
//!
//! Protocol facts (the central bank's API Pix specification, v2):
//! - Mutual TLS on every call, and an OAuth2 access token (client credentials, `POST
//!   /oauth/token` with Basic auth), cached until shortly before it expires.
//! - `PUT /cob/{txid}` (txid `[a-zA-Z0-9]{26,35}`, ours: the payment id's body) with
//!   `calendario{expiracao}`, `valor{original: "12.34"}`, `chave`; answer 201 with `txid,
//!   status, loc, location, pixCopiaECola`. `GET /cob/{txid}`: `ATIVA`, `CONCLUIDA`,
//!   `REMOVIDA_PELO_USUARIO_RECEBEDOR`, `REMOVIDA_PELO_PSP`; a paid one lists its `pix`.
//!   `PATCH /cob/{txid}` withdraws an unpaid charge.
//! - `GET /pix/{e2eid}`: a received Pix. `PUT /pix/{e2eid}/devolucao/{id}` `{valor}`:
//!   `EM_PROCESSAMENTO`, `DEVOLVIDO`, `NAO_REALIZADO`.
//! - The webhook `POST {url}/pix` `{"pix": [...]}` has no payload signature: each item only
//!   triggers a status check (`GET /cob`, then `GET /pix/{e2eid}`) before anything changes.
//! - Errors are RFC 7807 problem details.
//! - The customer sees the BR Code (`pixCopiaECola`, built here from the location when a PSP
//!   gives none); every code is read back with `walletpay_domain::emv::BrCode` first.

mod client;
pub mod mapping;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settlement;
pub mod signature;
pub mod wire;

pub use client::{Pix, PixConfig, PixCredentials};
pub use mapping::txid;

/// The sandbox bank's test credentials (documented in the README): certificates made for
/// the sandbox only.
pub const SANDBOX_CLIENT_ID: &str = "walletpay-sandbox-client";
pub const SANDBOX_CLIENT_SECRET: &str = "walletpay-sandbox-secret";
pub const SANDBOX_PIX_KEY: &str = "pix@walletpay.example";
pub const SANDBOX_CA: &str = include_str!("certs/ca.pem");
pub const SANDBOX_CLIENT_CERT: &str = include_str!("certs/client.pem");
pub const SANDBOX_CLIENT_KEY: &str = include_str!("certs/client-key.pem");
pub const SANDBOX_SERVER_CERT: &str = include_str!("certs/server.pem");
pub const SANDBOX_SERVER_KEY: &str = include_str!("certs/server-key.pem");
/// A certificate the sandbox CA did not sign (to show it is refused).
pub const SANDBOX_STRANGER_CERT: &str = include_str!("certs/stranger.pem");
pub const SANDBOX_STRANGER_KEY: &str = include_str!("certs/stranger-key.pem");
