use super::mapping::{
    self, amount_literal, channel_code, charge_status, failure_from_code, parse_amount,
    refund_outcome, refund_reason,
};
use super::signature::callback_token_matches;
use super::wire::{
    Callback, ChannelProperties, Charge, CreateChargeBody, CreateRefundBody, ErrorBody,
    RefundObject,
};
use crate::adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus,
    RefundOutcome, RefundRequest, WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use walletpay_domain::{Country, Failure, FailureCode, PaymentId, Provider, Timestamp, WalletId};
use walletpay_ports::Secrets;

/// The JSON held in the Secrets port under [`XenditConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct XenditCredentials {
    pub secret_key: SecretString,
    /// The callback verification token of the account (Xendit's dashboard).
    pub callback_token: SecretString,
    /// Still accepted on callbacks while a token rotation is under way.
    #[serde(default)]
    pub previous_callback_token: Option<SecretString>,
}

impl Checked for XenditCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required_secret("secret_key", &self.secret_key)?;
        credentials::text_key("callback_token", &self.callback_token)?;
        credentials::optional_text_key("previous_callback_token", &self.previous_callback_token)
    }
}

#[derive(Debug, Clone)]
pub struct XenditConfig {
    /// `https://api.xendit.co` in production; the sandbox's URL locally.
    pub base_url: String,
    pub secret_name: String,
    /// Bound on one call to Xendit; past it the outcome is unknown, not failed.
    pub timeout: Duration,
}

impl XenditConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        XenditConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/xendit".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

pub struct Xendit {
    http: reqwest::Client,
    config: XenditConfig,
    credentials: CredentialSource,
}

impl Xendit {
    pub fn new(config: XenditConfig, secrets: Arc<dyn Secrets>) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        let credentials = CredentialSource::new("Xendit", secrets, &config.secret_name);
        Xendit {
            http,
            config,
            credentials,
        }
    }

    async fn credentials(&self) -> Result<XenditCredentials, CredentialError> {
        self.credentials.load().await
    }

    /// Sends a request and reads the answer, sorting every way it can go wrong into
    /// declined (nothing done), unknown (maybe done) or configuration.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, AdapterError> {
        let creds = self.credentials().await?;
        let req = req.basic_auth(creds.secret_key.expose_secret(), Some(""));
        let (status, body) = crate::adapter::exchange("Xendit", req).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                AdapterError::Unknown(format!("unreadable Xendit answer ({status}): {e}"))
            });
        }
        let err: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        let code = err.as_ref().map(|e| e.error_code.as_str()).unwrap_or("");
        let message = err.as_ref().map(|e| e.message.as_str()).unwrap_or("");
        match (status.as_u16(), code) {
            (404, _) => Err(AdapterError::NotFound),
            // Documented as "channel unavailable": the request was not taken.
            (503, "CHANNEL_UNAVAILABLE") => Err(AdapterError::Declined(failure_from_code(code))),
            (s, _) if s >= 500 => Err(AdapterError::Unknown(format!(
                "Xendit answered {status} {code}: {message}"
            ))),
            (401, _) => Err(AdapterError::Config(format!(
                "Xendit refused our credentials: {code} {message}"
            ))),
            (400, "API_VALIDATION_ERROR" | "UNSUPPORTED_CURRENCY") => {
                Err(AdapterError::Unsupported(format!("{code}: {message}")))
            }
            (_, code) if !code.is_empty() => Err(AdapterError::Declined(failure_from_code(code))),
            _ => Err(AdapterError::Declined(Failure::new(
                FailureCode::Unknown,
                Some(format!("HTTP_{}", status.as_u16())),
            ))),
        }
    }
}

impl Xendit {
    /// `GET /ewallets/charges/{id}`.
    async fn charge(&self, provider_reference: &str) -> Result<Charge, AdapterError> {
        safe_reference(provider_reference)?;
        let url = format!(
            "{}/ewallets/charges/{provider_reference}",
            self.config.base_url
        );
        self.call(self.http.get(url)).await
    }
}

/// A provider reference goes into a URL path: only Xendit's id characters are let through.
fn safe_reference(r: &str) -> Result<(), AdapterError> {
    let ok = !r.is_empty()
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or(AdapterError::NotFound)
}

#[async_trait]
impl WalletAdapter for Xendit {
    fn provider(&self) -> Provider {
        Provider::Xendit
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        channel_code(country, wallet).is_some()
    }

    /// OVO's one-time payments cannot be refunded at Xendit (its refund answers
    /// REFUND_NOT_SUPPORTED).
    fn can_refund(
        &self,
        _country: Country,
        wallet: WalletId,
        _partial: bool,
    ) -> Result<(), String> {
        if wallet == WalletId::Ovo {
            return Err(
                "OVO payments cannot be refunded through Xendit: refund the customer another way."
                    .into(),
            );
        }
        Ok(())
    }

    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        let channel = channel_code(req.country, req.wallet).ok_or_else(|| {
            AdapterError::Unsupported(format!("{} in {}", req.wallet, req.country))
        })?;
        let amount =
            amount_literal(req.amount).map_err(|e| AdapterError::Unsupported(e.to_string()))?;
        let mut props = ChannelProperties::default();
        if channel == "ID_OVO" {
            let phone = req.customer.phone.clone().ok_or_else(|| {
                AdapterError::Unsupported("OVO needs the customer's phone number".into())
            })?;
            props.mobile_number = Some(phone);
        } else {
            props.success_redirect_url = req.return_url.map(str::to_string);
            props.failure_redirect_url = req.return_url.map(str::to_string);
        }
        let body = CreateChargeBody {
            reference_id: req.payment_id.to_string(),
            currency: req.amount.currency.code().to_string(),
            amount: RawValue::from_string(amount).expect("a decimal literal is valid JSON"),
            checkout_method: "ONE_TIME_PAYMENT".into(),
            channel_code: channel.into(),
            channel_properties: Some(props),
            metadata: Some(serde_json::json!({ "payment_id": req.payment_id.as_str() })),
        };
        let url = format!("{}/ewallets/charges", self.config.base_url);
        let charge: Charge = self.call(self.http.post(url).json(&body)).await?;
        let status = charge_status(&charge)?;
        Ok(ChargeCreated {
            next_action: mapping::next_action(&charge.channel_code, charge.actions.as_ref()),
            provider_reference: charge.id,
            status,
        })
    }

    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        charge_status(&self.charge(provider_reference).await?)
    }

    /// The charge names the payment it was made for in `reference_id`.
    async fn confirm_charge(
        &self,
        provider_reference: &str,
        payment_id: &PaymentId,
    ) -> Result<ProviderStatus, AdapterError> {
        let charge = self.charge(provider_reference).await?;
        if charge.reference_id != payment_id.as_str() {
            return Err(AdapterError::NotFound);
        }
        charge_status(&charge)
    }

    /// `POST /ewallets/charges/{id}/refunds` with our refund id as `x-idempotency-key`
    /// (Xendit's idempotency header for POST requests), so a retried refund is not made twice.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        safe_reference(req.charge_reference)?;
        let amount =
            amount_literal(req.amount).map_err(|e| AdapterError::Unsupported(e.to_string()))?;
        let body = CreateRefundBody {
            amount: RawValue::from_string(amount).expect("a decimal literal is valid JSON"),
            reason: refund_reason(req.reason).into(),
        };
        let url = format!(
            "{}/ewallets/charges/{}/refunds",
            self.config.base_url, req.charge_reference
        );
        let refund: RefundObject = self
            .call(
                self.http
                    .post(url)
                    .header("x-idempotency-key", req.refund_id.as_str())
                    .json(&body),
            )
            .await?;
        refund_outcome(&refund)
    }

    async fn refund_status(
        &self,
        charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        safe_reference(charge_reference)?;
        safe_reference(refund_reference)?;
        let url = format!(
            "{}/ewallets/charges/{charge_reference}/refunds/{refund_reference}",
            self.config.base_url
        );
        let refund: RefundObject = self.call(self.http.get(url)).await?;
        refund_outcome(&refund)
    }

    /// Xendit cannot cancel a pending e-wallet charge: `POST /ewallets/charges/{id}/void`
    /// applies to SUCCEEDED charges on the day of payment (it reverses them). A pending charge
    /// lapses at the wallet; if the customer pays anyway, the callback still arrives.
    async fn cancel_charge(&self, _provider_reference: &str) -> Result<Cancel, AdapterError> {
        Ok(Cancel::NotCancelable)
    }

    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        let creds = self.credentials().await?;
        let presented = req
            .headers
            .get("x-callback-token")
            .map(|v| v.as_bytes())
            .ok_or(WebhookError::Unauthenticated)?;
        let accepted = credentials::current_and_previous(
            &creds.callback_token,
            &creds.previous_callback_token,
        );
        if !callback_token_matches(presented, &accepted) {
            return Err(WebhookError::Unauthenticated);
        }
        let cb: Callback =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if !cb.event.starts_with("ewallet.") {
            return Err(WebhookError::Malformed(format!(
                "unexpected event {:?}",
                cb.event
            )));
        }
        let status = charge_status(&cb.data).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let payment_id = PaymentId::parse(&cb.data.reference_id);
        let amount = cb
            .data
            .currency
            .parse()
            .ok()
            .and_then(|c| parse_amount(cb.data.charge_amount.get(), c).ok());
        // The token is the same on every callback and nothing in the body rules out a
        // replay: the event only makes walletpay ask Xendit where the charge stands.
        Ok(vec![ProviderEvent {
            provider: Provider::Xendit,
            payment_id,
            provider_reference: cb.data.id,
            status,
            amount,
            occurred_at: Timestamp::parse_rfc3339(&cb.data.updated),
            refund: None,
            confirm: true,
        }])
    }

    fn webhook_ack(&self) -> WebhookAck {
        WebhookAck {
            status: 200,
            content_type: "application/json",
            body: r#"{"received":true}"#.into(),
        }
    }
}
