use super::mapping::{payment_of, references, refund_outcome, split_reference, thb};
use super::signature;
use super::wire::{
    Bill, BillPayment, BillRefs, ErrorBody, List, Notification, Refund, RefundRequest as BankRefund,
};
use crate::adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, Recovered,
    RefundOutcome, RefundRequest, RefundUpdate, WalletAdapter, WebhookAck, WebhookError,
    WebhookRequest,
};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use walletpay_domain::emv::PromptPayBill;
use walletpay_domain::{
    Country, Failure, FailureCode, Money, NextAction, Provider, Timestamp, WalletId,
};
use walletpay_ports::{Clock, Secrets, SystemClock};

/// The JSON held in the Secrets port under [`PromptPayConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct PromptPayCredentials {
    /// The merchant's biller id at its bank (tax id + suffix, 15 digits).
    pub biller_id: String,
    /// Bearer key of the bank's API.
    pub api_key: SecretString,
    /// Signs the bank's callbacks.
    pub webhook_secret: SecretString,
    #[serde(default)]
    pub previous_webhook_secret: Option<SecretString>,
}

impl Checked for PromptPayCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required("biller_id", &self.biller_id)?;
        if self.biller_id.len() != 15 || !self.biller_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("`biller_id` is not 15 digits".into());
        }
        credentials::required_secret("api_key", &self.api_key)?;
        credentials::text_key("webhook_secret", &self.webhook_secret)?;
        credentials::optional_text_key("previous_webhook_secret", &self.previous_webhook_secret)
    }
}

#[derive(Debug, Clone)]
pub struct PromptPayConfig {
    /// The acquiring bank's bill-payment API.
    pub base_url: String,
    pub secret_name: String,
    pub timeout: Duration,
    /// Where the day's statement file is fetched (`?date=YYYY-MM-DD`); none: no settlement
    /// source.
    pub statements_url: Option<String>,
}

impl PromptPayConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        PromptPayConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/promptpay".into(),
            timeout: Duration::from_secs(10),
            statements_url: None,
        }
    }
}

/// PromptPay without an aggregator: the QR is built here; the acquiring bank reports the
/// payment.
pub struct PromptPay {
    http: reqwest::Client,
    config: PromptPayConfig,
    credentials: CredentialSource,
    clock: Arc<dyn Clock>,
}

fn qr(
    biller_id: &str,
    ref1: String,
    ref2: String,
    amount: Money,
) -> Result<ChargeCreated, AdapterError> {
    let bill = PromptPayBill {
        biller_id: biller_id.to_string(),
        ref1: ref1.clone(),
        ref2: Some(ref2.clone()),
        amount,
    };
    let data = bill
        .payload()
        .map_err(|e| AdapterError::Unsupported(e.to_string()))?;
    Ok(ChargeCreated {
        provider_reference: format!("{ref1}{ref2}"),
        status: ProviderStatus::Pending,
        next_action: Some(NextAction::Qr { data }),
    })
}

impl PromptPay {
    pub fn new(config: PromptPayConfig, secrets: Arc<dyn Secrets>) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        PromptPay {
            http,
            credentials: CredentialSource::new("PromptPay", secrets, config.secret_name.clone()),
            config,
            clock: Arc::new(SystemClock),
        }
    }

    async fn credentials(&self) -> Result<PromptPayCredentials, CredentialError> {
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
    ) -> Result<PromptPayCredentials, CredentialError> {
        self.credentials().await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, AdapterError> {
        let creds = self.credentials().await?;
        let req = req.bearer_auth(creds.api_key.expose_secret());
        let (status, body) = crate::adapter::exchange("bank", req).await?;
        let status = status.as_u16();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map_err(|e| AdapterError::Unknown(format!("unreadable bank answer: {e}")));
        }
        let err: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        match status {
            404 => Err(AdapterError::NotFound),
            401 | 403 => Err(AdapterError::Config(format!(
                "bank refused our key: {}",
                err.error.message
            ))),
            // 409: a request under this key is in flight or another exists: may have acted.
            s if s >= 500 || s == 429 || s == 409 => Err(AdapterError::Unknown(format!(
                "bank answered {s} {}",
                err.error.code
            ))),
            _ => Err(AdapterError::Unsupported(format!(
                "{}: {}",
                err.error.code, err.error.message
            ))),
        }
    }

    /// The bill registered under these references, if any.
    async fn bill(
        &self,
        biller_id: &str,
        ref1: &str,
        ref2: &str,
    ) -> Result<Option<Bill>, AdapterError> {
        let list: List<Bill> = self
            .call(
                self.http
                    .get(format!("{}/v1/bills", self.config.base_url))
                    .query(&[("biller_id", biller_id), ("ref1", ref1), ("ref2", ref2)]),
            )
            .await?;
        Ok(list.data.into_iter().next())
    }

    async fn payments(
        &self,
        biller_id: &str,
        ref1: &str,
        ref2: &str,
    ) -> Result<Vec<BillPayment>, AdapterError> {
        let list: List<BillPayment> = self
            .call(
                self.http
                    .get(format!("{}/v1/bill-payments", self.config.base_url))
                    .query(&[("biller_id", biller_id), ("ref1", ref1), ("ref2", ref2)]),
            )
            .await?;
        Ok(list.data)
    }
}

#[async_trait]
impl WalletAdapter for PromptPay {
    fn provider(&self) -> Provider {
        Provider::Promptpay
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        country == Country::TH && wallet == WalletId::Promptpay
    }

    /// Registers the bill with the bank (`POST /v1/bills`, our payment id as the
    /// `Idempotency-Key`), then builds the dynamic bill-payment QR here (tag 30: the
    /// merchant's biller id, our payment as the references, the amount); any Thai banking
    /// app pays it.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        if !self.supports(req.country, req.wallet) {
            return Err(AdapterError::Unsupported(format!(
                "{} in {}",
                req.wallet, req.country
            )));
        }
        let creds = self.credentials().await?;
        let (ref1, ref2) = references(req.payment_id);
        let bill = Bill {
            biller_id: creds.biller_id.clone(),
            ref1: ref1.clone(),
            ref2: Some(ref2.clone()),
            amount: req.amount.decimal_string(2),
            expires_at: req.expires_at.to_string(),
            status: None,
        };
        let _: Bill = self
            .call(
                self.http
                    .post(format!("{}/v1/bills", self.config.base_url))
                    .header("idempotency-key", req.payment_id.as_str())
                    .json(&bill),
            )
            .await?;
        qr(&creds.biller_id, ref1, ref2, req.amount)
    }

    /// The bill registered for this payment, if the bank has it.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        let creds = self.credentials().await?;
        let (ref1, ref2) = references(req.payment_id);
        match self.bill(&creds.biller_id, &ref1, &ref2).await? {
            None => Ok(Recovered::NothingMade),
            Some(_) => qr(&creds.biller_id, ref1, ref2, req.amount).map(Recovered::Found),
        }
    }

    /// The bank's inquiry by reference: a settled bill payment counts only for the bill's
    /// own amount in baht (as a callback's does); a bill the bank expired or withdrew is
    /// final; otherwise it is still open.
    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        let (ref1, ref2) = split_reference(provider_reference)?;
        let creds = self.credentials().await?;
        let bill = self
            .bill(&creds.biller_id, &ref1, &ref2)
            .await?
            .ok_or(AdapterError::NotFound)?;
        let expected = thb(&bill.amount);
        for p in self.payments(&creds.biller_id, &ref1, &ref2).await? {
            if p.status != "settled" {
                continue;
            }
            if p.currency == "THB" && expected.is_some() && thb(&p.amount) == expected {
                return Ok(ProviderStatus::Succeeded);
            }
            tracing::error!(reference = %provider_reference, currency = %p.currency, amount = %p.amount, bill_amount = %bill.amount, "the bank reports a payment of another amount or currency than the bill's; not counted");
        }
        Ok(match bill.status.as_deref() {
            Some("expired") => ProviderStatus::Expired,
            Some("canceled") => ProviderStatus::Canceled,
            _ => ProviderStatus::Pending,
        })
    }

    /// `POST /v1/bill-payments/refunds` with our refund id as `reference` and
    /// `Idempotency-Key`; the bank transfers the money back to the payer's account.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        let (ref1, ref2) = split_reference(req.charge_reference)?;
        let creds = self.credentials().await?;
        let body = BankRefund {
            biller_id: creds.biller_id,
            ref1,
            ref2: Some(ref2),
            amount: req.amount.decimal_string(2),
            reference: req.refund_id.to_string(),
        };
        let r: Result<Refund, _> = self
            .call(
                self.http
                    .post(format!("{}/v1/bill-payments/refunds", self.config.base_url))
                    .header("idempotency-key", req.refund_id.as_str())
                    .json(&body),
            )
            .await;
        match r {
            Ok(r) => refund_outcome(r),
            Err(AdapterError::Unsupported(why)) => Ok(RefundOutcome::Failed {
                provider_reference: None,
                failure: Failure::new(FailureCode::Unknown, Some(why)),
            }),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/bill-payments/refunds/{refund_id}`.
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        if refund_reference.is_empty()
            || !refund_reference.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(AdapterError::NotFound);
        }
        let r: Refund = self
            .call(self.http.get(format!(
                "{}/v1/bill-payments/refunds/{refund_reference}",
                self.config.base_url
            )))
            .await?;
        refund_outcome(r)
    }

    /// `POST /v1/bills/cancel`: the bank refuses payments of a withdrawn bill. One no longer
    /// open (paid, expired) answers 422 `bill_not_open`.
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        let (ref1, ref2) = split_reference(provider_reference)?;
        let creds = self.credentials().await?;
        let r: Result<Bill, _> = self
            .call(
                self.http
                    .post(format!("{}/v1/bills/cancel", self.config.base_url))
                    .json(&BillRefs {
                        biller_id: creds.biller_id,
                        ref1,
                        ref2: Some(ref2),
                    }),
            )
            .await;
        match r {
            Ok(b) if b.status.as_deref() == Some("canceled") => Ok(Cancel::Canceled),
            Ok(_) | Err(AdapterError::Unsupported(_)) => Ok(Cancel::Refused),
            Err(e) => Err(e),
        }
    }

    /// The bank's signed callback (see `signature`), then the event it carries.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        let creds = self.credentials().await?;
        let secrets = credentials::current_and_previous(
            &creds.webhook_secret,
            &creds.previous_webhook_secret,
        );
        signature::check(
            req.headers,
            req.body,
            &secrets,
            self.clock.now().unix_seconds(),
        )?;
        let n: Notification =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let malformed = |e: serde_json::Error| WebhookError::Malformed(e.to_string());
        if n.event == "refund.reversed" {
            let r: Refund = serde_json::from_value(n.data).map_err(malformed)?;
            let failure = Failure::new(
                FailureCode::Unknown,
                Some(
                    r.failure_reason
                        .clone()
                        .unwrap_or_else(|| "REFUND_REVERSED".into()),
                ),
            );
            return Ok(vec![ProviderEvent {
                provider: Provider::Promptpay,
                payment_id: payment_of(&r.ref1, r.ref2.as_deref()),
                provider_reference: format!("{}{}", r.ref1, r.ref2.clone().unwrap_or_default()),
                status: ProviderStatus::Pending,
                amount: None,
                occurred_at: None,
                refund: Some(RefundUpdate {
                    provider_reference: r.refund_id,
                    refund_id: Some(r.reference),
                    outcome: Err(failure),
                    amount: thb(&r.amount),
                }),
                confirm: false,
                report: None,
            }]);
        }
        if n.event != "bill_payment.settled" {
            return Ok(Vec::new());
        }
        let p: BillPayment = serde_json::from_value(n.data).map_err(malformed)?;
        if p.biller_id != creds.biller_id {
            return Ok(Vec::new());
        }
        Ok(vec![ProviderEvent {
            provider: Provider::Promptpay,
            payment_id: payment_of(&p.ref1, p.ref2.as_deref()),
            provider_reference: format!("{}{}", p.ref1, p.ref2.clone().unwrap_or_default()),
            status: if p.status == "settled" {
                ProviderStatus::Succeeded
            } else {
                ProviderStatus::Pending
            },
            amount: thb(&p.amount),
            occurred_at: Timestamp::parse_rfc3339(&p.paid_at),
            refund: None,
            confirm: false,
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
