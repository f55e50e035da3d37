//! The engine on one day that holds every class.

use crate::*;
use walletpay_domain::{Currency, MerchantId, PaymentId, RefundId, WalletId};

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn pay(n: u128) -> PaymentId {
    PaymentId::new(1_764_000_000_000, n)
}

fn refund(n: u128) -> RefundId {
    RefundId::new(1_764_000_000_001, n)
}

fn merchant() -> MerchantId {
    MerchantId::new(1_700_000_000_000, 7)
}

fn entry(p: u128, amount: i64, status: Ours, day: &str) -> LedgerEntry {
    LedgerEntry {
        payment_id: pay(p),
        refund_id: None,
        merchant_id: merchant(),
        provider_reference: Some(format!("pr-{p}")),
        amount,
        currency: Currency::IDR,
        status,
        wallet: Some(WalletId::Dana),
        day: d(day),
        healed: false,
    }
}

fn row(line: u64, p: Option<u128>, kind: Kind, gross: i64, fee: i64) -> SettlementRow {
    SettlementRow {
        line,
        payment_id: p.map(pay),
        refund_id: None,
        provider_reference: format!("txn-{line}"),
        charge_reference: p.map(|p| format!("pr-{p}")),
        kind,
        gross,
        fee,
        net: gross - fee,
        currency: Currency::IDR,
        status: RowStatus::Succeeded,
        booked_on: d("2026-12-01"),
        booked_at: None,
        value_on: Some(d("2026-12-02")),
        settled: true,
        method: Some("DANA".into()),
    }
}

fn contract() -> Contract {
    Contract {
        fees: vec![FeeRule {
            wallet: None,
            currency: None,
            percent_bps: 150,
            fixed_minor: 0,
            rounding_minor: None,
        }],
        settlement: SettlementCycle {
            days: 1,
            basis: DayBasis::Working,
        },
        calendar: Calendar::default(),
        grace_days: None,
    }
}

#[derive(Debug)]
struct Line {
    class: Class,
    payment: Option<PaymentId>,
    discrepancy: bool,
    carried: bool,
    heal: bool,
    mark: bool,
    reconciled_on: Option<Date>,
}

#[test]
fn a_day_with_every_class() {
    let mut ledger = Ledger::new();
    let mut rows = RowSet::new();
    let fee = |g: i64| g * 150 / 10_000;
    // 1 matched
    ledger.push(&entry(1, 10_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&row(1, Some(1), Kind::Charge, 10_000_000, fee(10_000_000)));
    // 2 missing today: carried; 3 missing for six days: a discrepancy
    ledger.push(&entry(2, 10_000_000, Ours::Succeeded, "2026-12-01"));
    ledger.push(&entry(3, 10_000_000, Ours::Succeeded, "2026-11-25"));
    // 4 another amount; 5 another currency
    ledger.push(&entry(4, 5_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&row(2, Some(4), Kind::Charge, 4_000_000, fee(4_000_000)));
    ledger.push(&entry(5, 5_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&SettlementRow {
        currency: Currency::PHP,
        ..row(3, Some(5), Kind::Charge, 5_000_000, fee(5_000_000))
    });
    // 6 a refund we show made, reversed at the provider
    let mut r6 = entry(6, 2_000_000, Ours::Succeeded, "2026-12-01");
    r6.refund_id = Some(refund(6));
    r6.provider_reference = Some("rf-6".into());
    ledger.push(&r6);
    rows.push(&SettlementRow {
        refund_id: Some(refund(6)),
        payment_id: None,
        provider_reference: "rf-6".into(),
        charge_reference: Some("pr-6".into()),
        status: RowStatus::Reversed,
        ..row(4, None, Kind::Refund, 2_000_000, 0)
    });
    // 7 listed twice
    ledger.push(&entry(7, 1_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&row(5, Some(7), Kind::Charge, 1_000_000, fee(1_000_000)));
    rows.push(&row(6, Some(7), Kind::Charge, 1_000_000, fee(1_000_000)));
    // 8 another fee, in a fee line of its own on top of the charge's
    ledger.push(&entry(8, 1_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&row(7, Some(8), Kind::Charge, 1_000_000, fee(1_000_000)));
    rows.push(&SettlementRow {
        gross: 0,
        fee: 500,
        net: -500,
        ..row(8, Some(8), Kind::Fee, 0, 500)
    });
    // 9 paid out on Friday, due Wednesday
    ledger.push(&entry(9, 1_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&SettlementRow {
        value_on: Some(d("2026-12-04")),
        ..row(9, Some(9), Kind::Charge, 1_000_000, fee(1_000_000))
    });
    // 10 a refund we show pending, made at the provider: healed
    let mut r10 = entry(10, 3_000_000, Ours::Waiting, "2026-12-01");
    r10.refund_id = Some(refund(10));
    ledger.push(&r10);
    rows.push(&SettlementRow {
        refund_id: Some(refund(10)),
        ..row(10, Some(10), Kind::Refund, 3_000_000, 0)
    });
    // 11 the provider paid another charge made for the payment
    ledger.push(&entry(11, 1_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&SettlementRow {
        charge_reference: Some("pr-11-second".into()),
        ..row(11, Some(11), Kind::Charge, 1_000_000, fee(1_000_000))
    });
    // 12 healed by an earlier run: healed again, nothing to apply
    ledger.push(&LedgerEntry {
        healed: true,
        ..entry(12, 1_000_000, Ours::Succeeded, "2026-12-01")
    });
    rows.push(&row(12, Some(12), Kind::Charge, 1_000_000, fee(1_000_000)));
    // Rows the day's ledger does not hold: 13 not ours; 14 a payment we show processing;
    // 15 already reconciled on its own day; 16 one we booked the next day.
    rows.push(&row(13, Some(13), Kind::Charge, 1_000_000, fee(1_000_000)));
    rows.push(&row(14, Some(14), Kind::Charge, 1_000_000, fee(1_000_000)));
    rows.push(&row(15, Some(15), Kind::Charge, 1_000_000, fee(1_000_000)));
    rows.push(&row(16, Some(16), Kind::Charge, 1_000_000, fee(1_000_000)));
    // An adjustment, a payout and a fee of the account.
    rows.push(&SettlementRow {
        net: -250_000,
        ..row(17, None, Kind::Adjustment, 250_000, 0)
    });
    rows.push(&SettlementRow {
        net: -9_000_000,
        ..row(18, None, Kind::Payout, 9_000_000, 0)
    });
    rows.push(&SettlementRow {
        net: -100,
        ..row(19, None, Kind::Fee, 0, 100)
    });
    // 20 missing today, but another day's run settled it.
    ledger.push(&entry(20, 1_000_000, Ours::Succeeded, "2026-12-01"));

    let c = contract();
    let ctx = Context {
        merchant_terms: None,
        day: d("2026-12-01"),
        as_of: d("2026-12-02"),
        contract: Some(&c),
        grace_days: 3,
    };
    let mut m = Matcher::new(ledger, rows, ctx);
    let lookups = m.unresolved();
    let wanted: Vec<PaymentId> = [13, 14, 15, 16].map(pay).to_vec();
    assert_eq!(
        lookups
            .iter()
            .map(|(_, l)| l.payment_id.clone())
            .collect::<Vec<_>>(),
        wanted
    );
    for (at, l) in lookups {
        let resolution = match l.payment_id {
            p if p == pay(13) => Resolution::NotOurs,
            p if p == pay(14) => Resolution::Ours {
                entry: entry(14, 1_000_000, Ours::Waiting, "2026-12-01"),
                reconciled_on: None,
            },
            p if p == pay(15) => Resolution::Ours {
                entry: entry(15, 1_000_000, Ours::Succeeded, "2026-11-30"),
                reconciled_on: Some(d("2026-11-30")),
            },
            _ => Resolution::Ours {
                entry: entry(16, 1_000_000, Ours::Succeeded, "2026-12-02"),
                reconciled_on: None,
            },
        };
        m.resolve(at, resolution);
    }
    let missing = m.missing();
    let missing_ids: Vec<PaymentId> = missing.iter().map(|(_, l)| l.payment_id.clone()).collect();
    assert_eq!(missing_ids, [2, 3, 20].map(pay).to_vec());
    m.settled_elsewhere(missing[2].0, d("2026-12-02"));

    let mut lines = Vec::new();
    let mut report = report::header();
    let summary = m.finish(|o| {
        report::line(&o, &mut report);
        lines.push(Line {
            class: o.class,
            payment: o
                .entry
                .map(|e| e.payment_id())
                .or_else(|| o.row.and_then(|r| r.payment_id())),
            discrepancy: o.is_discrepancy(),
            carried: o.carried,
            heal: o.heal,
            mark: o.mark,
            reconciled_on: o.reconciled_on,
        })
    });
    let of =
        |p: u128| -> Vec<&Line> { lines.iter().filter(|l| l.payment == Some(pay(p))).collect() };
    let class_of = |p: u128| -> Vec<Class> { of(p).iter().map(|l| l.class).collect() };
    assert_eq!(class_of(1), [Class::Matched]);
    assert_eq!(class_of(2), [Class::MissingAtProvider]);
    assert!(of(2)[0].carried && !of(2)[0].discrepancy);
    assert_eq!(class_of(3), [Class::MissingAtProvider]);
    assert!(!of(3)[0].carried && of(3)[0].discrepancy);
    assert_eq!(class_of(4), [Class::AmountMismatch]);
    assert_eq!(class_of(5), [Class::CurrencyMismatch]);
    assert_eq!(class_of(6), [Class::StatusMismatch]);
    assert_eq!(class_of(7), [Class::Matched, Class::Duplicate]);
    assert_eq!(
        class_of(8),
        [Class::FeeMismatch, Class::Matched],
        "the fee line is the charge's"
    );
    assert_eq!(class_of(9), [Class::SettlementLate]);
    assert_eq!(class_of(10), [Class::Healed]);
    assert!(of(10)[0].heal);
    assert_eq!(class_of(11), [Class::Duplicate]);
    assert_eq!(class_of(12), [Class::Healed]);
    assert!(!of(12)[0].heal, "healed before: nothing to apply again");
    assert_eq!(class_of(13), [Class::UnknownToUs]);
    assert_eq!(class_of(14), [Class::Healed]);
    assert!(of(14)[0].heal && of(14)[0].mark);
    assert_eq!(class_of(15), [Class::Duplicate]);
    assert_eq!(of(15)[0].reconciled_on, Some(d("2026-11-30")));
    assert_eq!(class_of(16), [Class::Matched]);
    assert!(of(16)[0].mark, "classed on another day than its own");
    assert!(class_of(20).is_empty(), "settled by another day's run");
    let unkeyed: Vec<Class> = lines
        .iter()
        .filter(|l| l.payment.is_none())
        .map(|l| l.class)
        .collect();
    assert_eq!(
        unkeyed,
        [Class::UnknownToUs, Class::Matched, Class::Matched]
    );

    assert_eq!(summary.rows, 19);
    assert_eq!(summary.carried, 1);
    assert_eq!(summary.heals, 2);
    assert_eq!(lines.len() as u64, summary.counts.values().sum::<u64>());
    // 3 missing, 4, 5, 6, 8 and 9 one each, three duplicates (7's second line, 11, 15), two
    // unknown to us (13 and the adjustment).
    assert_eq!(summary.discrepancies, 11);
    let t = &summary.totals[&Currency::IDR];
    assert_eq!(t.provider_payouts, 9_000_000);
    assert_eq!(t.provider_adjustments, -250_000);
    // Our side: the day's successes (1, 2, 4, 5, 7, 8, 9, 11, 12, 20), less nothing refunded
    // (refund 6's entry is a success of 2,000,000).
    assert_eq!(
        t.our_charges,
        10_000_000 * 2 + 5_000_000 * 2 + 1_000_000 * 6
    );
    assert_eq!(t.our_refunds, 2_000_000);
    assert_eq!(t.contracted_fees, t.our_charges * 150 / 10_000);
    assert_eq!(
        t.expected_payout,
        t.our_charges - t.contracted_fees - t.our_refunds
    );
    // The report holds a line per outcome and names each class.
    assert_eq!(report.lines().count(), lines.len() + 1);
    assert!(report
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("matched,no,charge,"));
    assert!(report.contains("listed again after another day's run reconciled it (2026-11-30)"));
}

#[test]
fn a_refund_listed_and_undone_is_one_movement_in_two_lines() {
    let mut ledger = Ledger::new();
    let mut rows = RowSet::new();
    let mut r = entry(1, 2_000_000, Ours::Reversed, "2026-12-01");
    r.refund_id = Some(refund(1));
    ledger.push(&r);
    rows.push(&SettlementRow {
        refund_id: Some(refund(1)),
        ..row(1, Some(1), Kind::Refund, 2_000_000, 0)
    });
    rows.push(&SettlementRow {
        refund_id: Some(refund(1)),
        status: RowStatus::Reversed,
        ..row(2, Some(1), Kind::Refund, 2_000_000, 0)
    });
    let ctx = Context {
        merchant_terms: None,
        day: d("2026-12-01"),
        as_of: d("2026-12-02"),
        contract: None,
        grace_days: 3,
    };
    let mut classes = Vec::new();
    let summary =
        Matcher::new(ledger, rows, ctx).finish(|o| classes.push((o.class, o.is_discrepancy())));
    assert_eq!(classes, [(Class::Matched, false), (Class::Matched, false)]);
    assert_eq!(summary.totals[&Currency::IDR].provider_refunds, 0);
}

/// A movement another day's run reconciled, listed again as it stood, is a duplicate; listed
/// again with another status (a refund reversed days later), it is compared as usual.
#[test]
fn a_movement_listed_again_on_a_later_day() {
    let day = d("2026-12-03");
    let c = contract();
    let run = |status: RowStatus| {
        let mut rows = RowSet::new();
        rows.push(&SettlementRow {
            refund_id: Some(refund(6)),
            status,
            booked_on: day,
            ..row(1, Some(6), Kind::Refund, 2_000_000, 0)
        });
        let mut m = Matcher::new(
            Ledger::new(),
            rows,
            Context {
                merchant_terms: None,
                day,
                as_of: day,
                contract: Some(&c),
                grace_days: 3,
            },
        );
        for (at, _) in m.unresolved() {
            let mut e = entry(6, 2_000_000, Ours::Succeeded, "2026-12-01");
            e.refund_id = Some(refund(6));
            m.resolve(
                at,
                Resolution::Ours {
                    entry: e,
                    reconciled_on: Some(d("2026-12-01")),
                },
            );
        }
        let mut out = Vec::new();
        m.finish(|o| out.push((o.class, o.mark, o.is_discrepancy())));
        out
    };
    assert_eq!(run(RowStatus::Succeeded), [(Class::Duplicate, false, true)]);
    assert_eq!(
        run(RowStatus::Reversed),
        [(Class::StatusMismatch, true, true)],
        "a reversal days later is no duplicate, and its own day learns of it"
    );
}

/// A merchant with terms of its own (1.00% and T+2 business days) is held to them; another
/// merchant of the same account to the account's contract (1.50%, T+1); what a merchant's
/// terms leave unsaid is the account's.
#[test]
fn a_merchant_is_held_to_its_own_terms() {
    let own = MerchantId::new(1_700_000_000_000, 8);
    let terms: std::collections::HashMap<MerchantId, MerchantTerms> = [(
        own.clone(),
        MerchantTerms {
            fee_bps: Some(100),
            fee_fixed: None,
            settlement_days: Some(2),
        },
    )]
    .into();
    let mut ledger = Ledger::new();
    let mut rows = RowSet::new();
    // 1 (the merchant with terms) charged 1.00%, paid out Thursday: T+2 from Tuesday.
    ledger.push(&LedgerEntry {
        merchant_id: own.clone(),
        ..entry(1, 10_000_000, Ours::Succeeded, "2026-12-01")
    });
    rows.push(&SettlementRow {
        value_on: Some(d("2026-12-03")),
        ..row(1, Some(1), Kind::Charge, 10_000_000, 100_000)
    });
    // 2 (the same) charged the account's 1.50%: another fee than its contract's.
    ledger.push(&LedgerEntry {
        merchant_id: own.clone(),
        ..entry(2, 10_000_000, Ours::Succeeded, "2026-12-01")
    });
    rows.push(&row(2, Some(2), Kind::Charge, 10_000_000, 150_000));
    // 3 (another merchant) charged 1.50%, paid out Thursday: late under T+1.
    ledger.push(&entry(3, 10_000_000, Ours::Succeeded, "2026-12-01"));
    rows.push(&SettlementRow {
        value_on: Some(d("2026-12-03")),
        ..row(3, Some(3), Kind::Charge, 10_000_000, 150_000)
    });
    let c = contract();
    let ctx = Context {
        merchant_terms: None,
        day: d("2026-12-01"),
        as_of: d("2026-12-04"),
        contract: Some(&c),
        grace_days: 3,
    };
    let mut out = Vec::new();
    let mut matcher = Matcher::new(ledger, rows, ctx);
    matcher.hold_to(&terms);
    let summary = matcher.finish(|o| {
        out.push((
            o.entry.as_ref().map(|e| e.payment_id()),
            o.class,
            o.contracted_fee,
            o.due,
        ))
    });
    assert_eq!(
        out,
        [
            (
                Some(pay(1)),
                Class::Matched,
                Some(100_000),
                Some(d("2026-12-03"))
            ),
            (
                Some(pay(2)),
                Class::FeeMismatch,
                Some(100_000),
                Some(d("2026-12-03"))
            ),
            (
                Some(pay(3)),
                Class::SettlementLate,
                Some(150_000),
                Some(d("2026-12-02"))
            ),
        ]
    );
    // Our side's expected fees follow each merchant's terms too.
    assert_eq!(
        summary.totals[&Currency::IDR].contracted_fees,
        100_000 + 100_000 + 150_000
    );
}

#[test]
fn merchant_terms_without_an_account_contract() {
    let m = MerchantTerms {
        fee_bps: None,
        fee_fixed: Some(walletpay_domain::Money {
            minor: 2_000,
            currency: Currency::IDR,
        }),
        settlement_days: None,
    };
    let t = Terms {
        contract: None,
        merchant: Some(&m),
    };
    assert_eq!(t.expected_fee(None, 10_000_000, Currency::IDR), Some(2_000));
    assert_eq!(t.due(d("2026-12-01")), None, "no cycle is named anywhere");
    let c = contract();
    let only_fixed = Terms {
        contract: Some(&c),
        merchant: Some(&m),
    };
    // The account's 1.50% with the merchant's fixed part.
    assert_eq!(
        only_fixed.expected_fee(None, 10_000_000, Currency::IDR),
        Some(152_000)
    );
    assert_eq!(only_fixed.due(d("2026-12-04")), Some(d("2026-12-07")));
    // A payment in another currency pays the account's fee, fixed part included.
    assert_eq!(
        only_fixed.expected_fee(None, 1_000_000, Currency::PHP),
        Some(15_000)
    );
    // Without an account rule a rate is rounded to the currency's payable step: 1.25% of
    // IDR 1,234.56 is IDR 15.43, charged as IDR 15.
    let rate = MerchantTerms {
        fee_bps: Some(125),
        ..MerchantTerms::default()
    };
    let bare = Terms {
        contract: None,
        merchant: Some(&rate),
    };
    assert_eq!(bare.expected_fee(None, 123_456, Currency::IDR), Some(1_500));
    assert_eq!(bare.expected_fee(None, 123_456, Currency::PHP), Some(1_543));
}
