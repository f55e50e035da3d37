//! Adyen Checkout (aggregator for DANA, GoPay, GCash, MoMo, Touch 'n Go, GrabPay, TrueMoney
//! and Pix). So far: the HMAC signature of standard webhook notifications, checked against
//! the official libraries' test vectors. The client and sandbox follow.

pub mod signature;
