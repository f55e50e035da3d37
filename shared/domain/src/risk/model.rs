//! Risk control's learned score: a logistic regression over features taken from the same
//! snapshot as the rules ([`features`]), its training ([`train`], batch gradient descent with
//! L2 on standardized features), its measure ([`auc`]) and the documented fraud simulation
//! it is trained on ([`simulate`]). Training is a project command (`walletpay-local
//! train-risk-model`), which writes the model shipped in `model.json` beside this file; the
//! service loads it once ([`Model::shipped`]).
//!
//! The simulation draws payments of five kinds, seeded (the same seed, the same set):
//! - ordinary buyers (90%): mostly a known device, a home phone, a few payments a day,
//!   amounts around IDR 150,000; one in ten in a live-stream rush (several orders within the
//!   hour), some on a shared family device or an office network, some on a new phone,
//!   a few abroad, some mistyping a PIN;
//! - account takeover (3%): mostly a new device, a burst of payments by the customer within
//!   the hour, higher amounts, sometimes a foreign phone;
//! - wallet testing (3%): failed attempts from one device within the hour, small amounts;
//! - mule phones (2%): one phone paying for many customers within the day;
//! - shared devices (2%): one device used by many customers within the day.
//!
//! The last four are fraud. Features are scaled counts and log amounts, never money
//! arithmetic: the score is a probability, not an amount.

use super::{Dimension, Figures, Window};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// The number of features.
pub const FEATURES: usize = 10;

/// The features of a payment: log of the amount against an ordinary order in its currency
/// (`policy::typical_order_minor`, so one model serves every market), the customer's, phone's,
/// device's and IP's payments in the hour, the phone's and device's in the day, the device's
/// failed attempts in the hour, a new device, a phone of another market.
pub fn features(amount: Money, figures: &Figures, foreign_phone: bool) -> [f64; FEATURES] {
    let typical = super::policy::typical_order_minor(amount.currency) as f64;
    features_of(
        (amount.minor.max(1) as f64 / typical).ln(),
        figures,
        foreign_phone,
    )
}

fn features_of(log_amount: f64, figures: &Figures, foreign_phone: bool) -> [f64; FEATURES] {
    let v = |d: Dimension, w: Window| {
        figures
            .velocity
            .iter()
            .find(|(k, _, _)| *k == (d, w))
            .map_or(0.0, |(_, n, _)| *n as f64)
    };
    let failed = figures
        .failed
        .iter()
        .find(|(k, _)| *k == (Dimension::Device, Window::Hour))
        .map_or(0.0, |(_, n)| *n as f64);
    [
        log_amount,
        v(Dimension::Customer, Window::Hour).ln_1p(),
        v(Dimension::Phone, Window::Hour).ln_1p(),
        v(Dimension::Device, Window::Hour).ln_1p(),
        v(Dimension::Ip, Window::Hour).ln_1p(),
        v(Dimension::Phone, Window::Day).ln_1p(),
        v(Dimension::Device, Window::Day).ln_1p(),
        failed.ln_1p(),
        if figures.device_known { 0.0 } else { 1.0 },
        if foreign_phone { 1.0 } else { 0.0 },
    ]
}

/// A logistic regression on standardized features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// The area under the ROC curve it scored on its held-out set when trained.
    pub holdout_auc: f64,
}

const SHIPPED: &str = include_str!("model.json");

impl Model {
    /// The model shipped with the project.
    pub fn shipped() -> Model {
        serde_json::from_str(SHIPPED).expect("the shipped risk model reads")
    }

    fn logit(&self, x: &[f64; FEATURES]) -> f64 {
        let mut z = self.bias;
        for (i, v) in x.iter().enumerate() {
            z += self.weights[i] * (v - self.mean[i]) / self.scale[i];
        }
        z
    }

    /// The probability of fraud, 0.0-1.0.
    pub fn probability(&self, x: &[f64; FEATURES]) -> f64 {
        1.0 / (1.0 + (-self.logit(x)).exp())
    }

    /// The score 0-100 the decision takes.
    pub fn score(&self, x: &[f64; FEATURES]) -> u8 {
        (self.probability(x) * 100.0).round().clamp(0.0, 100.0) as u8
    }

    /// The score of a payment about to be made, from the same snapshot as the rules.
    pub fn score_input(&self, input: &super::Input<'_>) -> u8 {
        let foreign = input
            .customer
            .phone
            .as_deref()
            .is_some_and(|p| !p.starts_with(super::calling_code(input.country)));
        self.score(&features(input.amount, input.figures, foreign))
    }
}

/// A small, seeded generator (xorshift64*): the simulation needs no entropy, only the same
/// draws from the same seed.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A count around `mean` (Poisson by inversion).
    fn count(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut p = 1.0;
        let mut k = 0;
        loop {
            p *= self.unit();
            if p <= limit || k > 200 {
                return k;
            }
            k += 1;
        }
    }

    /// An amount around `median` minor units (log-normal, spread `sigma`).
    fn amount(&mut self, median: f64, sigma: f64) -> i64 {
        // Box-Muller.
        let (u, v) = (self.unit().max(1e-12), self.unit());
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        (median * (sigma * z).exp()).round().max(100.0) as i64
    }
}

/// One simulated payment: its features and whether it is fraud.
pub fn simulate(seed: u64, n: usize) -> Vec<([f64; FEATURES], bool)> {
    let mut d = Draws(seed.max(1));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = d.unit();
        let mut f = Figures {
            device_known: true,
            ..Figures::default()
        };
        let mut put = |dim: Dimension, w: Window, n: u32| f.velocity.push(((dim, w), n, 0));
        let (amount, foreign, fraud) = if kind < 0.90 {
            // Ordinary buyers, some in a live-stream rush (several orders within the hour),
            // some on a shared family device or an office network, some mistyping a PIN.
            let rush = d.unit() < 0.10;
            let household = d.unit() < 0.08;
            put(
                Dimension::Customer,
                Window::Hour,
                d.count(if rush { 2.5 } else { 0.3 }),
            );
            put(
                Dimension::Phone,
                Window::Hour,
                d.count(if rush { 2.0 } else { 0.3 }),
            );
            put(
                Dimension::Device,
                Window::Hour,
                d.count(if rush || household { 2.0 } else { 0.4 }),
            );
            let office = d.unit() < 0.2;
            put(
                Dimension::Ip,
                Window::Hour,
                d.count(if office { 6.0 } else { 1.0 }),
            );
            put(
                Dimension::Phone,
                Window::Day,
                d.count(if rush { 4.0 } else { 1.5 }),
            );
            put(
                Dimension::Device,
                Window::Day,
                d.count(if household { 5.0 } else { 1.8 }),
            );
            let new_device = d.unit() < 0.15;
            let foreign = d.unit() < 0.04;
            (
                d.amount(15_000_000.0, 1.1),
                foreign,
                (new_device, d.count(0.3), false),
            )
        } else if kind < 0.93 {
            // Account takeover: a new device, a burst, higher amounts.
            put(Dimension::Customer, Window::Hour, 1 + d.count(1.5));
            put(Dimension::Phone, Window::Hour, d.count(1.0));
            put(Dimension::Device, Window::Hour, 1 + d.count(1.5));
            put(Dimension::Ip, Window::Hour, d.count(2.0));
            put(Dimension::Phone, Window::Day, d.count(2.0));
            put(Dimension::Device, Window::Day, 1 + d.count(2.0));
            let foreign = d.unit() < 0.25;
            (
                d.amount(40_000_000.0, 0.9),
                foreign,
                (d.unit() < 0.6, d.count(0.8), true),
            )
        } else if kind < 0.96 {
            // Wallet testing: failed attempts from one device, small amounts.
            put(Dimension::Customer, Window::Hour, d.count(1.0));
            put(Dimension::Phone, Window::Hour, d.count(1.0));
            put(Dimension::Device, Window::Hour, 1 + d.count(3.0));
            put(Dimension::Ip, Window::Hour, 1 + d.count(3.0));
            put(Dimension::Phone, Window::Day, d.count(2.0));
            put(Dimension::Device, Window::Day, 2 + d.count(4.0));
            (
                d.amount(2_000_000.0, 1.0),
                d.unit() < 0.1,
                (d.unit() < 0.4, 1 + d.count(3.0), true),
            )
        } else if kind < 0.98 {
            // Mule phone: one phone paying for many customers.
            put(Dimension::Customer, Window::Hour, d.count(0.5));
            put(Dimension::Phone, Window::Hour, 1 + d.count(2.0));
            put(Dimension::Device, Window::Hour, d.count(1.0));
            put(Dimension::Ip, Window::Hour, d.count(2.0));
            put(Dimension::Phone, Window::Day, 3 + d.count(4.0));
            put(Dimension::Device, Window::Day, d.count(3.0));
            (
                d.amount(20_000_000.0, 1.0),
                d.unit() < 0.15,
                (d.unit() < 0.4, d.count(0.5), true),
            )
        } else {
            // Shared device: one device for many customers.
            put(Dimension::Customer, Window::Hour, d.count(0.5));
            put(Dimension::Phone, Window::Hour, d.count(1.0));
            put(Dimension::Device, Window::Hour, 1 + d.count(2.0));
            put(Dimension::Ip, Window::Hour, d.count(3.0));
            put(Dimension::Phone, Window::Day, d.count(2.0));
            put(Dimension::Device, Window::Day, 3 + d.count(4.0));
            (
                d.amount(20_000_000.0, 1.0),
                d.unit() < 0.1,
                (d.unit() < 0.3, d.count(1.0), true),
            )
        };
        let (new_device, failed, fraud) = fraud;
        f.device_known = !new_device;
        f.failed.push(((Dimension::Device, Window::Hour), failed));
        // The simulation draws rupiah amounts.
        let typical = super::policy::typical_order_minor(crate::money::Currency::IDR) as f64;
        out.push((
            features_of((amount.max(1) as f64 / typical).ln(), &f, foreign),
            fraud,
        ));
    }
    out
}

/// Trains a logistic regression on `data` (batch gradient descent, L2 `lambda`), and records
/// its AUC on `holdout`.
// Features, means, scales and gradients are parallel arrays: indexed together.
#[allow(clippy::needless_range_loop)]
pub fn train(
    data: &[([f64; FEATURES], bool)],
    holdout: &[([f64; FEATURES], bool)],
    epochs: usize,
    rate: f64,
    lambda: f64,
) -> Model {
    let n = data.len().max(1) as f64;
    let mut mean = vec![0.0; FEATURES];
    let mut scale = vec![0.0; FEATURES];
    for (x, _) in data {
        for i in 0..FEATURES {
            mean[i] += x[i] / n;
        }
    }
    for (x, _) in data {
        for i in 0..FEATURES {
            scale[i] += (x[i] - mean[i]).powi(2) / n;
        }
    }
    for s in scale.iter_mut() {
        *s = s.sqrt().max(1e-9);
    }
    let mut model = Model {
        mean,
        scale,
        weights: vec![0.0; FEATURES],
        bias: 0.0,
        holdout_auc: 0.0,
    };
    for _ in 0..epochs {
        let mut grad = [0.0; FEATURES];
        let mut grad_bias = 0.0;
        for (x, y) in data {
            let err = model.probability(x) - if *y { 1.0 } else { 0.0 };
            for i in 0..FEATURES {
                grad[i] += err * (x[i] - model.mean[i]) / model.scale[i];
            }
            grad_bias += err;
        }
        for i in 0..FEATURES {
            model.weights[i] -= rate * (grad[i] / n + lambda * model.weights[i]);
        }
        model.bias -= rate * grad_bias / n;
    }
    model.holdout_auc = auc(&model, holdout);
    model
}

/// The area under the ROC curve: the chance a fraud scores above a good payment (ties half).
pub fn auc(model: &Model, data: &[([f64; FEATURES], bool)]) -> f64 {
    let mut scored: Vec<(f64, bool)> = data
        .iter()
        .map(|(x, y)| (model.probability(x), *y))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = scored.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = scored.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    // Rank sum of the positives (average ranks for ties).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < scored.len() {
        let mut j = i;
        while j + 1 < scored.len() && scored[j + 1].0 == scored[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += scored[i..=j].iter().filter(|(_, y)| *y).count() as f64 * rank;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// The seeds and sizes the shipped model is trained and held out on.
pub const TRAIN_SEED: u64 = 0x5eed_0001;
pub const HOLDOUT_SEED: u64 = 0x5eed_0002;
pub const TRAIN_SIZE: usize = 40_000;
pub const HOLDOUT_SIZE: usize = 20_000;

/// The project's training run: the simulation's training set, the model, its hold-out AUC.
pub fn train_shipped() -> Model {
    let data = simulate(TRAIN_SEED, TRAIN_SIZE);
    let holdout = simulate(HOLDOUT_SEED, HOLDOUT_SIZE);
    train(&data, &holdout, 400, 0.5, 1e-4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_is_seeded_and_has_its_shares() {
        let a = simulate(7, 5_000);
        assert_eq!(a, simulate(7, 5_000));
        let fraud = a.iter().filter(|(_, y)| *y).count() as f64 / a.len() as f64;
        assert!((0.07..0.13).contains(&fraud), "{fraud}");
    }

    #[test]
    fn a_burst_from_a_new_device_abroad_scores_higher_than_a_regular_order() {
        use crate::catalog::{Country, WalletId};
        use crate::money::{Currency, Money};
        use crate::payment::Customer;
        use crate::risk::{Input, ListHits};
        let m = Model::shipped();
        let home = Customer {
            id: Some("cus_1".into()),
            phone: Some("+6281234567890".into()),
            device_id: Some("dev-1".into()),
            ..Customer::default()
        };
        let abroad = Customer {
            phone: Some("+15551234567".into()),
            ..home.clone()
        };
        // A regular buyer: one order today before this one, on their own phone and device.
        let quiet = Figures {
            velocity: vec![
                ((Dimension::Ip, Window::Hour), 1, 0),
                ((Dimension::Phone, Window::Day), 1, 0),
                ((Dimension::Device, Window::Day), 1, 0),
            ],
            device_known: true,
            ..Figures::default()
        };
        let burst = Figures {
            velocity: vec![
                ((Dimension::Customer, Window::Hour), 4, 0),
                ((Dimension::Device, Window::Hour), 4, 0),
            ],
            failed: vec![((Dimension::Device, Window::Hour), 3)],
            device_known: false,
            ..Figures::default()
        };
        let lists = ListHits::default();
        let input = |c: &'_ Customer, f: &'_ Figures, amount: i64| -> u8 {
            m.score_input(&Input {
                amount: Money::positive(amount, Currency::IDR).unwrap(),
                country: Country::ID,
                wallet: WalletId::Dana,
                customer: c,
                figures: f,
                lists: &lists,
                model_score: None,
            })
        };
        let regular = input(&home, &quiet, 15_000_000);
        let takeover = input(&abroad, &burst, 60_000_000);
        assert!(regular < 20, "a regular order scores {regular}");
        assert!(
            takeover >= regular + 30,
            "a takeover scores {takeover}, a regular order {regular}"
        );
    }

    #[test]
    fn auc_counts_orderings() {
        let m = Model {
            mean: vec![0.0; FEATURES],
            scale: vec![1.0; FEATURES],
            weights: {
                let mut w = vec![0.0; FEATURES];
                w[0] = 1.0;
                w
            },
            bias: 0.0,
            holdout_auc: 0.0,
        };
        let at = |v: f64, y: bool| {
            let mut x = [0.0; FEATURES];
            x[0] = v;
            (x, y)
        };
        assert_eq!(auc(&m, &[at(1.0, false), at(2.0, true)]), 1.0);
        assert_eq!(auc(&m, &[at(2.0, false), at(1.0, true)]), 0.0);
        assert_eq!(auc(&m, &[at(1.0, false), at(1.0, true)]), 0.5);
    }

    /// The shipped model scores the generated hold-out set as well as it did when trained,
    /// and well: the figure the README states.
    #[test]
    fn the_shipped_model_scores_the_holdout_set() {
        let m = Model::shipped();
        let holdout = simulate(HOLDOUT_SEED, HOLDOUT_SIZE);
        let got = auc(&m, &holdout);
        assert!(
            (got - m.holdout_auc).abs() < 1e-9,
            "{got} against {}",
            m.holdout_auc
        );
        assert!(got >= 0.85, "hold-out AUC {got}");
    }
}
