//! The buyer's side of a hosted checkout session: the page at `/checkout/{id}` and what it
//! calls. This crate owns how a session looks to the buyer (the wallets to choose from in
//! the catalog's order, what the chosen wallet asks for, the failure and its recoveries, in
//! the buyer's language), the page's assets (styles, a little script, htmx, the wallets'
//! marks) embedded in the binary, and its routes. What a session may do (one attempt at a
//! time, one success per order) is `walletpay_app::checkout`'s; this crate only asks it.
//!
//! The page is server-rendered and works without JavaScript: choosing a wallet is a plain
//! form post, and a page waiting for the wallet refreshes itself. With JavaScript, htmx
//! polls `/checkout/{id}/status` every 2 s and swaps the panel, and `checkout.js` counts a
//! QR code's time down. No cookies; a strict CSP (no inline script or style, nothing from
//! another origin).

mod assets;
mod logos;
mod qr;
mod routes;
mod text;
mod view;

pub use qr::svg as qr_svg;
pub use routes::routes;
pub use text::amount as format_amount;
