//! `cargo bench -p walletpay-tests --bench figures -- snap`
//!
//! DANA's SNAP request signature: SHA256withRSA (2048-bit key) sign + verify of a create
//! request's string to sign, per second on one core. Set `BENCH_REQUESTS` (default 2,000).

use std::time::Instant;
use walletpay_wallet_adapter::dana::{self, signature as snap};

pub fn run() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 2_000 } else { 5 });
    let private = snap::private_key(dana::SANDBOX_MERCHANT_PRIVATE_KEY).unwrap();
    let public = snap::public_key(dana::SANDBOX_MERCHANT_PUBLIC_KEY).unwrap();
    let t = Instant::now();
    for i in 0..n {
        let body = format!(
            r#"{{"partnerReferenceNo":"pay_{i:026}","merchantId":"216620000000000000000","amount":{{"value":"150000.00","currency":"IDR"}}}}"#
        );
        let data = snap::string_to_sign(
            "POST",
            "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
            body.as_bytes(),
            "2026-11-25T17:00:00+07:00",
        );
        let sig = snap::sign(&private, &data);
        assert!(snap::verify(std::slice::from_ref(&public), &data, &sig));
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("SNAP SHA256withRSA (2048-bit) sign + verify, {n}: {rate:.0} per second");
}
