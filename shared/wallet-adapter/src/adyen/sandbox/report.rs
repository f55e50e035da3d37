//! The sandbox's Settlement details reports: one payable batch per UTC day, closed at
//! midnight; `POST .../settlement/publish {"date": D}` makes the file of day D
//! (`settlement_detail_report_batch_<n>.csv`, n the day's number) and sends the signed
//! `REPORT_AVAILABLE` notification for it, dated the next day, 00:05; the file is downloaded
//! from `/reports/download/MerchantAccount/<account>/<file>` with the report user's
//! `X-API-Key` ([`SANDBOX_REPORT_API_KEY`]). Its lines: `Settled` per authorised payment,
//! `Refunded` per refund made (and `RefundedReversed` after one undone), and the batch's
//! `MerchantPayout`; a 2.9% commission on payments; the faults a test asked for.

use super::*;
use crate::adyen::mapping::{adyen_amount, adyen_exponent};
use crate::sandbox_kit::csv_line;
use crate::sandbox_kit::settlement::{fee, MoveKind, Movement, Settles};
use axum::extract::{Path, State};
use walletpay_domain::Money;
use walletpay_reconcile::Date;

/// The report user's API key in the sandbox (the role "Merchant Report Download role").
pub const SANDBOX_REPORT_API_KEY: &str = "AQE_walletpay_sandbox_report_user_key";
pub const FEE_BPS: i64 = 290;

const COLUMNS: [&str; 23] = [
    "Company Account",
    "Merchant Account",
    "Psp Reference",
    "Merchant Reference",
    "Payment Method",
    "Creation Date",
    "TimeZone",
    "Type",
    "Modification Reference",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
    "Exchange Rate",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
    "Payment Method Variant",
    "Modification Merchant Reference",
    "Batch Number",
];

impl Settles for AdyenSandbox {
    fn faults(&self) -> &crate::sandbox_kit::settlement::Faults {
        &self.inner.faults
    }
}

pub fn file_name(day: Date) -> String {
    format!("settlement_detail_report_batch_{}.csv", batch(day))
}

fn batch(day: Date) -> i64 {
    day.0 as i64
}

impl AdyenSandbox {
    /// Every money movement booked so far.
    pub fn movements(&self) -> Vec<Movement> {
        let payments = self.lock();
        let mut out: Vec<Movement> = payments
            .values()
            .filter(|p| p.state == "authorised")
            .map(|p| {
                let m = crate::adyen::mapping::from_adyen(p.amount.value, p.amount.currency);
                Movement {
                    kind: MoveKind::Charge,
                    reversed: false,
                    payment: Some(p.merchant_reference.clone()),
                    refund: None,
                    reference: p.psp_reference.clone(),
                    charge_reference: p.psp_reference.clone(),
                    amount_minor: m.minor,
                    currency: m.currency,
                    fee_minor: adyen_round(fee(m.minor, FEE_BPS), m.currency),
                    at: p.created,
                    value_at: p.created,
                    garbled: false,
                    method: p.method.clone(),
                }
            })
            .collect();
        for r in self.inner.refunds.lock().expect("sandbox lock").values() {
            if !matches!(r.state.as_str(), "refunded" | "reversed") {
                continue;
            }
            let m = crate::adyen::mapping::from_adyen(r.amount.value, r.amount.currency);
            let payment = payments.get(&r.payment_psp_reference);
            out.push(Movement {
                kind: MoveKind::Refund,
                reversed: r.state == "reversed",
                payment: payment.map(|p| p.merchant_reference.clone()),
                refund: r.reference.split_once(':').map(|(_, rf)| rf.to_string()),
                reference: r.psp_reference.clone(),
                charge_reference: r.payment_psp_reference.clone(),
                amount_minor: m.minor,
                currency: m.currency,
                fee_minor: 0,
                at: r.created,
                value_at: r.created,
                garbled: false,
                method: payment.map(|p| p.method.clone()).unwrap_or_default(),
            });
        }
        out
    }

    /// The settlement details report of day D's batch.
    pub fn settlement_details(&self, day: Date) -> String {
        let listed = self
            .faults()
            .apply(day, day.start(0), day.end(0), self.movements());
        let account = self.inner.config.merchant_account.clone();
        let when = |t: Timestamp| t.to_string()[..19].replace('T', " ");
        // Major units with Adyen's decimals for the currency (rupiah and dong whole).
        let money = |minor: i64, c: walletpay_domain::Currency| -> String {
            let value = match adyen_amount(Money { minor, currency: c }) {
                Ok(a) => a.value,
                Err(_) => minor,
            };
            match adyen_exponent(c) {
                0 => value.to_string(),
                e => {
                    let unit = 10i64.pow(e);
                    format!(
                        "{}.{:0width$}",
                        value / unit,
                        value % unit,
                        width = e as usize
                    )
                }
            }
        };
        let mut out = csv_line(&COLUMNS.map(String::from));
        let mut payout: BTreeMap<&'static str, (walletpay_domain::Currency, i64)> = BTreeMap::new();
        for m in &listed {
            let c = m.currency;
            let mut lines: Vec<(&str, i64, i64)> = Vec::new(); // (type, signed gross, fee)
            match m.kind {
                MoveKind::Charge => lines.push(("Settled", m.amount_minor, m.fee_minor)),
                MoveKind::Refund => {
                    lines.push(("Refunded", -m.amount_minor, 0));
                    if m.reversed {
                        lines.push(("RefundedReversed", m.amount_minor, 0));
                    }
                }
            }
            for (journal, gross, fee) in lines {
                let net = gross - fee;
                let (gd, mut gc) = if gross < 0 {
                    (money(-gross, c), String::new())
                } else {
                    (String::new(), money(gross, c))
                };
                if m.garbled {
                    gc = "1.500,00".into();
                }
                let (nd, nc) = if net < 0 {
                    (money(-net, c), String::new())
                } else {
                    (String::new(), money(net, c))
                };
                let modification_merchant_reference = match (m.kind, &m.payment, &m.refund) {
                    (MoveKind::Refund, Some(p), Some(r)) => format!("{p}:{r}"),
                    _ => String::new(),
                };
                out.push_str(&csv_line(&[
                    "WalletpayCompany".into(),
                    account.clone(),
                    m.charge_reference.clone(),
                    m.payment.clone().unwrap_or_default(),
                    m.method.clone(),
                    when(m.at),
                    "UTC".into(),
                    journal.into(),
                    m.reference.clone(),
                    c.code().into(),
                    gd,
                    gc,
                    "1".into(),
                    c.code().into(),
                    nd,
                    nc,
                    money(fee, c),
                    money(0, c),
                    money(0, c),
                    money(0, c),
                    m.method.clone(),
                    modification_merchant_reference,
                    batch(day).to_string(),
                ]));
                payout.entry(c.code()).or_insert((c, 0)).1 += net;
            }
        }
        for (_, (c, net)) in payout {
            if net <= 0 {
                continue;
            }
            out.push_str(&csv_line(&[
                "WalletpayCompany".into(),
                account.clone(),
                String::new(),
                String::new(),
                String::new(),
                when(day.end(0)),
                "UTC".into(),
                "MerchantPayout".into(),
                format!("Payout batch {}", batch(day)),
                c.code().into(),
                String::new(),
                String::new(),
                "1".into(),
                c.code().into(),
                money(net, c),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                batch(day).to_string(),
            ]));
        }
        out
    }

    /// Announces day D's batch report: the signed `REPORT_AVAILABLE` notification.
    pub async fn announce(&self, day: Date) -> Option<u16> {
        let file = file_name(day);
        let fields = SignedFields {
            psp_reference: &file,
            original_reference: "",
            merchant_account_code: &self.inner.config.merchant_account,
            merchant_reference: "",
            value: 0,
            currency: "EUR",
            event_code: "REPORT_AVAILABLE",
            success: "true",
        };
        let signature = sign(&self.inner.config.hmac_key, &fields.signing_string())
            .expect("the sandbox's HMAC key is hex");
        let item = NotificationRequestItem {
            additional_data: Some(BTreeMap::from([("hmacSignature".to_string(), signature)])),
            amount: NotificationAmount {
                currency: "EUR".into(),
                value: 0,
            },
            event_code: "REPORT_AVAILABLE".into(),
            event_date: day.plus_days(1).start(0).plus_seconds(300).to_string(),
            merchant_account_code: self.inner.config.merchant_account.clone(),
            merchant_reference: String::new(),
            original_reference: None,
            psp_reference: file.clone(),
            payment_method: None,
            reason: format!(
                "{}/reports/download/MerchantAccount/{}/{file}",
                self.inner.config.public_url, self.inner.config.merchant_account
            ),
            success: "true".into(),
        };
        self.deliver(item).await
    }
}

/// A fee in Adyen's decimals for the currency (rupiah whole).
fn adyen_round(minor: i64, c: walletpay_domain::Currency) -> i64 {
    let factor = 10i64.pow(c.exponent() - adyen_exponent(c));
    (minor + factor / 2).div_euclid(factor) * factor
}

/// `POST /settlement/publish {"date": D}`: closes day D's batch and announces its report.
pub(super) async fn publish(
    State(sb): State<AdyenSandbox>,
    Json(body): Json<kit::settlement::PublishBody>,
) -> Response {
    sb.faults().publish(body.date);
    let status = sb.announce(body.date).await;
    Json(serde_json::json!({"file": file_name(body.date), "notification_status": status}))
        .into_response()
}

/// `GET /reports/download/MerchantAccount/{account}/{file}` with the report user's key.
pub(super) async fn download(
    State(sb): State<AdyenSandbox>,
    headers: HeaderMap,
    Path((account, file)): Path<(String, String)>,
) -> Response {
    let key_ok = headers
        .get("x-api-key")
        .is_some_and(|v| crate::credentials::equals_any(v.as_bytes(), &[SANDBOX_REPORT_API_KEY]));
    if !key_ok {
        return unauthorized();
    }
    let day = file
        .strip_prefix("settlement_detail_report_batch_")
        .and_then(|n| n.strip_suffix(".csv"))
        .and_then(|n| n.parse::<i32>().ok())
        .map(Date);
    match day {
        Some(day) if account == sb.inner.config.merchant_account && sb.faults().published(day) => {
            kit::csv(sb.settlement_details(day))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "000",
            "Report not found",
            "validation",
        ),
    }
}
