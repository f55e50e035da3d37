//! What every sandbox's settlement data is made of, before it is written in the provider's
//! own format: the money movements the sandbox booked (a charge paid, a refund made or
//! undone), each with the fee its provider takes and the day it pays the money out; and the
//! faults a test can ask for, the same for every sandbox:
//!
//! `POST .../settlement/faults` with one of
//! - `{"fault": "other_amount", "reference": R, "amount_minor": N}`: list the movement `R`
//!   (our payment or refund id, or the provider's reference) with another amount;
//! - `{"fault": "other_fee", "reference": R, "fee_minor": N}`: take another fee on it;
//! - `{"fault": "other_currency", "reference": R, "currency": C}`: book it in another
//!   currency;
//! - `{"fault": "garble", "reference": R}`: write its amount so that it does not read (a
//!   malformed row);
//! - `{"fault": "drop", "reference": R}`: leave it out;
//! - `{"fault": "duplicate", "reference": R}`: list it twice;
//! - `{"fault": "reverse_refund", "reference": R}`: list a refund made as reversed;
//! - `{"fault": "late_payout", "reference": R, "days": N}`: pay it out N days later;
//! - `{"fault": "phantom", "date": D, "amount_minor": N, "currency": C}`: list on day D a
//!   charge nobody made;
//! - `{"fault": "late_report", "date": D}`: do not publish day D's data until
//!   `POST .../settlement/publish {"date": D}` (a provider that serves its data from a live
//!   API answers 503 for the day meanwhile: down).
//!
//! A settled charge whose webhook was lost is `simulate` with `"send_callback": false`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use walletpay_domain::{Currency, PaymentId, Timestamp};
use walletpay_reconcile::Date;

/// What a movement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    Charge,
    Refund,
}

/// A sandbox's booking of one money movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub kind: MoveKind,
    /// Listed as made and then undone (a refund returned).
    pub reversed: bool,
    /// Our payment id as the provider carries it.
    pub payment: Option<String>,
    /// Our refund id as the provider carries it (refunds).
    pub refund: Option<String>,
    /// The provider's id of the movement.
    pub reference: String,
    /// The provider's id of the charge (the same as `reference` for a charge).
    pub charge_reference: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub fee_minor: i64,
    pub at: Timestamp,
    /// When the provider pays the money out.
    pub value_at: Timestamp,
    /// The provider's name for the payment method.
    pub method: String,
    /// Listed so that its amount does not read (the `garble` fault).
    pub garbled: bool,
}

impl Movement {
    fn is(&self, reference: &str) -> bool {
        self.reference == reference
            || self.payment.as_deref() == Some(reference)
            || self.refund.as_deref() == Some(reference)
    }

    /// Whether the provider has paid it out by `now`.
    pub fn settled(&self, now: Timestamp) -> bool {
        self.value_at <= now
    }
}

/// A provider's fee: a percentage (basis points) rounded to the minor unit, halves up.
pub fn fee(amount_minor: i64, bps: i64) -> i64 {
    (amount_minor * bps + 5_000).div_euclid(10_000)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    OtherAmount {
        reference: String,
        amount_minor: i64,
    },
    OtherFee {
        reference: String,
        fee_minor: i64,
    },
    OtherCurrency {
        reference: String,
        currency: Currency,
    },
    Garble {
        reference: String,
    },
    Drop {
        reference: String,
    },
    Duplicate {
        reference: String,
    },
    ReverseRefund {
        reference: String,
    },
    LatePayout {
        reference: String,
        days: i64,
    },
    Phantom {
        date: Date,
        amount_minor: i64,
        currency: Currency,
    },
    LateReport {
        date: Date,
    },
}

/// The faults a sandbox was asked for.
#[derive(Debug, Default)]
pub struct Faults(Mutex<FaultState>);

#[derive(Debug, Default)]
struct FaultState {
    by_reference: HashMap<String, Vec<Fault>>,
    phantoms: Vec<(Date, Movement)>,
    late: BTreeSet<Date>,
}

impl Faults {
    pub fn add(&self, fault: Fault) {
        let mut s = self.0.lock().expect("sandbox lock");
        match fault {
            Fault::OtherAmount { ref reference, .. }
            | Fault::OtherFee { ref reference, .. }
            | Fault::OtherCurrency { ref reference, .. }
            | Fault::Garble { ref reference }
            | Fault::Drop { ref reference }
            | Fault::Duplicate { ref reference }
            | Fault::ReverseRefund { ref reference }
            | Fault::LatePayout { ref reference, .. } => {
                s.by_reference
                    .entry(reference.clone())
                    .or_default()
                    .push(fault.clone());
            }
            Fault::Phantom {
                date,
                amount_minor,
                currency,
            } => {
                let at = date.start(0).plus_seconds(12 * 3600);
                let stranger = PaymentId::new(at.millis(), rand::random());
                let reference = format!("phantom-{}", super::alnum(12));
                s.phantoms.push((
                    date,
                    Movement {
                        kind: MoveKind::Charge,
                        reversed: false,
                        payment: Some(stranger.to_string()),
                        refund: None,
                        reference: reference.clone(),
                        charge_reference: reference,
                        amount_minor,
                        currency,
                        fee_minor: 0,
                        at,
                        value_at: at,
                        method: "PHANTOM".into(),
                        garbled: false,
                    },
                ));
            }
            Fault::LateReport { date } => {
                s.late.insert(date);
            }
        }
    }

    /// The faults asked for any of `ids` (for a sandbox whose listing nests movements and
    /// applies them itself).
    pub fn matching(&self, ids: &[&str]) -> Vec<Fault> {
        let s = self.0.lock().expect("sandbox lock");
        s.by_reference
            .iter()
            .filter(|(r, _)| ids.contains(&r.as_str()))
            .flat_map(|(_, f)| f.iter().cloned())
            .collect()
    }

    /// The movements nobody made, by the day they are listed on.
    pub fn phantoms(&self) -> Vec<(Date, Movement)> {
        self.0.lock().expect("sandbox lock").phantoms.clone()
    }

    /// Publishes a day held back by `late_report`.
    pub fn publish(&self, date: Date) {
        self.0.lock().expect("sandbox lock").late.remove(&date);
    }

    /// Whether the day's data is out.
    pub fn published(&self, date: Date) -> bool {
        !self.0.lock().expect("sandbox lock").late.contains(&date)
    }

    /// The movements of `day` (booked in `[from, to)`) as the provider lists them, faults
    /// applied.
    pub fn apply(
        &self,
        day: Date,
        from: Timestamp,
        to: Timestamp,
        booked: Vec<Movement>,
    ) -> Vec<Movement> {
        let s = self.0.lock().expect("sandbox lock");
        let mut out = Vec::with_capacity(booked.len());
        for mut m in booked.into_iter().filter(|m| m.at >= from && m.at < to) {
            let faults: Vec<&Fault> = s
                .by_reference
                .iter()
                .filter(|(r, _)| m.is(r))
                .flat_map(|(_, f)| f.iter())
                .collect();
            let mut copies = 1;
            for f in faults {
                match f {
                    Fault::OtherAmount { amount_minor, .. } => m.amount_minor = *amount_minor,
                    Fault::OtherFee { fee_minor, .. } => m.fee_minor = *fee_minor,
                    Fault::OtherCurrency { currency, .. } => m.currency = *currency,
                    Fault::Garble { .. } => m.garbled = true,
                    Fault::Drop { .. } => copies = 0,
                    Fault::Duplicate { .. } => copies = copies.min(1) * 2,
                    Fault::ReverseRefund { .. } if m.kind == MoveKind::Refund => m.reversed = true,
                    Fault::LatePayout { days, .. } => {
                        m.value_at = m.value_at.plus_seconds(days * 86_400)
                    }
                    _ => {}
                }
            }
            for _ in 0..copies {
                out.push(m.clone());
            }
        }
        out.extend(
            s.phantoms
                .iter()
                .filter(|(d, _)| *d == day)
                .map(|(_, m)| m.clone()),
        );
        out.sort_by(|a, b| (a.at, &a.reference).cmp(&(b.at, &b.reference)));
        out
    }
}

/// A sandbox whose settlement data can be told to go wrong.
pub trait Settles: Clone + Send + Sync + 'static {
    fn faults(&self) -> &Faults;
}

/// `POST .../settlement/faults`.
pub async fn add_fault<S: Settles>(State(sb): State<S>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) => {
            sb.faults().add(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": format!("not a settlement fault: {e}")})),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    pub date: Date,
}

/// `POST .../settlement/publish {"date": D}`: day D's data, held back, is out.
pub async fn publish<S: Settles>(State(sb): State<S>, Json(body): Json<PublishBody>) -> Response {
    sb.faults().publish(body.date);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET .../statements?date=D`: day D's statement (the day in the provider's time zone,
/// `offset_minutes` east of UTC), 404 while it is held back or for a day not yet over there.
pub fn statement(
    faults: &Faults,
    date: &str,
    offset_minutes: i32,
    booked: Vec<Movement>,
    render: impl FnOnce(&[Movement]) -> String,
) -> Response {
    let Some(day) = Date::parse(date) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "date must be YYYY-MM-DD"})),
        )
            .into_response();
    };
    if !faults.published(day) {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": format!("no statement for {day} yet")})),
        )
            .into_response();
    }
    let listed = faults.apply(
        day,
        day.start(offset_minutes),
        day.end(offset_minutes),
        booked,
    );
    super::csv(render(&listed))
}

/// Major units of a signed amount, with the currency's ISO 4217 decimals.
pub fn major(minor: i64, currency: Currency) -> String {
    let text = walletpay_domain::Money {
        minor: minor.abs(),
        currency,
    }
    .decimal_string(currency.exponent());
    if minor < 0 {
        format!("-{text}")
    } else {
        text
    }
}

/// `YYYY-MM-DD HH:MM:SS` at `offset_minutes` east of UTC.
pub fn local(t: Timestamp, offset_minutes: i32) -> String {
    t.plus_seconds(offset_minutes as i64 * 60).to_string()[..19].replace('T', " ")
}

/// RFC 3339 at `offset_minutes` east of UTC (`2026-12-01T07:30:00+07:00`).
pub fn local_rfc3339(t: Timestamp, offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.abs();
    format!(
        "{}{sign}{:02}:{:02}",
        local(t, offset_minutes).replace(' ', "T"),
        m / 60,
        m % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(reference: &str, at: Timestamp) -> Movement {
        Movement {
            kind: MoveKind::Charge,
            reversed: false,
            payment: Some(format!("pay-{reference}")),
            refund: None,
            reference: reference.into(),
            charge_reference: reference.into(),
            amount_minor: 10_000,
            currency: Currency::IDR,
            fee_minor: 150,
            at,
            value_at: at.plus_seconds(86_400),
            method: "DANA".into(),
            garbled: false,
        }
    }

    #[test]
    fn each_fault_changes_what_is_listed() {
        let day = Date::parse("2026-12-01").unwrap();
        let (from, to) = (day.start(0), day.end(0));
        let at = from.plus_seconds(3600);
        let f = Faults::default();
        let plain = vec![
            charge("a", at),
            charge("b", at),
            charge("c", at),
            charge("d", at),
            charge("e", at),
        ];
        assert_eq!(
            f.apply(day, from, to, plain.clone()),
            plain,
            "no fault, nothing changed"
        );
        f.add(
            serde_json::from_str(
                r#"{"fault":"other_amount","reference":"pay-a","amount_minor":9000}"#,
            )
            .unwrap(),
        );
        f.add(serde_json::from_str(r#"{"fault":"drop","reference":"b"}"#).unwrap());
        f.add(serde_json::from_str(r#"{"fault":"duplicate","reference":"c"}"#).unwrap());
        f.add(
            serde_json::from_str(r#"{"fault":"other_fee","reference":"d","fee_minor":999}"#)
                .unwrap(),
        );
        f.add(serde_json::from_str(r#"{"fault":"late_payout","reference":"e","days":5}"#).unwrap());
        f.add(
            serde_json::from_str(
                r#"{"fault":"phantom","date":"2026-12-01","amount_minor":777,"currency":"IDR"}"#,
            )
            .unwrap(),
        );
        let listed = f.apply(day, from, to, plain);
        let refs: Vec<&str> = listed.iter().map(|m| m.reference.as_str()).collect();
        assert_eq!(refs.iter().filter(|r| **r == "c").count(), 2);
        assert!(!refs.contains(&"b"));
        assert_eq!(
            listed
                .iter()
                .find(|m| m.reference == "a")
                .unwrap()
                .amount_minor,
            9000
        );
        assert_eq!(
            listed
                .iter()
                .find(|m| m.reference == "d")
                .unwrap()
                .fee_minor,
            999
        );
        assert_eq!(
            listed.iter().find(|m| m.reference == "e").unwrap().value_at,
            at.plus_seconds(6 * 86_400)
        );
        let phantom = listed
            .iter()
            .find(|m| m.reference.starts_with("phantom-"))
            .unwrap();
        assert_eq!(phantom.amount_minor, 777);
        assert!(
            PaymentId::parse(phantom.payment.as_deref().unwrap()).is_some(),
            "it looks like one of ours"
        );
        // Another day shows neither the phantom nor the day's movements.
        let next = day.plus_days(1);
        assert!(f
            .apply(next, next.start(0), next.end(0), vec![charge("a", at)])
            .is_empty());
        // A late day is out once published.
        f.add(Fault::LateReport { date: day });
        assert!(!f.published(day) && f.published(next));
        f.publish(day);
        assert!(f.published(day));
        assert!(serde_json::from_str::<Fault>(r#"{"fault":"drop"}"#).is_err());
        assert_eq!(fee(10_000, 150), 150);
        assert_eq!(fee(33, 150), 0);
        assert_eq!(fee(100, 150), 2);
    }
}
