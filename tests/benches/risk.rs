//! `cargo bench -p walletpay-tests --bench figures -- risk`
//!
//! Risk control's decision with 100 rules of every kind and the shipped model: the model's
//! score (`Model::score_input`, loaded once) and the rules (`risk::evaluate`), per decision
//! on one core: p50 and p99 of `BENCH_DECISIONS` (default 100,000).

use std::time::Instant;
use walletpay_domain::risk::{
    evaluate, Action, Dimension, Figures, Input, ListHits, Mode, Preset, RiskConfig, Rule,
    RuleKind, Window,
};
use walletpay_domain::{Country, Currency, Customer, Money, WalletId};

fn rules() -> Vec<Rule> {
    let dims = [
        Dimension::Customer,
        Dimension::Phone,
        Dimension::Email,
        Dimension::Device,
        Dimension::Ip,
    ];
    let windows = [Window::Minute, Window::Hour, Window::Day];
    let mut out = Vec::new();
    for i in 0..100usize {
        let kind = match i % 8 {
            0 => RuleKind::AmountPerPayment {
                max_minor: 50_000_000 + i as i64,
            },
            1 => RuleKind::AmountPerCustomerDay {
                max_minor: 200_000_000,
            },
            2 => RuleKind::AmountPerWalletDay {
                max_minor: 10_000_000_000,
            },
            3 => RuleKind::Velocity {
                dimension: dims[i % 5],
                window: windows[i % 3],
                max_count: Some(5),
                max_sum_minor: Some(100_000_000),
            },
            4 => RuleKind::FailedAttempts {
                dimension: dims[i % 5],
                window: windows[i % 3],
                max: 3,
            },
            5 => RuleKind::BlockList,
            6 => RuleKind::PhoneCountryMismatch,
            _ => RuleKind::NewDeviceHighAmount {
                min_minor: 20_000_000,
            },
        };
        out.push(Rule {
            id: format!("rule-{i}"),
            kind,
            action: if i % 3 == 0 {
                Action::Score(5)
            } else {
                Action::Review
            },
            mode: if i % 10 == 0 {
                Mode::Shadow
            } else {
                Mode::Active
            },
        });
    }
    out
}

pub fn run() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 100_000 } else { 100 });
    let config = RiskConfig {
        rules: rules(),
        strictness: Preset::Balanced.strictness(),
    };
    let customer = Customer {
        id: Some("cus_42".into()),
        phone: Some("+6281234567890".into()),
        email: Some("sari@example.com".into()),
        ip: Some("203.0.113.7".into()),
        device_id: Some("dev-1".into()),
    };
    let mut velocity = Vec::new();
    let mut failed = Vec::new();
    for d in [
        Dimension::Customer,
        Dimension::Phone,
        Dimension::Email,
        Dimension::Device,
        Dimension::Ip,
    ] {
        for w in [Window::Minute, Window::Hour, Window::Day] {
            velocity.push(((d, w), 2, 20_000_000));
            failed.push(((d, w), 1));
        }
    }
    let figures = Figures {
        velocity,
        failed,
        customer_day_minor: 30_000_000,
        wallet_day_minor: 900_000_000,
        device_known: true,
    };
    let lists = ListHits {
        block: Vec::new(),
        allow: Vec::new(),
        platform_block: Vec::new(),
    };
    let model = walletpay_domain::risk::model::Model::shipped();
    let mut times = Vec::with_capacity(n);
    let mut reviewed = 0usize;
    for i in 0..n {
        let mut input = Input {
            amount: Money::positive(15_000_000 + (i as i64 % 1000) * 100, Currency::IDR).unwrap(),
            country: Country::ID,
            wallet: WalletId::Dana,
            customer: &customer,
            figures: &figures,
            lists: &lists,
            model_score: None,
        };
        let t = Instant::now();
        input.model_score = Some(model.score_input(&input));
        let v = evaluate(&config, &input);
        times.push(t.elapsed().as_nanos() as u64);
        reviewed += usize::from(v.decision != walletpay_domain::risk::RiskDecision::Allow);
    }
    times.sort_unstable();
    let pct =
        |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)] as f64 / 1000.0;
    println!(
        "risk decision, 100 rules and the model, {n}: p50 {:.1} µs, p99 {:.1} µs ({reviewed} not allowed)",
        pct(0.50),
        pct(0.99)
    );
}
