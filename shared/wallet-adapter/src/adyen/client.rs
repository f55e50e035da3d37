use super::mapping::{
    adyen_amount, failure_from_reason, from_adyen, method_type, next_action, result_status,
};
use super::signature::{verify, SignedFields};
use super::wire::{
    ErrorBody, ModificationResponse, Notification, PaymentMethod, PaymentRequest, PaymentResponse,
    RefundRequest as AdyenRefund,
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
use walletpay_domain::{Country, Failure, PaymentId, Provider, RefundReason, Timestamp, WalletId};
use walletpay_ports::Secrets;

/// The JSON held in the Secrets port under [`AdyenConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct AdyenCredentials {
    pub api_key: SecretString,
    pub merchant_account: String,
    /// The webhook HMAC key, hex, from the Customer Area.
    pub hmac_key: SecretString,
    /// The key before the last rotation, accepted while Adyen may still sign with it.
    #[serde(default)]
    pub previous_hmac_key: Option<SecretString>,
    /// The API key of the report user (its role "Merchant Report Download role"), for the
    /// settlement details reports; without it no report is downloaded.
    #[serde(default)]
    pub report_api_key: Option<SecretString>,
}

/// A hex HMAC key's length in bytes, if it is hex.
fn hex_len(key: &SecretString) -> Option<usize> {
    let k = key.expose_secret();
    (k.len() % 2 == 0 && k.bytes().all(|b| b.is_ascii_hexdigit())).then_some(k.len() / 2)
}

impl Checked for AdyenCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required_secret("api_key", &self.api_key)?;
        credentials::required("merchant_account", &self.merchant_account)?;
        credentials::signing_key("hmac_key", hex_len(&self.hmac_key), &self.hmac_key)?;
        match &self.previous_hmac_key {
            Some(p) if !p.expose_secret().is_empty() => {
                credentials::signing_key("previous_hmac_key", hex_len(p), p)
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AdyenConfig {
    /// The Checkout API with its version: `https://checkout-test.adyen.com/v71` for test,
    /// the account's live prefix URL in production; the sandbox's locally.
    pub base_url: String,
    pub secret_name: String,
    /// Bound on one call to Adyen; past it the outcome is unknown, not failed.
    pub timeout: Duration,
    /// Where reports are downloaded from (`https://ca-live.adyen.com/reports/download/`;
    /// `ca-test` for a test account): a `REPORT_AVAILABLE` URL anywhere else is refused.
    pub reports_url: Option<String>,
}

/// The one place the Checkout API version is chosen.
pub const CHECKOUT_API_VERSION: &str = "v71";

impl AdyenConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        AdyenConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            reports_url: None,
            secret_name: "walletpay/adyen".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

pub struct Adyen {
    http: reqwest::Client,
    config: AdyenConfig,
    credentials: CredentialSource,
}

fn reason_text(r: RefundReason) -> &'static str {
    match r {
        RefundReason::RequestedByCustomer => "CUSTOMER REQUEST",
        RefundReason::Duplicate => "DUPLICATE",
        RefundReason::Fraudulent => "FRAUD",
        RefundReason::Other => "OTHER",
    }
}

/// A header value that logs and debug output never show.
fn sensitive(v: &str) -> Result<http::HeaderValue, AdapterError> {
    let mut h = http::HeaderValue::from_str(v)
        .map_err(|_| AdapterError::Config("the API key is not a valid header value".into()))?;
    h.set_sensitive(true);
    Ok(h)
}

/// A psp reference goes into a URL path: Adyen's are 16 alphanumerics.
fn safe_psp(r: &str) -> Result<(), AdapterError> {
    let ok = !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(()).ok_or(AdapterError::NotFound)
}

impl Adyen {
    pub fn new(config: AdyenConfig, secrets: Arc<dyn Secrets>) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        Adyen {
            http,
            credentials: CredentialSource::new("Adyen", secrets, config.secret_name.clone()),
            config,
        }
    }

    async fn credentials(&self) -> Result<AdyenCredentials, CredentialError> {
        self.credentials.load().await
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The report host and the report user's key; refused when either is missing.
    pub(super) async fn report_access(
        &self,
    ) -> Result<(String, SecretString), crate::settlement::SettlementError> {
        use crate::settlement::SettlementError;
        let host = self
            .config
            .reports_url
            .clone()
            .filter(|u| {
                u.starts_with("https://")
                    || u.starts_with("http://127.0.0.1")
                    || u.starts_with("http://localhost")
            })
            .ok_or_else(|| SettlementError::Config("no Adyen report host configured".into()))?;
        let key = self
            .credentials()
            .await?
            .report_api_key
            .filter(|k| credentials::required_secret("report_api_key", k).is_ok())
            .ok_or_else(|| {
                SettlementError::Config("no Adyen report user key (report_api_key)".into())
            })?;
        Ok((host, key))
    }

    /// POSTs `body` with the `X-API-Key` and an `Idempotency-Key`, sorting every way it can
    /// go wrong into declined, unknown or configuration.
    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        creds: &AdyenCredentials,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T, AdapterError> {
        let req = self
            .http
            .post(format!("{}{path}", self.config.base_url))
            .header("x-api-key", sensitive(creds.api_key.expose_secret())?)
            .header("idempotency-key", idempotency_key)
            .json(body);
        let (status, bytes) = crate::adapter::exchange("Adyen", req).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                AdapterError::Unknown(format!("unreadable Adyen answer ({status}): {e}"))
            });
        }
        let err: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        match status.as_u16() {
            404 => Err(AdapterError::NotFound),
            s if s >= 500 || s == 429 => Err(AdapterError::Unknown(format!(
                "Adyen answered {status} {}: {}",
                err.error_code, err.message
            ))),
            // 704: a request under this Idempotency-Key is already processed or in
            // progress; it may have acted.
            _ if err.error_code == "704" => Err(AdapterError::Unknown(format!(
                "Adyen: {} {}",
                err.error_code, err.message
            ))),
            401 | 403 => Err(AdapterError::Config(format!(
                "Adyen refused our credentials: {} {}",
                err.error_code, err.message
            ))),
            // 422 with errorType "validation"/"configuration": nothing was made.
            _ => Err(AdapterError::Unsupported(format!(
                "{} {}: {}",
                err.error_type, err.error_code, err.message
            ))),
        }
    }

    fn request(
        &self,
        creds: &AdyenCredentials,
        req: &ChargeRequest<'_>,
    ) -> Result<PaymentRequest, AdapterError> {
        let method = method_type(req.country, req.wallet).ok_or_else(|| {
            AdapterError::Unsupported(format!("{} in {} at Adyen", req.wallet, req.country))
        })?;
        let amount =
            adyen_amount(req.amount).map_err(|e| AdapterError::Unsupported(e.to_string()))?;
        let return_url = req.return_url.ok_or_else(|| {
            AdapterError::Unsupported("Adyen needs a return_url for wallet payments".into())
        })?;
        Ok(PaymentRequest {
            merchant_account: creds.merchant_account.clone(),
            amount,
            reference: req.payment_id.to_string(),
            payment_method: PaymentMethod {
                kind: method.into(),
            },
            return_url: return_url.into(),
            country_code: req.country.as_str().into(),
            shopper_email: req.customer.email.clone(),
            telephone_number: req.customer.phone.clone(),
            shopper_statement: None,
        })
    }
}

#[async_trait]
impl WalletAdapter for Adyen {
    fn provider(&self) -> Provider {
        Provider::Adyen
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        method_type(country, wallet).is_some()
    }

    /// `POST /payments` with our payment id as `reference` and `Idempotency-Key`.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        let creds = self.credentials().await?;
        let body = self.request(&creds, req)?;
        let r: PaymentResponse = self
            .post(&creds, "/payments", &body, req.payment_id.as_str())
            .await?;
        let status = result_status(&r);
        let reference = r.psp_reference.clone().ok_or_else(|| {
            AdapterError::Unknown(format!(
                "Adyen answered {} without a pspReference",
                r.result_code
            ))
        })?;
        if let ProviderStatus::Failed { failure } = &status {
            // Refused at once: nothing to wait for.
            if r.action.is_none() {
                return Err(AdapterError::Declined(failure.clone()));
            }
        }
        Ok(ChargeCreated {
            provider_reference: reference,
            next_action: next_action(r.action.as_ref()),
            status,
        })
    }

    /// The same request under the same `Idempotency-Key` (kept by Adyen at least 31 days):
    /// Adyen answers with the payment the first request made.
    /// The same request under the same `Idempotency-Key`: Adyen answers it as it answered
    /// the first.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        crate::adapter::recovered_by_replay("Adyen", self.create_charge(req).await)
    }

    /// Adyen's Checkout API has no payment lookup: outcomes arrive by webhook (which Adyen
    /// retries until it is accepted).
    fn answers_status_queries(&self) -> bool {
        false
    }

    /// Never asked (see `answers_status_queries`): a charge is pending until its webhook.
    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        safe_psp(provider_reference)?;
        Ok(ProviderStatus::Pending)
    }

    /// `POST /payments/{pspReference}/refunds` with our refund id as `reference` and
    /// `Idempotency-Key`. Adyen answers `received`; the outcome is the REFUND webhook.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        safe_psp(req.charge_reference)?;
        let creds = self.credentials().await?;
        let body = AdyenRefund {
            merchant_account: creds.merchant_account.clone(),
            amount: adyen_amount(req.amount)
                .map_err(|e| AdapterError::Unsupported(e.to_string()))?,
            // `<payment id>:<refund id>`: Adyen's REFUND notification carries the
            // modification's reference, and this one names both.
            reference: format!("{}:{}", req.payment_id, req.refund_id),
            merchant_refund_reason: Some(reason_text(req.reason).into()),
        };
        let r: ModificationResponse = self
            .post(
                &creds,
                &format!("/payments/{}/refunds", req.charge_reference),
                &body,
                req.refund_id.as_str(),
            )
            .await?;
        Ok(RefundOutcome::Pending {
            provider_reference: r.psp_reference,
        })
    }

    /// No refund lookup either: still pending until the REFUND webhook says.
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        safe_psp(refund_reference)?;
        Ok(RefundOutcome::Pending {
            provider_reference: refund_reference.to_string(),
        })
    }

    /// Wallet payments awaiting the shopper cannot be cancelled at Adyen (cancels apply to
    /// authorised, uncaptured payments): we stop waiting and keep watching.
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        safe_psp(provider_reference)?;
        Ok(Cancel::NotCancelable)
    }

    /// Every item must carry a valid HMAC (current key, or the previous one during a
    /// rotation); one bad item refuses the whole batch.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        let creds = self.credentials().await?;
        let n: Notification =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let keys = credentials::current_and_previous(&creds.hmac_key, &creds.previous_hmac_key);
        let mut out = Vec::new();
        for wrapper in &n.notification_items {
            let item = &wrapper.item;
            let presented = item
                .additional_data
                .as_ref()
                .and_then(|d| d.get("hmacSignature"))
                .ok_or(WebhookError::Unauthenticated)?;
            let fields = SignedFields {
                psp_reference: &item.psp_reference,
                original_reference: item.original_reference.as_deref().unwrap_or(""),
                merchant_account_code: &item.merchant_account_code,
                merchant_reference: &item.merchant_reference,
                value: item.amount.value,
                currency: &item.amount.currency,
                event_code: &item.event_code,
                success: &item.success,
            };
            if !verify(&keys, &fields, presented) {
                return Err(WebhookError::Unauthenticated);
            }
            let success = item.success == "true";
            let amount = item
                .amount
                .currency
                .parse()
                .ok()
                .map(|c| from_adyen(item.amount.value, c));
            let occurred_at = Timestamp::parse_rfc3339(&item.event_date);
            // A payment's reference is our payment id; a refund's is `<payment id>:<refund id>`.
            let (reference, ours) = match item.merchant_reference.split_once(':') {
                Some((p, r)) => (p, Some(r.to_string())),
                None => (item.merchant_reference.as_str(), None),
            };
            let payment_id = PaymentId::parse(reference);
            let charge = |status: ProviderStatus| ProviderEvent {
                provider: Provider::Adyen,
                payment_id: payment_id.clone(),
                provider_reference: item.psp_reference.clone(),
                status,
                amount,
                occurred_at,
                refund: None,
                confirm: false,
                report: None,
            };
            let refund = |outcome: Result<(), Failure>| ProviderEvent {
                provider: Provider::Adyen,
                payment_id: payment_id.clone(),
                provider_reference: item.original_reference.clone().unwrap_or_default(),
                status: ProviderStatus::Pending,
                amount: None,
                occurred_at,
                refund: Some(RefundUpdate {
                    provider_reference: item.psp_reference.clone(),
                    refund_id: ours.clone(),
                    outcome,
                    amount,
                }),
                confirm: false,
                report: None,
            };
            let refused = || failure_from_reason(&item.reason);
            match (item.event_code.as_str(), success) {
                ("AUTHORISATION", true) => out.push(charge(ProviderStatus::Succeeded)),
                ("AUTHORISATION", false) => {
                    out.push(charge(ProviderStatus::Failed { failure: refused() }))
                }
                ("OFFER_CLOSED", true) => out.push(charge(ProviderStatus::Failed {
                    failure: failure_from_reason("OFFER_CLOSED"),
                })),
                ("CANCELLATION", true) => {
                    let mut e = charge(ProviderStatus::Canceled);
                    e.provider_reference = item
                        .original_reference
                        .clone()
                        .unwrap_or_else(|| item.psp_reference.clone());
                    out.push(e)
                }
                ("REFUND", true) => out.push(refund(Ok(()))),
                // REFUND_FAILED can follow a REFUND success (the refund bounced), and
                // REFUNDED_REVERSED undoes one: both arrive for a refund already made.
                ("REFUND", false) | ("REFUND_FAILED", _) | ("REFUNDED_REVERSED", true) => {
                    out.push(refund(Err(refused())))
                }
                // A report to download: `pspReference` its file name, `reason` its URL.
                ("REPORT_AVAILABLE", true) => {
                    let at = occurred_at.ok_or_else(|| {
                        WebhookError::Malformed("REPORT_AVAILABLE without an eventDate".into())
                    })?;
                    out.push(ProviderEvent {
                        payment_id: None,
                        provider_reference: item.psp_reference.clone(),
                        amount: None,
                        report: Some(crate::adapter::ReportAnnounced {
                            file: item.psp_reference.clone(),
                            url: item.reason.clone(),
                            announced_at: at,
                        }),
                        ..charge(ProviderStatus::Pending)
                    })
                }
                // Other events (CAPTURE, ...) are accepted and not used.
                _ => {}
            }
        }
        Ok(out)
    }

    fn has_settlement_source(&self) -> bool {
        self.config.reports_url.is_some()
    }

    async fn settlement(
        &self,
        day: &crate::settlement::SettlementDay<'_>,
        sink: crate::settlement::RowSink<'_>,
    ) -> Result<crate::settlement::SourceRead, crate::settlement::SettlementError> {
        self.read_settlement(day, sink).await
    }

    /// Adyen accepts any 2xx; `[accepted]` is the answer its documentation shows.
    fn webhook_ack(&self) -> WebhookAck {
        WebhookAck {
            status: 200,
            content_type: "text/plain",
            body: "[accepted]".into(),
        }
    }
}
