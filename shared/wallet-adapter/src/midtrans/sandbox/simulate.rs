//! Settling a pending order as a tester or the checkout page says, with its notifications.

use super::*;
use crate::midtrans::wire::Transaction;
use crate::sandbox_kit::{now, Outcome, SimulateBody};
use crate::sandbox_kit::{SandboxError, Shown, Simulator};
use axum::http::StatusCode;
use axum::response::Response;

impl Simulator for MidtransSandbox {
    const NAME: &'static str = "Midtrans";
    const CHARGE: &'static str = "transaction";
    type Settled = Transaction;

    fn shown(&self, order_id: &str) -> Option<Shown> {
        let o = self.order(order_id)?;
        let t = o.transaction;
        let state = t.transaction_status.clone().unwrap_or_default();
        Some(Shown {
            method: t.payment_type.clone().unwrap_or_default(),
            amount: format!("IDR {}", t.gross_amount.clone().unwrap_or_default()),
            reference: order_id.to_string(),
            settled: (state != "pending").then_some(state),
        })
    }

    /// Settles a pending order and sends its notifications as `how` says.
    async fn simulate(
        &self,
        order_id: &str,
        how: &SimulateBody,
    ) -> Result<Transaction, SandboxError> {
        let (after, before) = {
            let mut orders = self.lock();
            let o = orders
                .get_mut(order_id)
                .ok_or_else(|| SandboxError::not_found(Self::CHARGE, order_id))?;
            if o.transaction.transaction_status.as_deref() != Some("pending") {
                return Err(SandboxError::Conflict(format!(
                    "order is {}",
                    o.transaction.transaction_status.clone().unwrap_or_default()
                )));
            }
            o.before = o.transaction.clone();
            let t = &mut o.transaction;
            let (code, status, message) = match how.outcome {
                Outcome::Success => ("200", "settlement", "Success, transaction is found"),
                Outcome::UserCancelled => ("200", "cancel", "Success, transaction is cancelled"),
                Outcome::Expired => ("407", "expire", "Success, transaction is expired"),
                _ => ("202", "deny", "Transaction is denied"),
            };
            t.status_code = code.into();
            t.transaction_status = Some(status.into());
            t.status_message = message.into();
            t.actions.clear();
            if status == "settlement" {
                t.settlement_time = Some(wib(now()));
                // A QRIS code: who paid it (by default the acquirer's own wallet, on-us).
                if let Some(acquirer) = t.acquirer.clone() {
                    let issuer = how.issuer.clone().unwrap_or_else(|| acquirer.clone());
                    t.transaction_type = Some(
                        if issuer == acquirer {
                            "on-us"
                        } else {
                            "off-us"
                        }
                        .into(),
                    );
                    t.issuer = Some(issuer);
                }
            }
            (t.clone(), o.before.clone())
        };
        if how.send_callback {
            self.notify(&after).await;
            if how.duplicate {
                self.notify(&after).await;
            }
            if how.stale_after {
                self.notify(&before).await;
            }
        }
        Ok(after)
    }

    fn return_to(&self, order_id: &str) -> Option<String> {
        self.order(order_id).and_then(|o| o.return_url)
    }

    fn refusal(&self, e: &SandboxError) -> Response {
        match e {
            SandboxError::NotFound { .. } => not_found(),
            SandboxError::Conflict(why) => status(StatusCode::CONFLICT, "412", why),
            SandboxError::BadRequest(why) => status(StatusCode::BAD_REQUEST, "400", why),
        }
    }
}
