use super::mapping::{
    self, amount_literal, channel_code, failure_from_code, payment_amount, payment_status,
    qris_refund_refusal, refund_failure, refund_outcome, refund_reason, refund_refusal,
    request_status,
};
use super::signature::callback_token_matches;
use super::wire::{
    ChannelProperties, CreatePaymentRequest, CreateRefund, ErrorBody, Payment, PaymentRequest,
    Refund, RefundList, Webhook,
};
use crate::adapter::{
    recovered_by_replay, AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent,
    ProviderStatus, Recovered, RefundCheck, RefundOutcome, RefundRequest, RefundSupport,
    WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
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
use walletpay_ports::{Clock, Secrets, SystemClock};

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

/// The `api-version` of Xendit's Payments API v3 (the one value its reference lists).
pub const API_VERSION: &str = "2024-11-11";

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
    clock: Arc<dyn Clock>,
}

/// How a call to Xendit went wrong: it never got a usable answer, or Xendit refused it.
enum Failed {
    Transport(AdapterError),
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

impl Failed {
    /// The refusal in our terms: declined (nothing done), unknown (maybe done), not found,
    /// unsupported, or our own configuration.
    fn into_error(self) -> AdapterError {
        let (status, code, message) = match self {
            Failed::Transport(e) => return e,
            Failed::Refused {
                status,
                code,
                message,
            } => (status, code, message),
        };
        match (status, code.as_str()) {
            (404, _) => AdapterError::NotFound,
            // Documented as unavailable channels: the request was not taken.
            (503, "CHANNEL_UNAVAILABLE" | "ISSUER_UNAVAILABLE") => {
                AdapterError::Declined(failure_from_code(&code))
            }
            (s, _) if s >= 500 => {
                AdapterError::Unknown(format!("Xendit answered {status} {code}: {message}"))
            }
            (401, _) => {
                AdapterError::Config(format!("Xendit refused our credentials: {code} {message}"))
            }
            // A request under our key with another body exists: nothing tells what it did.
            (409, _) => AdapterError::Unknown(format!("Xendit answered 409 {code}: {message}")),
            (429, _) | (400, "PAYMENT_REQUEST_RATE_LIMITED") => {
                AdapterError::Declined(Failure::new(FailureCode::WalletUnavailable, Some(code)))
            }
            (400, "API_VALIDATION_ERROR" | "INVALID_VALUE_ERROR") => {
                AdapterError::Unsupported(format!("{code}: {message}"))
            }
            (_, c) if !c.is_empty() => AdapterError::Declined(failure_from_code(c)),
            _ => AdapterError::Declined(Failure::new(
                FailureCode::Unknown,
                Some(format!("HTTP_{status}")),
            )),
        }
    }
}

impl Xendit {
    pub fn new(config: XenditConfig, secrets: Arc<dyn Secrets>) -> Self {
        Self::with_clock(config, secrets, Arc::new(SystemClock))
    }

    pub fn with_clock(
        config: XenditConfig,
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        let credentials = CredentialSource::new("Xendit", secrets, &config.secret_name);
        Xendit {
            http,
            config,
            credentials,
            clock,
        }
    }

    async fn credentials(&self) -> Result<XenditCredentials, CredentialError> {
        self.credentials.load().await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    pub(super) fn endpoint(&self, path: &str) -> String {
        self.url(path)
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The secret key, for the settlement reads.
    pub(super) async fn settlement_credentials(&self) -> Result<SecretString, CredentialError> {
        Ok(self.credentials().await?.secret_key)
    }

    /// Sends a request with our credentials (and, on the v3 paths, the `api-version`) and
    /// reads the answer.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        v3: bool,
    ) -> Result<T, Failed> {
        let creds = self
            .credentials()
            .await
            .map_err(|e| Failed::Transport(e.into()))?;
        let mut req = req.basic_auth(creds.secret_key.expose_secret(), Some(""));
        if v3 {
            req = req.header("api-version", API_VERSION);
        }
        let (status, body) = crate::adapter::exchange("Xendit", req)
            .await
            .map_err(Failed::Transport)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                Failed::Transport(AdapterError::Unknown(format!(
                    "unreadable Xendit answer ({status}): {e}"
                )))
            });
        }
        let err: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        Err(Failed::Refused {
            status: status.as_u16(),
            code: err
                .as_ref()
                .map(|e| e.error_code.clone())
                .unwrap_or_default(),
            message: err.map(|e| e.message).unwrap_or_default(),
        })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        v3: bool,
    ) -> Result<T, AdapterError> {
        self.send(req, v3).await.map_err(Failed::into_error)
    }

    /// `GET /v3/payment_requests/{id}`.
    async fn payment_request(&self, id: &str) -> Result<PaymentRequest, AdapterError> {
        safe_reference(id)?;
        let url = self.url(&format!("/v3/payment_requests/{id}"));
        self.call(self.http.get(url), true).await
    }

    /// `GET /v3/payments/{id}`.
    async fn payment(&self, id: &str) -> Result<Payment, AdapterError> {
        safe_reference(id)?;
        let url = self.url(&format!("/v3/payments/{id}"));
        self.call(self.http.get(url), true).await
    }

    /// The create body of a payment: the same for every send of it, so a resend under the
    /// same idempotency key is the same request.
    fn request_body(&self, req: &ChargeRequest<'_>) -> Result<CreatePaymentRequest, AdapterError> {
        let channel = channel_code(req.country, req.wallet).ok_or_else(|| {
            AdapterError::Unsupported(format!("{} in {}", req.wallet, req.country))
        })?;
        let amount =
            amount_literal(req.amount).map_err(|e| AdapterError::Unsupported(e.to_string()))?;
        let mut props = ChannelProperties::default();
        match channel {
            // The national QR codes are paid in any app: nothing to come back to.
            "QRIS" | "QRPH" => {}
            "OVO" => {
                let phone = req.customer.phone.clone().ok_or_else(|| {
                    AdapterError::Unsupported("OVO needs the customer's phone number".into())
                })?;
                props.mobile_number = Some(phone);
                props.success_return_url = req.return_url.map(str::to_string);
                props.failure_return_url = req.return_url.map(str::to_string);
            }
            _ => {
                props.success_return_url = req.return_url.map(str::to_string);
                props.failure_return_url = req.return_url.map(str::to_string);
            }
        }
        Ok(CreatePaymentRequest {
            reference_id: req.payment_id.to_string(),
            kind: "PAY".into(),
            country: req.country.as_str().to_string(),
            currency: req.amount.currency.code().to_string(),
            request_amount: RawValue::from_string(amount).expect("a decimal literal is valid JSON"),
            capture_method: Some("AUTOMATIC".into()),
            channel_code: channel.into(),
            channel_properties: props,
            description: req.description.map(str::to_string),
            metadata: Some(serde_json::json!({ "payment_id": req.payment_id.as_str() })),
        })
    }

    /// `POST /v3/payment_requests` with our payment id as the `idempotency-key`.
    async fn create(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        let body = self.request_body(req)?;
        let pr: PaymentRequest = self
            .call(
                self.http
                    .post(self.url("/v3/payment_requests"))
                    .header("idempotency-key", req.payment_id.as_str())
                    .json(&body),
                true,
            )
            .await?;
        if pr.reference_id != req.payment_id.as_str() {
            return Err(AdapterError::Unknown(format!(
                "Xendit answered payment request {} for another reference",
                pr.payment_request_id
            )));
        }
        let status = request_status(&pr)?;
        let next_action = match mapping::next_action(&pr.channel_code, &pr.actions, req.amount) {
            Ok(a) => a,
            Err(e) => {
                // A code no app can read (or for another amount) must not be shown; nobody
                // can pay the request, and it is withdrawn so nobody ever does.
                tracing::error!(payment = %req.payment_id, request = %pr.payment_request_id, error = %e, "Xendit answered a QR code that is not this payment's; withdrawn");
                match self.cancel_charge(&pr.payment_request_id).await {
                    Ok(Cancel::Canceled) => {}
                    other => {
                        tracing::error!(payment = %req.payment_id, request = %pr.payment_request_id, answer = ?other, "the request with the unreadable code could not be canceled; reconcile")
                    }
                }
                return Err(AdapterError::Declined(Failure::new(
                    FailureCode::WalletUnavailable,
                    Some("INVALID_QR".into()),
                )));
            }
        };
        Ok(ChargeCreated {
            provider_reference: pr.payment_request_id,
            status,
            next_action,
        })
    }
}

impl Xendit {
    /// The refund of `req` Xendit already has, found by our refund id (its `reference_id`)
    /// among the payment request's refunds (`GET /refunds?payment_request_id=`).
    async fn refund_made(&self, req: &RefundRequest<'_>) -> Result<Option<Refund>, AdapterError> {
        let url = self.url("/refunds");
        let mut after: Option<String> = None;
        for _ in 0..20 {
            let mut query = vec![
                ("payment_request_id", req.charge_reference.to_string()),
                ("limit", "50".to_string()),
            ];
            if let Some(a) = &after {
                query.push(("after_id", a.clone()));
            }
            let page: RefundList = self.call(self.http.get(&url).query(&query), false).await?;
            if let Some(r) = page
                .data
                .iter()
                .find(|r| r.reference_id.as_deref() == Some(req.refund_id.as_str()))
            {
                return Ok(Some(r.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
        Err(AdapterError::Unknown(
            "too many refunds of this payment request to look through".into(),
        ))
    }
}

/// What the answer to a resent create tells of the first: a request (the first one's, under
/// the same key), or a refusal of the request itself; a refusal that is about the moment
/// (rate limited, the channel or issuer unavailable, an unreadable code) tells nothing, and
/// the outcome stays unknown.
fn recovery(resent: Result<ChargeCreated, AdapterError>) -> Result<Recovered, AdapterError> {
    match resent {
        Err(AdapterError::Declined(f)) if f.code == FailureCode::WalletUnavailable => {
            Err(AdapterError::Unknown(format!(
                "Xendit's answer to the resent create says nothing of the first: {}",
                f.provider_code.as_deref().unwrap_or("declined")
            )))
        }
        other => recovered_by_replay("Xendit", other),
    }
}

/// A reference goes into a URL path: only Xendit's id characters are let through.
fn safe_reference(r: &str) -> Result<(), AdapterError> {
    let ok = !r.is_empty()
        && r.len() <= 64
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

    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        self.create(req).await
    }

    /// The same create again, under the same idempotency key: Xendit answers the payment
    /// request the first one made (or makes it, if the first never arrived). (That v3 honours
    /// the key is not published; should Xendit make a second request instead, a payment of
    /// either is still recorded: see `events`.) A refusal that says nothing about the first
    /// create (rate limited, the channel unavailable, an unreadable code) leaves the outcome
    /// unknown; only a refusal of the request itself declines it.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        recovery(self.create(req).await)
    }

    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        request_status(&self.payment_request(provider_reference).await?)
    }

    /// The payment request names the payment it was made for in `reference_id`.
    async fn confirm_charge(
        &self,
        provider_reference: &str,
        payment_id: &PaymentId,
    ) -> Result<ProviderStatus, AdapterError> {
        let pr = self.payment_request(provider_reference).await?;
        if pr.reference_id != payment_id.as_str() {
            return Err(AdapterError::NotFound);
        }
        request_status(&pr)
    }

    /// What a channel cannot refund (OVO one-off payments, QR Ph, TrueMoney, LINE Pay;
    /// LinkAja in part) is refused without a call. A QRIS refund depends on the wallet or
    /// bank that paid the code: Xendit is asked which (the request's latest payment).
    async fn refund_support(&self, check: &RefundCheck<'_>) -> Result<RefundSupport, AdapterError> {
        let Some(channel) = channel_code(check.country, check.wallet) else {
            return Ok(RefundSupport::Supported);
        };
        if let Some(why) = refund_refusal(channel, check.partial) {
            return Ok(RefundSupport::Refused(why));
        }
        if channel != "QRIS" {
            return Ok(RefundSupport::Supported);
        }
        let pr = self.payment_request(check.charge_reference).await?;
        let payment = match pr.latest_payment_id.as_deref() {
            Some(id) => Some(self.payment(id).await?),
            None => None,
        };
        let issuer = payment
            .as_ref()
            .and_then(|p| p.payment_details.as_ref())
            .and_then(|d| d.issuer_name.as_deref());
        let paid_at = payment
            .as_ref()
            .and_then(|p| p.captures.first())
            .and_then(|c| c.capture_timestamp.as_deref())
            .and_then(Timestamp::parse_rfc3339);
        Ok(
            match qris_refund_refusal(issuer, check.partial, paid_at, self.clock.now()) {
                Some(why) => RefundSupport::Refused(why),
                None => RefundSupport::Supported,
            },
        )
    }

    /// `POST /refunds` (Xendit's unified refunds) with our refund id as the
    /// `idempotency-key` and the `reference_id`, so a retried refund is not made twice.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        safe_reference(req.charge_reference)?;
        // A refund asked for before (its answer lost) is found first, by our reference, and
        // never asked for again.
        if let Some(made) = self.refund_made(req).await? {
            return refund_outcome(&made);
        }
        let amount =
            amount_literal(req.amount).map_err(|e| AdapterError::Unsupported(e.to_string()))?;
        let body = CreateRefund {
            payment_request_id: req.charge_reference.to_string(),
            reference_id: Some(req.refund_id.to_string()),
            amount: Some(RawValue::from_string(amount).expect("a decimal literal is valid JSON")),
            currency: Some(req.amount.currency.code().to_string()),
            reason: refund_reason(req.reason).into(),
            metadata: Some(serde_json::json!({ "payment_id": req.payment_id.as_str() })),
        };
        let answer = self
            .send::<Refund>(
                self.http
                    .post(self.url("/refunds"))
                    .header("idempotency-key", req.refund_id.as_str())
                    .json(&body),
                false,
            )
            .await;
        match answer {
            Ok(r) => refund_outcome(&r),
            // Another refund of the payment is under way (ours, perhaps, from an answer that
            // was lost in the meantime), or what is left is less than this: ours is looked
            // for once more; otherwise the refund waits and asks again, nothing was made.
            Err(Failed::Refused { code, .. })
                if matches!(
                    code.as_str(),
                    "REFUND_IN_PROGRESS" | "TEMPORARILY_UNAVAILABLE" | "REFUND_AMOUNT_EXCEEDED"
                ) =>
            {
                if let Some(made) = self.refund_made(req).await? {
                    return refund_outcome(&made);
                }
                if code == "REFUND_AMOUNT_EXCEEDED" {
                    return Err(AdapterError::Declined(refund_failure(&code)));
                }
                Err(AdapterError::Declined(Failure::new(
                    FailureCode::WalletUnavailable,
                    Some(code),
                )))
            }
            Err(e) => Err(e.into_error()),
        }
    }

    /// `GET /refunds/{id}`.
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        safe_reference(refund_reference)?;
        let url = self.url(&format!("/refunds/{refund_reference}"));
        let refund: Refund = self.call(self.http.get(url), false).await?;
        refund_outcome(&refund)
    }

    /// `POST /v3/payment_requests/{id}/cancel`: a request still waiting for the customer is
    /// canceled; one that is no longer active (paid, failed, expired) is refused.
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        safe_reference(provider_reference)?;
        let url = self.url(&format!("/v3/payment_requests/{provider_reference}/cancel"));
        match self.send::<PaymentRequest>(self.http.post(url), true).await {
            Ok(pr) => match request_status(&pr)? {
                ProviderStatus::Canceled => Ok(Cancel::Canceled),
                _ => Ok(Cancel::Refused),
            },
            Err(Failed::Refused {
                status: 400, code, ..
            }) if matches!(
                code.as_str(),
                "INACTIVE_PAYMENT_REQUEST" | "INELIGIBLE_TRANSACTION_STATUS"
            ) =>
            {
                Ok(Cancel::Refused)
            }
            Err(e) => Err(e.into_error()),
        }
    }

    /// The callback token (see `signature`), then the event. Payment events become hints
    /// to confirm with Xendit (the token is the same on every callback and nothing in the
    /// body rules out a replay); refund events are taken and left to the refund worker,
    /// which asks Xendit by the refund's id (a forged or replayed refund event could
    /// otherwise undo a refund made); card-only and token events are taken and ignored.
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
        let hook: Webhook =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let malformed = |e: serde_json::Error| WebhookError::Malformed(format!("data: {e}"));
        // `data` is read from its raw text, so amounts never pass through a float.
        let data = hook.data.get();
        match hook.event.as_str() {
            "payment.capture" | "payment.failure" => {
                let p: Payment = serde_json::from_str(data).map_err(malformed)?;
                let status =
                    payment_status(&p).map_err(|e| WebhookError::Malformed(e.to_string()))?;
                Ok(vec![ProviderEvent {
                    provider: Provider::Xendit,
                    payment_id: PaymentId::parse(&p.reference_id),
                    amount: payment_amount(&p),
                    occurred_at: Timestamp::parse_rfc3339(&p.updated),
                    provider_reference: p.payment_request_id,
                    status,
                    refund: None,
                    confirm: true,
                    report: None,
                }])
            }
            // Its body is not published; the request's id and reference are what it must
            // carry, and the status call says the rest.
            "payment_request.expiry" | "payment_request.expired" => {
                #[derive(Deserialize)]
                struct Expired {
                    payment_request_id: String,
                    #[serde(default)]
                    reference_id: Option<String>,
                }
                let e: Expired = serde_json::from_str(data).map_err(malformed)?;
                Ok(vec![ProviderEvent {
                    provider: Provider::Xendit,
                    payment_id: e.reference_id.as_deref().and_then(PaymentId::parse),
                    provider_reference: e.payment_request_id,
                    status: ProviderStatus::Expired,
                    amount: None,
                    occurred_at: None,
                    refund: None,
                    confirm: true,
                    report: None,
                }])
            }
            "refund.succeeded" | "refund.failed" => Ok(Vec::new()),
            other => {
                tracing::info!(event = other, "Xendit event taken and ignored");
                Ok(Vec::new())
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> AdapterError {
        Failed::Refused {
            status,
            code: code.into(),
            message: "m".into(),
        }
        .into_error()
    }

    /// A resent create answered "not now" says nothing of the first create: unknown, never
    /// a decline that would fail a payment the first create may have made.
    #[test]
    fn a_resend_refused_for_the_moment_leaves_the_outcome_unknown() {
        for (status, code) in [
            (429, "RATE_LIMIT_EXCEEDED"),
            (400, "PAYMENT_REQUEST_RATE_LIMITED"),
            (503, "CHANNEL_UNAVAILABLE"),
            (503, "ISSUER_UNAVAILABLE"),
        ] {
            let e = refused(status, code);
            assert!(
                matches!(e, AdapterError::Declined(_)),
                "{code}: a create is declined"
            );
            assert!(
                matches!(recovery(Err(e)), Err(AdapterError::Unknown(_))),
                "{code}: a resend tells nothing"
            );
        }
        let invalid_qr = AdapterError::Declined(Failure::new(
            FailureCode::WalletUnavailable,
            Some("INVALID_QR".into()),
        ));
        assert!(matches!(
            recovery(Err(invalid_qr)),
            Err(AdapterError::Unknown(_))
        ));
        // A refusal of the request itself is the first create's answer too.
        let blocked = refused(403, "ACCOUNT_ACCESS_BLOCKED");
        assert!(matches!(recovery(Err(blocked)), Ok(Recovered::Declined(_))));
        // 409, 5xx and a lost answer stay unknown; 401 is our configuration.
        assert!(matches!(
            refused(409, "DUPLICATE_ERROR"),
            AdapterError::Unknown(_)
        ));
        assert!(matches!(
            refused(500, "SERVER_ERROR"),
            AdapterError::Unknown(_)
        ));
        assert!(matches!(
            refused(401, "INVALID_API_KEY"),
            AdapterError::Config(_)
        ));
        assert!(matches!(
            refused(404, "DATA_NOT_FOUND"),
            AdapterError::NotFound
        ));
        assert!(matches!(
            refused(400, "API_VALIDATION_ERROR"),
            AdapterError::Unsupported(_)
        ));
    }
}
