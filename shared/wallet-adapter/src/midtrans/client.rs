use super::mapping::{
    gross_amount, next_action, parse_gross, payment_type, qris_refund_refusal, transaction_status,
};
use super::signature::verify;
use super::wire::{
    ChargeRequest as MidtransCharge, CustomExpiry, CustomerDetails, GopayOptions, QrisOptions,
    RefundRequest as MidtransRefund, ShopeepayOptions, Transaction, TransactionDetails,
};
use crate::adapter::{
    AdapterError, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, RefundOutcome,
    RefundRequest, WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
use crate::adapter::{Cancel, Recovered, RefundCheck, RefundSupport};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use walletpay_domain::{Country, Failure, FailureCode, Money, PaymentId, Provider, WalletId};
use walletpay_ports::{Clock, Secrets, SystemClock};

/// The JSON held in the Secrets port under [`MidtransConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct MidtransCredentials {
    /// Authenticates our calls and, in `signature_key`, Midtrans's notifications.
    pub server_key: SecretString,
    /// Still accepted on notifications while a key rotation is under way.
    #[serde(default)]
    pub previous_server_key: Option<SecretString>,
}

impl Checked for MidtransCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::text_key("server_key", &self.server_key)?;
        credentials::optional_text_key("previous_server_key", &self.previous_server_key)
    }
}

#[derive(Debug, Clone)]
pub struct MidtransConfig {
    /// `https://api.midtrans.com` in production, `https://api.sandbox.midtrans.com` for
    /// Midtrans's own sandbox; ours locally.
    pub base_url: String,
    pub secret_name: String,
    pub timeout: Duration,
    /// Where the day's statement file is fetched (`?date=YYYY-MM-DD`); none: no settlement
    /// source.
    pub statements_url: Option<String>,
}

impl MidtransConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        MidtransConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/midtrans".into(),
            timeout: Duration::from_secs(10),
            statements_url: None,
        }
    }
}

pub struct Midtrans {
    http: reqwest::Client,
    config: MidtransConfig,
    credentials: CredentialSource,
    clock: Arc<dyn Clock>,
}

/// An order id goes into a URL path: ours are `pay_` + base32.
fn safe_order(r: &str) -> Result<(), AdapterError> {
    let ok = !r.is_empty()
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or(AdapterError::NotFound)
}

impl Midtrans {
    pub fn new(config: MidtransConfig, secrets: Arc<dyn Secrets>) -> Self {
        Self::with_clock(config, secrets, Arc::new(SystemClock))
    }

    pub fn with_clock(
        config: MidtransConfig,
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        Midtrans {
            http,
            credentials: CredentialSource::new("Midtrans", secrets, config.secret_name.clone()),
            config,
            clock,
        }
    }

    async fn credentials(&self) -> Result<MidtransCredentials, CredentialError> {
        self.credentials.load().await
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn statements_url(&self) -> &Option<String> {
        &self.config.statements_url
    }

    pub(super) async fn settlement_credentials(
        &self,
    ) -> Result<MidtransCredentials, CredentialError> {
        self.credentials().await
    }

    /// Sends a request with Basic auth (server key, empty password). Midtrans often answers
    /// HTTP 200 with an error in `status_code`, so both are read.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Transaction, AdapterError> {
        let creds = self.credentials().await?;
        let req = req
            .basic_auth(creds.server_key.expose_secret(), Some(""))
            .header("accept", "application/json");
        let (http, body) = crate::adapter::exchange("Midtrans", req).await?;
        let http = http.as_u16();
        let t: Transaction = match serde_json::from_slice(&body) {
            Ok(t) => t,
            Err(_) if http >= 500 => {
                return Err(AdapterError::Unknown(format!("Midtrans answered {http}")))
            }
            Err(e) => {
                return Err(AdapterError::Unknown(format!(
                    "unreadable Midtrans answer ({http}): {e}"
                )))
            }
        };
        let code: u16 = t.status_code.parse().unwrap_or(http);
        match code {
            200..=202 | 407 => Ok(t),
            404 => Err(AdapterError::NotFound),
            401 => Err(AdapterError::Config(format!(
                "Midtrans refused our server key: {}",
                t.status_message
            ))),
            c if c >= 500 || http >= 500 => Err(AdapterError::Unknown(format!(
                "Midtrans answered {c}: {}",
                t.status_message
            ))),
            // A duplicate order id: a charge for it exists (a retry of a create that
            // went through); a status check finds it.
            406 => Err(AdapterError::Unknown(format!(
                "Midtrans 406: {}",
                t.status_message
            ))),
            // 400 validation, 402 channel not activated, 412/414 refund refused: nothing
            // was done.
            402 => Err(AdapterError::Declined(Failure::new(
                FailureCode::AccountNotActivated,
                Some("402".into()),
            ))),
            c => Err(AdapterError::Unsupported(format!(
                "Midtrans {c}: {}",
                t.status_message
            ))),
        }
    }

    /// The charge a create answered (`recovering`: the order as a status answer shows it,
    /// after a create whose answer was lost).
    async fn created(
        &self,
        t: Transaction,
        amount: Money,
        recovering: bool,
    ) -> Result<ChargeCreated, AdapterError> {
        let order = t
            .order_id
            .clone()
            .ok_or_else(|| AdapterError::Unknown("Midtrans answered without an order_id".into()))?;
        let next_action = match next_action(&t, amount) {
            Ok(a) => a,
            // The order exists and the customer was never shown it: nothing to show now
            // (status answers carry no code); it waits, and ends at the payment's expiry.
            Err(e) if recovering => {
                tracing::warn!(order = %order, error = %e, "a recovered QRIS order has no code to show");
                None
            }
            Err(e) => {
                // A QRIS code no app can read (or for another amount) must not be shown;
                // nobody can pay the order, and it is canceled so nobody ever does.
                tracing::error!(order = %order, error = %e, "Midtrans answered a QRIS code that is not this payment's; canceled");
                match self.cancel_charge(&order).await {
                    Ok(Cancel::Canceled) => {}
                    other => {
                        tracing::error!(order = %order, answer = ?other, "the order with the unreadable code could not be canceled; reconcile")
                    }
                }
                return Err(AdapterError::Declined(Failure::new(
                    FailureCode::WalletUnavailable,
                    Some("INVALID_QR".into()),
                )));
            }
        };
        Ok(ChargeCreated {
            next_action,
            status: transaction_status(&t),
            provider_reference: order,
        })
    }
}

#[async_trait]
impl WalletAdapter for Midtrans {
    fn provider(&self) -> Provider {
        Provider::Midtrans
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        payment_type(country, wallet).is_some()
    }

    /// `POST /v2/charge` with our payment id as `order_id` (Midtrans refuses a second
    /// charge with the same order id, 406). The provider reference we keep is the order id:
    /// status, cancel and refund all address it.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        let kind = payment_type(req.country, req.wallet).ok_or_else(|| {
            AdapterError::Unsupported(format!("{} in {} at Midtrans", req.wallet, req.country))
        })?;
        let body = MidtransCharge {
            payment_type: kind.into(),
            transaction_details: TransactionDetails {
                order_id: req.payment_id.to_string(),
                gross_amount: gross_amount(req.amount).map_err(AdapterError::Unsupported)?,
            },
            customer_details: Some(CustomerDetails {
                email: req.customer.email.clone(),
                phone: req.customer.phone.clone(),
            }),
            gopay: (kind == "gopay").then(|| GopayOptions {
                enable_callback: req.return_url.is_some(),
                callback_url: req.return_url.map(str::to_string),
            }),
            shopeepay: (kind == "shopeepay").then(|| ShopeepayOptions {
                callback_url: req.return_url.map(str::to_string),
            }),
            // GoPay makes the code (Midtrans's default acquirer, with the refund windows
            // `mapping::qris_refund_refusal` knows).
            qris: (kind == "qris").then(|| QrisOptions {
                acquirer: "gopay".into(),
            }),
            // The payment's own expiry, counted from the transaction time.
            custom_expiry: Some(CustomExpiry {
                order_time: None,
                expiry_duration: ((req.expires_at.millis() - self.clock.now().millis()) / 1000)
                    .max(1),
                unit: Some("second".into()),
            }),
        };
        let t = self
            .call(
                self.http
                    .post(format!("{}/v2/charge", self.config.base_url))
                    .json(&body),
            )
            .await?;
        self.created(t, req.amount, false).await
    }

    /// Midtrans can be asked about an order by our own id.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        match self
            .call(self.http.get(format!(
                "{}/v2/{}/status",
                self.config.base_url, req.payment_id
            )))
            .await
        {
            Ok(t) => self
                .created(t, req.amount, true)
                .await
                .map(Recovered::Found),
            Err(AdapterError::NotFound) => Ok(Recovered::NothingMade),
            Err(e) => Err(e),
        }
    }

    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        safe_order(provider_reference)?;
        let t = self
            .call(self.http.get(format!(
                "{}/v2/{provider_reference}/status",
                self.config.base_url
            )))
            .await?;
        Ok(transaction_status(&t))
    }

    /// `POST /v2/{order_id}/refund` with our refund id as `refund_key` (Midtrans's
    /// idempotency key for refunds). GoPay and ShopeePay refunds are approved or refused at
    /// once.
    /// A QRIS payment is refunded within its window only (see `mapping`): Midtrans is asked
    /// who paid it and when.
    async fn refund_support(&self, check: &RefundCheck<'_>) -> Result<RefundSupport, AdapterError> {
        if check.wallet != WalletId::Qris {
            return Ok(RefundSupport::Supported);
        }
        safe_order(check.charge_reference)?;
        let t = self
            .call(self.http.get(format!(
                "{}/v2/{}/status",
                self.config.base_url, check.charge_reference
            )))
            .await?;
        Ok(match qris_refund_refusal(&t, self.clock.now()) {
            Some(why) => RefundSupport::Refused(why),
            None => RefundSupport::Supported,
        })
    }

    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        safe_order(req.charge_reference)?;
        let body = MidtransRefund {
            refund_key: req.refund_id.to_string(),
            amount: gross_amount(req.amount).map_err(AdapterError::Unsupported)?,
            reason: Some(req.reason.as_str().into()),
        };
        let answer = self
            .call(
                self.http
                    .post(format!(
                        "{}/v2/{}/refund",
                        self.config.base_url, req.charge_reference
                    ))
                    .json(&body),
            )
            .await;
        match answer {
            // Money returned only when Midtrans says so: 200 with the transaction now
            // (partly) refunded.
            Ok(t)
                if t.status_code == "200"
                    && matches!(
                        t.transaction_status.as_deref(),
                        Some("refund" | "partial_refund")
                    ) =>
            {
                Ok(RefundOutcome::Succeeded {
                    provider_reference: t
                        .refund_chargeback_id
                        .map(|id| id.to_string())
                        .unwrap_or_else(|| req.refund_id.to_string()),
                })
            }
            Ok(t) => Err(AdapterError::Unknown(format!(
                "Midtrans answered the refund with {} {:?}",
                t.status_code, t.transaction_status
            ))),
            Err(AdapterError::Unsupported(why)) => Ok(RefundOutcome::Failed {
                provider_reference: None,
                failure: Failure::new(FailureCode::Unknown, Some(why)),
            }),
            Err(e) => Err(e),
        }
    }

    /// Midtrans has no refund lookup: a refund it took but did not answer stays pending
    /// here; the worker's next attempt repeats the refund call under the same `refund_key`,
    /// which Midtrans answers with the refund already made.
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        Ok(RefundOutcome::Pending {
            provider_reference: refund_reference.to_string(),
        })
    }

    /// `POST /v2/{order_id}/cancel` cancels a pending GoPay/ShopeePay transaction.
    /// `POST /v2/{order_id}/cancel`; a settled order answers 412 ("Merchant cannot modify the
    /// status of the transaction").
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        safe_order(provider_reference)?;
        match self
            .call(self.http.post(format!(
                "{}/v2/{provider_reference}/cancel",
                self.config.base_url
            )))
            .await
        {
            Ok(t) if t.transaction_status.as_deref() == Some("cancel") => Ok(Cancel::Canceled),
            Ok(_) | Err(AdapterError::Unsupported(_) | AdapterError::Declined(_)) => {
                Ok(Cancel::Refused)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks `signature_key`; the event then only asks for a status check (`confirm`),
    /// since nothing in the notification rules out a replay.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        let creds = self.credentials().await?;
        let t: Transaction =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let (Some(order), Some(gross), Some(sig)) =
            (&t.order_id, &t.gross_amount, &t.signature_key)
        else {
            return Err(WebhookError::Unauthenticated);
        };
        let keys = credentials::current_and_previous(&creds.server_key, &creds.previous_server_key);
        if !verify(order, &t.status_code, gross, &keys, sig) {
            return Err(WebhookError::Unauthenticated);
        }
        Ok(vec![ProviderEvent {
            provider: Provider::Midtrans,
            payment_id: PaymentId::parse(order),
            provider_reference: order.clone(),
            status: transaction_status(&t),
            amount: parse_gross(gross),
            occurred_at: None,
            refund: None,
            confirm: true,
            report: None,
        }])
    }

    fn has_settlement_source(&self) -> bool {
        self.config.statements_url.is_some()
    }

    async fn settlement(
        &self,
        day: &crate::settlement::SettlementDay<'_>,
        sink: crate::settlement::RowSink<'_>,
    ) -> Result<crate::settlement::SourceRead, crate::settlement::SettlementError> {
        self.read_settlement(day, sink).await
    }

    fn webhook_ack(&self) -> WebhookAck {
        WebhookAck {
            status: 200,
            content_type: "application/json",
            body: r#"{"received":true}"#.into(),
        }
    }
}
