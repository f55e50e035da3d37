//! `cargo bench -p walletpay-tests --bench figures -- emv`
//!
//! BR Code (Pix) and PromptPay QR payloads: generate + validate (parse with the CRC check)
//! per second, on one core. Set `BENCH_REQUESTS` to change the count (default 200,000).

use std::time::Instant;
use walletpay_domain::emv::{BrCode, PromptPayBill};
use walletpay_domain::{Currency, Money};

pub fn run() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 200_000 } else { 100 });
    let t = Instant::now();
    for i in 0..n {
        let code = BrCode {
            key: None,
            url: Some(format!("pix.example.com/qr/v2/cob/{i:032}")),
            merchant_name: "WALLETPAY".into(),
            merchant_city: "SAO PAULO".into(),
            amount: Some(Money {
                minor: 1_000 + i as i64,
                currency: Currency::BRL,
            }),
            txid: "***".into(),
        };
        let payload = code.payload().expect("valid");
        assert_eq!(BrCode::parse(&payload).expect("valid"), code);
    }
    let br = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..n {
        let bill = PromptPayBill {
            biller_id: "010753600031508".into(),
            ref1: format!("PAY{i:016}"),
            ref2: None,
            amount: Money {
                minor: 30_000 + i as i64,
                currency: Currency::THB,
            },
        };
        let payload = bill.payload().expect("valid");
        assert_eq!(PromptPayBill::parse(&payload).expect("valid"), bill);
    }
    let pp = n as f64 / t.elapsed().as_secs_f64();
    println!("EMV QR payloads, generate + validate, {n} each:");
    println!("  BR Code (dynamic, with amount)   {br:>10.0} per second");
    println!("  PromptPay bill payment           {pp:>10.0} per second");
}
