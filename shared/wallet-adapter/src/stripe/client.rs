use super::mapping::{
    self, failure_from_error, intent_status, method_type, parse_currency, refund_outcome,
    stripe_amount, stripe_currency,
};
use super::signature;
use super::wire::{ErrorBody, Event, List, PaymentIntent, Refund};
use crate::adapter::{
    AdapterError, ChargeCreated, ChargeRequest, ProviderEvent, RefundOutcome, RefundRequest,
    WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
use crate::adapter::{Cancel, Recovered};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use walletpay_domain::{Country, Money, PaymentId, Provider, RefundReason, Timestamp, WalletId};
use walletpay_ports::{Clock, Secrets, SystemClock};

/// The JSON held in the Secrets port under [`StripeConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct StripeCredentials {
    /// `sk_live_...` / `sk_test_...`.
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret, `whsec_...`.
    pub webhook_secret: SecretString,
    /// The endpoint's previous secret, accepted while a roll is under way (Stripe then signs
    /// with both, one `v1` each).
    #[serde(default)]
    pub previous_webhook_secret: Option<SecretString>,
}

impl Checked for StripeCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required_secret("secret_key", &self.secret_key)?;
        credentials::text_key("webhook_secret", &self.webhook_secret)?;
        credentials::optional_text_key("previous_webhook_secret", &self.previous_webhook_secret)
    }
}

#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com` in production; the sandbox's URL locally.
    pub base_url: String,
    pub secret_name: String,
    /// Bound on one call to Stripe; past it the outcome is unknown, not failed.
    pub timeout: Duration,
}

impl StripeConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        StripeConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/stripe".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

pub struct Stripe {
    http: reqwest::Client,
    config: StripeConfig,
    credentials: CredentialSource,
    clock: Arc<dyn Clock>,
}

/// Form fields, in order (Stripe's API takes `application/x-www-form-urlencoded`).
type Form = Vec<(String, String)>;

fn field(form: &mut Form, k: &str, v: impl Into<String>) {
    form.push((k.to_string(), v.into()));
}

impl Stripe {
    pub fn new(config: StripeConfig, secrets: Arc<dyn Secrets>) -> Self {
        Self::with_clock(config, secrets, Arc::new(SystemClock))
    }

    /// With the clock webhook timestamps are judged by.
    pub fn with_clock(
        config: StripeConfig,
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        Stripe {
            http,
            credentials: CredentialSource::new("Stripe", secrets, config.secret_name.clone()),
            config,
            clock,
        }
    }

    async fn credentials(&self) -> Result<StripeCredentials, CredentialError> {
        self.credentials.load().await
    }

    pub(super) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where Stripe serves report files: `files.stripe.com` beside `api.stripe.com`, the
    /// API's own host anywhere else (the sandbox).
    pub(super) fn files_url(&self) -> String {
        if self.config.base_url == "https://api.stripe.com" {
            "https://files.stripe.com".into()
        } else {
            self.config.base_url.clone()
        }
    }

    /// The secret key, for the settlement reads.
    pub(super) async fn settlement_key(&self) -> Result<SecretString, CredentialError> {
        Ok(self.credentials().await?.secret_key)
    }

    /// Sends a request and sorts every way it can go wrong into declined (nothing done),
    /// unknown (maybe done) or configuration. `idempotency_key` makes a retry safe: Stripe
    /// answers a repeated key with the first answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Option<&Form>,
        idempotency_key: Option<&str>,
    ) -> Result<T, AdapterError> {
        let creds = self.credentials().await?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.config.base_url))
            .bearer_auth(creds.secret_key.expose_secret());
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let (status, body) = crate::adapter::exchange("Stripe", req).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                AdapterError::Unknown(format!("unreadable Stripe answer ({status}): {e}"))
            });
        }
        let err = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_default();
        let code = err.code.clone().unwrap_or_default();
        let message = err.message.clone().unwrap_or_default();
        match status.as_u16() {
            404 => Err(AdapterError::NotFound),
            // 500s and 429s: the request may or may not have been acted on. 409: another
            // request under the same key is still running. `idempotency_error`: an earlier
            // request under this key exists and may have acted.
            s if s >= 500 || s == 429 || s == 409 => Err(AdapterError::Unknown(format!(
                "Stripe answered {status} {code}: {message}"
            ))),
            _ if err.kind == "idempotency_error" => Err(AdapterError::Unknown(format!(
                "Stripe idempotency: {message}"
            ))),
            401 | 403 => Err(AdapterError::Config(format!(
                "Stripe refused our credentials: {message}"
            ))),
            // The request was refused as a request (bad parameter, idempotency key reused
            // with other parameters): nothing was made.
            400 if err.kind == "invalid_request_error" && err.code.is_none() => Err(
                AdapterError::Unsupported(format!("{}: {message}", err.param.unwrap_or_default())),
            ),
            // 402 (a payment error) and coded 400s: declined, with Stripe's reason.
            _ => Err(AdapterError::Declined(failure_from_error(&err))),
        }
    }

    fn created(pi: PaymentIntent) -> ChargeCreated {
        ChargeCreated {
            next_action: mapping::next_action(&pi),
            status: intent_status(&pi),
            provider_reference: pi.id,
        }
    }

    fn create_form(&self, req: &ChargeRequest<'_>) -> Result<Form, AdapterError> {
        let method = method_type(req.country, req.wallet).ok_or_else(|| {
            AdapterError::Unsupported(format!("{} in {} at Stripe", req.wallet, req.country))
        })?;
        let mut f = Form::new();
        field(&mut f, "amount", stripe_amount(req.amount).to_string());
        field(&mut f, "currency", stripe_currency(req.amount.currency));
        field(&mut f, "payment_method_types[]", method);
        field(&mut f, "payment_method_data[type]", method);
        field(&mut f, "confirm", "true");
        field(&mut f, "metadata[payment_id]", req.payment_id.as_str());
        if let Some(d) = req.description {
            field(&mut f, "description", d);
        }
        match method {
            // Stripe needs the payer's email for PromptPay (it mails refunds' instructions).
            "promptpay" => {
                let email = req.customer.email.as_deref().ok_or_else(|| {
                    AdapterError::Unsupported(
                        "PromptPay at Stripe needs the customer's email".into(),
                    )
                })?;
                field(&mut f, "payment_method_data[billing_details][email]", email);
            }
            // The QR code lives until the payment's own expiry (Stripe: 10 s to 14 days
            // ahead). An absolute time, so the same payment always sends the same request
            // (a retry under the same Idempotency-Key must not differ).
            "pix" => {
                field(
                    &mut f,
                    "payment_method_options[pix][expires_at]",
                    req.expires_at.unix_seconds().to_string(),
                );
            }
            _ => {}
        }
        // GrabPay redirects; the others show a QR, but Stripe takes a return_url from all.
        if let Some(url) = req.return_url {
            field(&mut f, "return_url", url);
        } else if method == "grabpay" {
            return Err(AdapterError::Unsupported(
                "GrabPay at Stripe needs a return_url".into(),
            ));
        }
        Ok(f)
    }
}

/// A Stripe id goes into a URL path: only Stripe's id characters are let through.
fn safe_id(r: &str) -> Result<(), AdapterError> {
    let ok = !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(()).ok_or(AdapterError::NotFound)
}

fn refund_reason(r: RefundReason) -> Option<&'static str> {
    match r {
        RefundReason::RequestedByCustomer => Some("requested_by_customer"),
        RefundReason::Duplicate => Some("duplicate"),
        RefundReason::Fraudulent => Some("fraudulent"),
        RefundReason::Other => None,
    }
}

#[async_trait]
impl WalletAdapter for Stripe {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        method_type(country, wallet).is_some()
    }

    /// `POST /v1/payment_intents` with `confirm=true` and our payment id as the
    /// `Idempotency-Key`.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        let form = self.create_form(req)?;
        let pi: PaymentIntent = self
            .call(
                reqwest::Method::POST,
                "/v1/payment_intents",
                Some(&form),
                Some(req.payment_id.as_str()),
            )
            .await?;
        Ok(Self::created(pi))
    }

    /// The same request with the same `Idempotency-Key`: Stripe answers with the intent the
    /// first request made (or the first answer, whatever it was), never a second one.
    /// The same request under the same `Idempotency-Key`: Stripe answers it with its first
    /// answer (a decline included).
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        crate::adapter::recovered_by_replay("Stripe", self.create_charge(req).await)
    }

    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<crate::adapter::ProviderStatus, AdapterError> {
        safe_id(provider_reference)?;
        let pi: PaymentIntent = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{provider_reference}"),
                None,
                None,
            )
            .await?;
        Ok(intent_status(&pi))
    }

    /// `POST /v1/refunds` with our refund id as the `Idempotency-Key`.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        safe_id(req.charge_reference)?;
        let mut f = Form::new();
        field(&mut f, "payment_intent", req.charge_reference);
        field(&mut f, "amount", stripe_amount(req.amount).to_string());
        if let Some(r) = refund_reason(req.reason) {
            field(&mut f, "reason", r);
        }
        field(&mut f, "metadata[refund_id]", req.refund_id.as_str());
        let made = self
            .call::<Refund>(
                reqwest::Method::POST,
                "/v1/refunds",
                Some(&f),
                Some(req.refund_id.as_str()),
            )
            .await;
        match made {
            Ok(r) => Ok(refund_outcome(&r)),
            // Stripe replays the first answer to a key, a 500 included, so a retry cannot
            // learn more: look for the refund itself (its metadata carries our id).
            Err(AdapterError::Unknown(why)) => {
                let list: List<Refund> = match self
                    .call(
                        reqwest::Method::GET,
                        &format!(
                            "/v1/refunds?payment_intent={}&limit=100",
                            req.charge_reference
                        ),
                        None,
                        None,
                    )
                    .await
                {
                    Ok(l) => l,
                    // Still unknown: whatever went wrong looking, the refund may exist.
                    Err(e) => return Err(AdapterError::Unknown(format!("{why}; lookup: {e}"))),
                };
                list.data
                    .iter()
                    .find(|r| {
                        r.metadata.get("refund_id").map(String::as_str)
                            == Some(req.refund_id.as_str())
                    })
                    .map(refund_outcome)
                    .ok_or(AdapterError::Unknown(why))
            }
            Err(e) => Err(e),
        }
    }

    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        safe_id(refund_reference)?;
        let r: Refund = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/refunds/{refund_reference}"),
                None,
                None,
            )
            .await?;
        Ok(refund_outcome(&r))
    }

    /// `POST /v1/payment_intents/{id}/cancel`: Stripe cancels an intent still waiting for the
    /// customer. One that is already final answers 400 `payment_intent_unexpected_state`.
    /// `POST /v1/payment_intents/{id}/cancel`; Stripe refuses one past the statuses it can
    /// cancel (`payment_intent_unexpected_state`: succeeded, most likely).
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        safe_id(provider_reference)?;
        let mut f = Form::new();
        field(&mut f, "cancellation_reason", "requested_by_customer");
        match self
            .call::<PaymentIntent>(
                reqwest::Method::POST,
                &format!("/v1/payment_intents/{provider_reference}/cancel"),
                Some(&f),
                None,
            )
            .await
        {
            Ok(pi) if pi.status == "canceled" => Ok(Cancel::Canceled),
            Ok(_) => Ok(Cancel::Refused),
            Err(AdapterError::Declined(_) | AdapterError::Unsupported(_)) => Ok(Cancel::Refused),
            Err(e) => Err(e),
        }
    }

    /// `Stripe-Signature` over the raw body with the endpoint secret (or, during a roll,
    /// the previous one), at most 300 s old; then the event. Payment intent events become
    /// payment events; others (refund events among them: the refund worker asks for those)
    /// are taken and ignored.
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
        let event: Event =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        if !event.kind.starts_with("payment_intent.") {
            return Ok(Vec::new());
        }
        let pi: PaymentIntent = serde_json::from_value(event.data.object)
            .map_err(|e| WebhookError::Malformed(format!("data.object: {e}")))?;
        let amount = parse_currency(&pi.currency).map(|currency| Money {
            minor: pi.amount,
            currency,
        });
        Ok(vec![ProviderEvent {
            provider: Provider::Stripe,
            payment_id: pi
                .metadata
                .get("payment_id")
                .and_then(|p| PaymentId::parse(p)),
            status: intent_status(&pi),
            provider_reference: pi.id,
            amount,
            occurred_at: Some(Timestamp(event.created * 1000)),
            refund: None,
            confirm: false,
            report: None,
        }])
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
