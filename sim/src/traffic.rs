//! The sale's buyers, drawn from the seed before anything runs: each buyer's market, own
//! wallet, order, what happens in the wallet at each attempt, and what the buyer does when
//! an attempt fails. Both shops (walletpay and the one-aggregator baseline) see the same
//! buyers making the same draws, so the difference in what they convert is theirs.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The most attempts a buyer makes for one order.
pub const MAX_ATTEMPTS: usize = 4;

/// A market: its share of the sale's buyers, its currency and the wallets its buyers use
/// with their shares (each buyer has one of them as their own), and its ordinary orders.
#[derive(Debug)]
pub struct Market {
    pub country: &'static str,
    pub currency: &'static str,
    pub calling_code: &'static str,
    pub share: f64,
    pub wallets: &'static [(&'static str, f64)],
    /// An order's amount in whole units of the currency, between these.
    pub order_units: (i64, i64),
    /// Whole units are rounded to a multiple of this (with the ranges, clear of every
    /// sandbox's magic amounts: see the test).
    pub step_units: i64,
    /// Minor units per whole unit (ISO 4217 exponent).
    pub minor_per_unit: i64,
}

pub const MARKETS: &[Market] = &[
    Market {
        country: "ID",
        currency: "IDR",
        calling_code: "62",
        share: 0.40,
        wallets: &[
            ("dana", 0.30),
            ("ovo", 0.25),
            ("gopay", 0.20),
            ("shopeepay", 0.20),
            ("linkaja", 0.05),
        ],
        order_units: (25_000, 750_000),
        step_units: 1_000,
        minor_per_unit: 100,
    },
    Market {
        country: "TH",
        currency: "THB",
        calling_code: "66",
        share: 0.15,
        wallets: &[
            ("promptpay", 0.50),
            ("truemoney", 0.35),
            ("rabbit_line_pay", 0.10),
            ("shopeepay", 0.05),
        ],
        order_units: (90, 3_000),
        step_units: 10,
        minor_per_unit: 100,
    },
    Market {
        country: "PH",
        currency: "PHP",
        calling_code: "63",
        share: 0.15,
        wallets: &[("gcash", 0.70), ("maya", 0.25), ("grabpay", 0.05)],
        order_units: (150, 4_000),
        step_units: 10,
        minor_per_unit: 100,
    },
    Market {
        country: "VN",
        currency: "VND",
        calling_code: "84",
        share: 0.10,
        wallets: &[("momo", 0.70), ("zalopay", 0.30)],
        order_units: (60_000, 2_000_000),
        step_units: 1_000,
        minor_per_unit: 1,
    },
    Market {
        country: "MY",
        currency: "MYR",
        calling_code: "60",
        share: 0.10,
        wallets: &[("touch_n_go", 0.60), ("grabpay", 0.40)],
        order_units: (20, 400),
        step_units: 10,
        minor_per_unit: 100,
    },
    Market {
        country: "BR",
        currency: "BRL",
        calling_code: "55",
        share: 0.10,
        wallets: &[("pix", 1.0)],
        order_units: (20, 600),
        step_units: 10,
        minor_per_unit: 100,
    },
];

/// What happens in the buyer's wallet once a charge reaches it (the sandbox's `simulate`
/// outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InWallet {
    Pays,
    InsufficientBalance,
    Cancels,
    LetsItExpire,
    /// The wallet does not answer its provider in time.
    WalletTimeout,
}

impl InWallet {
    pub fn outcome(self) -> &'static str {
        match self {
            InWallet::Pays => "success",
            InWallet::InsufficientBalance => "insufficient_balance",
            InWallet::Cancels => "user_cancelled",
            InWallet::LetsItExpire => "expired",
            InWallet::WalletTimeout => "timeout",
        }
    }
}

/// Each wallet's odds at one attempt, in the order of [`InWallet`]'s failures:
/// insufficient balance, cancel, expiry, wallet timeout (the rest pays). A push approval
/// (OVO) expires more often, a QR code fails less on balance.
pub fn failure_rates(wallet: &str) -> [f64; 4] {
    match wallet {
        "ovo" => [0.08, 0.06, 0.11, 0.01],
        "linkaja" => [0.14, 0.07, 0.05, 0.02],
        "pix" | "promptpay" => [0.02, 0.05, 0.06, 0.01],
        "gcash" | "momo" => [0.07, 0.06, 0.05, 0.015],
        _ => [0.08, 0.06, 0.05, 0.01],
    }
}

/// What a buyer does after a failed attempt, given the recoveries the failure offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Retry,
    Switch,
    Leave,
}

/// The odds that a buyer tries again with the same wallet (when `retry_same_wallet` is
/// offered) after a failure of this category, and else switches wallet (when
/// `switch_wallet` is offered).
pub fn recovery_odds(category: &str) -> (f64, f64) {
    match category {
        // Tops up first.
        "insufficient_balance" => (0.25, 0.50),
        "user_cancelled" => (0.35, 0.30),
        "expired" => (0.45, 0.30),
        _ => (0.50, 0.50),
    }
}

/// The odds that a buyer whose own wallet is not offered pays with the first one offered.
pub const TAKES_ANOTHER_WALLET: f64 = 0.35;
/// The share of paid orders the shop refunds, and among them: in full, half, or two
/// refunds of 70% sent at once (one of which must be refused).
pub const REFUNDED: f64 = 0.06;
pub const REFUND_FULL: f64 = 0.5;
pub const REFUND_HALF: f64 = 0.3;
/// The odds that a buyer clicks a wallet twice at once (two starts of one attempt).
pub const DOUBLE_CLICK: f64 = 0.05;
/// The odds that a buyer whose first attempt expired approves it in the wallet after all,
/// once another attempt has paid the order (a late success, where the provider allows it).
pub const PAYS_LATE: f64 = 0.30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPlan {
    None,
    Full,
    Half,
    TwoAtOnce,
}

/// One buyer, drawn.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub index: usize,
    pub market: &'static Market,
    pub own_wallet: &'static str,
    pub amount_minor: i64,
    pub takes_another_wallet: bool,
    /// What happens in the wallet at each attempt.
    pub in_wallet: [InWallet; MAX_ATTEMPTS],
    /// The draws that decide, at each failure, between retry, switch and leaving.
    pub recovery_draws: [f64; MAX_ATTEMPTS],
    pub refund: RefundPlan,
    pub double_click: bool,
    pub pays_late: bool,
    pub customer_id: String,
    pub phone: String,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

impl Buyer {
    /// Buyer `index` of the sale seeded `seed`: the same for the same pair, whatever else
    /// runs.
    pub fn draw(seed: u64, index: usize) -> Buyer {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let markets: Vec<(&'static Market, f64)> = MARKETS.iter().map(|m| (m, m.share)).collect();
        let market = *pick(&mut rng, &markets);
        let own_wallet = *pick(&mut rng, market.wallets);
        let (lo, hi) = market.order_units;
        let units = rng.random_range(lo..=hi) / market.step_units * market.step_units;
        let amount_minor = units.max(market.step_units) * market.minor_per_unit;
        let takes_another_wallet = rng.random::<f64>() < TAKES_ANOTHER_WALLET;
        let in_wallet = std::array::from_fn(|_| {
            let rates = failure_rates(own_wallet);
            let x = rng.random::<f64>();
            let mut edge = 0.0;
            for (rate, what) in rates.iter().zip([
                InWallet::InsufficientBalance,
                InWallet::Cancels,
                InWallet::LetsItExpire,
                InWallet::WalletTimeout,
            ]) {
                edge += rate;
                if x < edge {
                    return what;
                }
            }
            InWallet::Pays
        });
        let recovery_draws = std::array::from_fn(|_| rng.random::<f64>());
        let refund = if rng.random::<f64>() < REFUNDED {
            let x = rng.random::<f64>();
            if x < REFUND_FULL {
                RefundPlan::Full
            } else if x < REFUND_FULL + REFUND_HALF {
                RefundPlan::Half
            } else {
                RefundPlan::TwoAtOnce
            }
        } else {
            RefundPlan::None
        };
        let h: u64 = rng.random();
        let double_click = rng.random::<f64>() < DOUBLE_CLICK;
        let pays_late = rng.random::<f64>() < PAYS_LATE;
        Buyer {
            index,
            market,
            own_wallet,
            amount_minor,
            takes_another_wallet,
            in_wallet,
            recovery_draws,
            refund,
            double_click,
            pays_late,
            customer_id: format!("cus_sim{seed}_{index}"),
            phone: format!("+{}8{:09}", market.calling_code, h % 1_000_000_000),
        }
    }

    /// What the buyer does after attempt `n` (0-based) failed with `category`, given the
    /// recoveries offered.
    pub fn next_after(&self, n: usize, category: &str, recovery: &[String]) -> Next {
        if n + 1 >= MAX_ATTEMPTS {
            return Next::Leave;
        }
        let (retry, switch) = recovery_odds(category);
        let offers = |r: &str| recovery.iter().any(|x| x == r);
        let x = self.recovery_draws[n];
        if offers("retry_same_wallet") && x < retry {
            return Next::Retry;
        }
        if offers("switch_wallet") && x < retry + (1.0 - retry) * switch {
            return Next::Switch;
        }
        Next::Leave
    }

    /// A refund amount the shop sends: `share` of the order, rounded down to what the
    /// currency can be paid in (whole rupiah for IDR).
    pub fn part(&self, share_percent: i64) -> i64 {
        let step = self
            .market
            .currency
            .parse::<walletpay_domain::Currency>()
            .map_or(1, |c| c.payable_step());
        (self.amount_minor * share_percent / 100) / step * step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_buyers() {
        for i in 0..50 {
            let (a, b) = (Buyer::draw(7, i), Buyer::draw(7, i));
            assert_eq!(a.own_wallet, b.own_wallet);
            assert_eq!(a.amount_minor, b.amount_minor);
            assert_eq!(a.in_wallet, b.in_wallet);
            assert_eq!(a.phone, b.phone);
        }
        let differ = (0..50)
            .filter(|i| Buyer::draw(7, *i).amount_minor != Buyer::draw(8, *i).amount_minor)
            .count();
        assert!(differ > 40, "{differ}");
    }

    #[test]
    fn markets_and_wallets_come_in_their_shares() {
        let n = 20_000;
        let buyers: Vec<Buyer> = (0..n).map(|i| Buyer::draw(1, i)).collect();
        let share =
            |f: &dyn Fn(&Buyer) -> bool| buyers.iter().filter(|b| f(b)).count() as f64 / n as f64;
        assert!((share(&|b| b.market.country == "ID") - 0.40).abs() < 0.02);
        assert!((share(&|b| b.market.country == "BR") - 0.10).abs() < 0.01);
        let id_dana = share(&|b| b.own_wallet == "dana") / 0.40;
        assert!((id_dana - 0.30).abs() < 0.03, "{id_dana}");
        let paid_first = share(&|b| b.in_wallet[0] == InWallet::Pays);
        assert!((0.75..0.86).contains(&paid_first), "{paid_first}");
    }

    #[test]
    fn amounts_are_whole_steps_clear_of_the_magic_amounts() {
        use walletpay_wallet_adapter::sandbox_kit::magic;
        // The shared sandboxes' and Xendit's own (10100 to 10102, 10999).
        let magic = [
            magic::UNAVAILABLE,
            magic::SERVER_ERROR,
            magic::SLOW,
            magic::REFUND_PENDING,
            magic::REFUND_FAILS,
            magic::REFUND_LOST,
            10_100,
            10_101,
            10_102,
            10_999,
        ];
        for i in 0..20_000 {
            let b = Buyer::draw(3, i);
            let units = b.amount_minor / b.market.minor_per_unit;
            assert_eq!(b.amount_minor % b.market.minor_per_unit, 0);
            assert!(!magic.contains(&units), "{units}");
            for share in [50, 70] {
                let part = b.part(share) / b.market.minor_per_unit;
                assert!(!magic.contains(&part), "a refund of {part}");
            }
            let (lo, hi) = b.market.order_units;
            assert!(units >= b.market.step_units && units <= hi && hi >= lo);
        }
    }

    #[test]
    fn recovery_follows_what_is_offered() {
        let mut b = Buyer::draw(1, 1);
        b.recovery_draws = [0.1; MAX_ATTEMPTS];
        let both = vec!["retry_same_wallet".to_string(), "switch_wallet".to_string()];
        assert_eq!(b.next_after(0, "expired", &both), Next::Retry);
        let switch_only = vec!["switch_wallet".to_string()];
        assert_eq!(b.next_after(0, "expired", &switch_only), Next::Switch);
        assert_eq!(b.next_after(0, "expired", &[]), Next::Leave);
        assert_eq!(
            b.next_after(MAX_ATTEMPTS - 1, "expired", &both),
            Next::Leave
        );
        b.recovery_draws = [0.99; MAX_ATTEMPTS];
        assert_eq!(b.next_after(0, "expired", &both), Next::Leave);
    }

    #[test]
    fn refunds_round_to_what_the_currency_refunds() {
        let mut b = Buyer::draw(1, 2);
        b.market = &MARKETS[0];
        b.amount_minor = 123_456_700;
        assert_eq!(b.part(50), 61_728_300);
        assert_eq!(b.part(70) % 100, 0);
    }
}
