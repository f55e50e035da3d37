//! What the providers hold, read from their sandboxes' own books once the sale is over (the
//! charges they captured and the refunds they made, by our payment id), and the invariants
//! that hold our side against it: every payment's final state as the provider has it, no
//! order paid twice, no payment refunded past what was paid.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use walletpay_domain::{Money, Timestamp};
use walletpay_local::LocalStack;
use walletpay_wallet_adapter::sandbox_kit::settlement::{MoveKind, Movement};

/// Money a provider took and gave back for one payment, in minor units.
#[derive(Debug, Default, Clone, Copy)]
pub struct Held {
    pub charges: u32,
    pub charged: i64,
    pub refunded: i64,
}

/// Every provider's books, by our payment id.
pub fn books(stack: &LocalStack) -> HashMap<String, Held> {
    let mut out: HashMap<String, Held> = HashMap::new();
    let mut movements: Vec<Movement> = Vec::new();
    let mut unnamed = 0;
    movements.extend(stack.xendit.movements());
    movements.extend(stack.stripe.movements());
    movements.extend(stack.adyen.movements());
    movements.extend(stack.midtrans.movements());
    movements.extend(stack.bank.movements());
    movements.extend(stack.dana.movements());
    for m in movements {
        let Some(p) = m.payment.clone() else {
            // A movement that names no payment of ours is kept under its own reference, so
            // that it shows up as a charge nobody has.
            unnamed += 1;
            let h = out
                .entry(format!("(unnamed {unnamed}) {}", m.reference))
                .or_default();
            if m.kind == MoveKind::Charge {
                h.charges += 1;
                h.charged += m.amount_minor;
            }
            continue;
        };
        let h = out.entry(p).or_default();
        match m.kind {
            MoveKind::Charge => {
                h.charges += 1;
                h.charged += m.amount_minor;
            }
            MoveKind::Refund if !m.reversed => h.refunded += m.amount_minor,
            MoveKind::Refund => {}
        }
    }
    let now = Timestamp(i64::MAX / 4);
    for pix in stack.pix.received(Timestamp(0), now) {
        let Some(txid) = pix.txid.as_deref() else {
            continue;
        };
        let h = out
            .entry(format!("{}{txid}", walletpay_domain::PaymentId::PREFIX))
            .or_default();
        let brl = |v: &str| {
            Money::parse_decimal(v, walletpay_domain::Currency::BRL)
                .map(|m| m.minor)
                .unwrap_or(0)
        };
        h.charges += 1;
        h.charged += brl(&pix.valor);
        for d in pix.devolucoes.iter().filter(|d| d.status == "DEVOLVIDO") {
            h.refunded += brl(&d.valor);
        }
    }
    out
}

/// The invariants, each expected 0.
#[derive(Debug, Default, Clone)]
pub struct Invariants {
    /// Payments whose state differs from the provider's books: paid there and not here
    /// (pending or failed), or paid here and not there, or refunded here by another amount.
    pub state_differs: u64,
    /// Orders with two payments the provider captured.
    pub double_charges: u64,
    /// Payments refunded past what was paid (at the provider, or by our ledger), and two
    /// 70% refunds sent at once both taken.
    pub over_refunds: u64,
    /// Events the shop's feed holds that its endpoint never received, and redeliveries
    /// whose content was not the first's.
    pub notifications_lost: u64,
    pub notifications_changed: u64,
    pub panics: u64,
    /// Not an invariant: orders captured twice where the second capture went back (a late
    /// success refunded by the late-success path).
    pub twice_refunded: u64,
    /// The first few differences, to look at.
    pub examples: Vec<String>,
}

impl Invariants {
    pub fn all_zero(&self) -> bool {
        self.state_differs == 0
            && self.double_charges == 0
            && self.over_refunds == 0
            && self.notifications_lost == 0
            && self.notifications_changed == 0
            && self.panics == 0
    }

    fn example(&mut self, s: String) {
        if self.examples.len() < 10 {
            self.examples.push(s);
        }
    }

    /// Holds one shop's payments (as its API lists them) against the books, the refunds
    /// the shop was told it got (`accepted`, by payment) and the events its endpoint
    /// received (`delivered`: payment id and type). Answers the orders the provider's books
    /// show paid, with how many times each was captured.
    pub fn check_payments(
        &mut self,
        payments: &[Value],
        books: &HashMap<String, Held>,
        accepted: &HashMap<String, i64>,
        delivered: &HashSet<(String, String)>,
    ) -> HashMap<String, u32> {
        #[derive(Default)]
        struct OrderMoney {
            captures: u32,
            net: i64,
            largest: i64,
        }
        let mut orders: HashMap<String, OrderMoney> = HashMap::new();
        for p in payments {
            let id = p["id"].as_str().unwrap_or_default();
            let status = p["status"].as_str().unwrap_or_default();
            let held = books.get(id).copied().unwrap_or_default();
            let ours_paid = matches!(status, "succeeded" | "partially_refunded" | "refunded");
            let theirs_paid = held.charges > 0;
            let refunded = p["amount_refunded"].as_i64().unwrap_or(0);
            let amount = p["amount"].as_i64().unwrap_or(0);
            if ours_paid != theirs_paid
                || (theirs_paid && (refunded != held.refunded || held.charged != amount))
            {
                self.state_differs += 1;
                self.example(format!(
                    "{id} ({}, {}): ours {status} {amount}, refunded {refunded}; provider charged {} ({}x), refunded {}",
                    p["provider"], p["wallet"], held.charged, held.charges, held.refunded
                ));
            }
            // What may be refunded: what the shop was told it got back, and all of a late
            // success (the late-success path refunds it whole).
            let allowed = accepted.get(id).copied().unwrap_or(0)
                + if p["late_success"] == true { amount } else { 0 };
            if held.refunded > allowed || held.refunded > held.charged || refunded > amount {
                self.over_refunds += 1;
                self.example(format!(
                    "{id}: refunded {} of {} at the provider (the shop asked for {allowed}), {refunded} of {amount} ours",
                    held.refunded, held.charged
                ));
            }
            if theirs_paid {
                if !delivered.contains(&(id.to_string(), "payment.succeeded".to_string())) {
                    self.notifications_lost += 1;
                    self.example(format!(
                        "{id}: paid, and no payment.succeeded reached the shop"
                    ));
                }
                let order = p["merchant_reference"].as_str().unwrap_or(id).to_string();
                let o = orders.entry(order).or_default();
                o.captures += held.charges;
                o.net += held.charged - held.refunded;
                o.largest = o.largest.max(held.charged);
            }
        }
        let mut paid = HashMap::new();
        for (order, o) in orders {
            if o.captures > 1 {
                // Captured twice: a double charge unless all but one order's worth went back.
                if o.net > o.largest {
                    self.double_charges += 1;
                    self.example(format!(
                        "{order}: captured {} times, {} kept of {} per capture",
                        o.captures, o.net, o.largest
                    ));
                } else {
                    self.twice_refunded += 1;
                }
            }
            paid.insert(order, o.captures);
        }
        paid
    }

    /// Charges the providers captured for a payment neither shop has.
    pub fn check_unknown(&mut self, books: &HashMap<String, Held>, known: &HashSet<String>) {
        for (id, held) in books {
            if held.charges > 0 && !known.contains(id) {
                self.state_differs += 1;
                self.example(format!(
                    "{id}: captured {} at a provider, and no shop has the payment",
                    held.charged
                ));
            }
        }
    }
}
