use super::mapping::{idr, refund_refused, refused, transaction_status};
use super::signature;
use super::wire::{Answer, CancelOrder, CreateOrder, Notify, RefundOrder, StatusQuery, UrlParam};
use super::NOTIFY_PATH;
use crate::adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, Recovered,
    RefundOutcome, RefundRequest, WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use walletpay_domain::{
    Country, Currency, Failure, FailureCode, Money, NextAction, PaymentId, Provider, Timestamp,
    WalletId,
};
use walletpay_ports::{Clock, Secrets, SystemClock};

/// The JSON held in the Secrets port under [`DanaConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct DanaCredentials {
    /// `X-PARTNER-ID` (the client id).
    pub partner_id: String,
    pub merchant_id: String,
    pub channel_id: String,
    /// Our private key, PKCS#8 PEM.
    pub private_key: SecretString,
    /// DANA's public key, PEM.
    pub dana_public_key: String,
    /// DANA's previous key, accepted on notifications during a rotation.
    #[serde(default)]
    pub previous_dana_public_key: Option<String>,
    /// For symmetric signatures.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
}

impl Checked for DanaCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required("partner_id", &self.partner_id)?;
        credentials::required("merchant_id", &self.merchant_id)?;
        credentials::required("channel_id", &self.channel_id)?;
        credentials::required_secret("private_key", &self.private_key)?;
        if !self.private_key.expose_secret().contains("-----BEGIN") {
            return Err("`private_key` is not PEM".into());
        }
        credentials::required("dana_public_key", &self.dana_public_key)?;
        if !self.dana_public_key.contains("-----BEGIN") {
            return Err("`dana_public_key` is not PEM".into());
        }
        credentials::optional_text_key("client_secret", &self.client_secret)
    }
}

#[derive(Debug, Clone)]
pub struct DanaConfig {
    /// DANA's SNAP API (`https://api.saas.dana.id` in production, DANA's sandbox host for
    /// tests); ours locally.
    pub base_url: String,
    pub secret_name: String,
    pub timeout: Duration,
    /// Where the day's statement file is fetched (`?date=YYYY-MM-DD`); none: no settlement
    /// source.
    pub statements_url: Option<String>,
    /// Where DANA's notifications reach us, as a full URL (its path is what DANA signs).
    pub notify_url: String,
}

impl DanaConfig {
    pub fn new(base_url: impl Into<String>, notify_url: impl Into<String>) -> Self {
        DanaConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/dana".into(),
            timeout: Duration::from_secs(10),
            statements_url: None,
            notify_url: notify_url.into(),
        }
    }
}

pub struct Dana {
    http: reqwest::Client,
    config: DanaConfig,
    credentials: CredentialSource,
    clock: Arc<dyn Clock>,
    /// The B2B access token and until when it is good.
    token: Mutex<Option<(String, Instant)>>,
}

const CREATE: &str = "/payment-gateway/v1.0/debit/payment-host-to-host.htm";
const STATUS: &str = "/payment-gateway/v1.0/debit/status.htm";
const REFUND: &str = "/payment-gateway/v1.0/debit/refund.htm";
const CANCEL: &str = "/payment-gateway/v1.0/debit/cancel.htm";
const TOKEN: &str = "/v1.0/access-token/b2b.htm";

impl Dana {
    pub fn new(config: DanaConfig, secrets: Arc<dyn Secrets>) -> Self {
        let http = crate::adapter::http_client(config.timeout);
        Dana {
            http,
            credentials: CredentialSource::new("DANA", secrets, config.secret_name.clone()),
            config,
            clock: Arc::new(SystemClock),
            token: Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<DanaCredentials, CredentialError> {
        self.credentials.load().await
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn statements_url(&self) -> &Option<String> {
        &self.config.statements_url
    }

    pub(super) async fn settlement_credentials(&self) -> Result<DanaCredentials, CredentialError> {
        self.credentials().await
    }

    async fn send(
        &self,
        path: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<(u16, Answer), AdapterError> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.config.base_url))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let (status, bytes) = crate::adapter::exchange("DANA", req.body(body)).await?;
        let status = status.as_u16();
        match serde_json::from_slice::<Answer>(&bytes) {
            Ok(a) => Ok((status, a)),
            Err(_) if status >= 500 => {
                Err(AdapterError::Unknown(format!("DANA answered {status}")))
            }
            Err(e) => Err(AdapterError::Unknown(format!(
                "unreadable DANA answer ({status}): {e}"
            ))),
        }
    }

    /// The B2B access token, fetched again shortly before it runs out.
    async fn access_token(&self, creds: &DanaCredentials) -> Result<String, AdapterError> {
        if let Some((t, until)) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            if Instant::now() < until {
                return Ok(t);
            }
        }
        let key = signature::private_key(creds.private_key.expose_secret())
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        let ts = signature::timestamp(self.clock.now());
        let sig = signature::sign(&key, &format!("{}|{ts}", creds.partner_id));
        let body = serde_json::to_vec(&serde_json::json!({"grantType": "client_credentials"}))
            .expect("serialises");
        let (status, a) = self
            .send(
                TOKEN,
                vec![
                    ("x-timestamp", ts),
                    ("x-client-key", creds.partner_id.clone()),
                    ("x-signature", sig),
                ],
                body,
            )
            .await?;
        let token = match (status, a.access_token) {
            (200, Some(t)) if a.response_code == "2007300" => t,
            _ => {
                return Err(AdapterError::Config(format!(
                    "DANA refused the access token: {} {}",
                    a.response_code, a.response_message
                )))
            }
        };
        let secs: u64 = a.expires_in.and_then(|e| e.parse().ok()).unwrap_or(900);
        let until = Instant::now() + Duration::from_secs(secs.saturating_sub(60).max(1));
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some((token.clone(), until));
        Ok(token)
    }

    /// POSTs a signed SNAP request.
    async fn call<B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(DanaCredentials, u16, Answer), AdapterError> {
        let creds = self.credentials().await?;
        let token = self.access_token(&creds).await?;
        let key = signature::private_key(creds.private_key.expose_secret())
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        let body = serde_json::to_vec(body).expect("serialises");
        let ts = signature::timestamp(self.clock.now());
        let sig = signature::sign(&key, &signature::string_to_sign("POST", path, &body, &ts));
        // Unique per day: the time and a random part (a fresh std hasher's keys are random).
        let external_id: String = {
            use std::hash::{BuildHasher, Hasher};
            let n = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            format!(
                "{}{:016}",
                self.clock.now().millis(),
                n % 10_000_000_000_000_000
            )
        };
        let (status, a) = self
            .send(
                path,
                vec![
                    ("authorization", format!("Bearer {token}")),
                    ("x-timestamp", ts),
                    ("x-signature", sig),
                    ("x-partner-id", creds.partner_id.clone()),
                    ("x-external-id", external_id),
                    ("channel-id", creds.channel_id.clone()),
                ],
                body,
            )
            .await?;
        if status == 401 {
            // Our token may have been revoked: fetch a new one next time.
            *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        Ok((creds, status, a))
    }
}

/// The reference we keep for a DANA order: ours and DANA's (`<partnerReferenceNo>:<referenceNo>`),
/// since SNAP's status inquiry names the order by both.
fn provider_reference(partner_reference: &str, reference: &str) -> String {
    format!("{partner_reference}:{reference}")
}

fn split(provider_reference: &str) -> Result<(&str, &str), AdapterError> {
    provider_reference
        .split_once(':')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or(AdapterError::NotFound)
}

#[async_trait]
impl WalletAdapter for Dana {
    fn provider(&self) -> Provider {
        Provider::Dana
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        country == Country::ID && wallet == WalletId::Dana
    }

    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        if !self.supports(req.country, req.wallet) || req.amount.currency != Currency::IDR {
            return Err(AdapterError::Unsupported(format!(
                "{} in {} at DANA",
                req.wallet, req.country
            )));
        }
        let creds = self.credentials().await?;
        let mut url_params = vec![UrlParam {
            url: self.config.notify_url.clone(),
            kind: "NOTIFICATION".into(),
            is_deeplink: "N".into(),
        }];
        if let Some(r) = req.return_url {
            url_params.push(UrlParam {
                url: r.into(),
                kind: "PAY_RETURN".into(),
                is_deeplink: "N".into(),
            });
        }
        let order = CreateOrder {
            partner_reference_no: req.payment_id.to_string(),
            merchant_id: creds.merchant_id,
            amount: idr(req.amount),
            valid_up_to: signature::timestamp(req.expires_at),
            url_params,
        };
        let (_, status, a) = self.call(CREATE, &order).await?;
        if a.response_code != "2005400" {
            return Err(refused(status, &a));
        }
        let reference = a
            .reference_no
            .ok_or_else(|| AdapterError::Unknown("DANA answered without a referenceNo".into()))?;
        Ok(ChargeCreated {
            provider_reference: provider_reference(req.payment_id.as_str(), &reference),
            status: ProviderStatus::Pending,
            next_action: a.web_redirect_url.map(|url| NextAction::Redirect { url }),
        })
    }

    /// The same order again: DANA answers a repeated `partnerReferenceNo` with identical data
    /// with the first success.
    /// The same order again (DANA's key is merchantId + partnerReferenceNo): the same data
    /// answers with the order made the first time.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        crate::adapter::recovered_by_replay("DANA", self.create_charge(req).await)
    }

    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        let (ours, theirs) = split(provider_reference)?;
        let creds = self.credentials().await?;
        let query = StatusQuery {
            original_partner_reference_no: ours.to_string(),
            original_reference_no: Some(theirs.to_string()),
            merchant_id: creds.merchant_id,
            service_code: "54".into(),
        };
        let (_, status, a) = self.call(STATUS, &query).await?;
        if a.response_code != "2005500" {
            return Err(refused(status, &a));
        }
        transaction_status(
            a.latest_transaction_status.as_deref().unwrap_or(""),
            a.transaction_status_desc.as_deref(),
        )
    }

    /// Refund with our refund id as `partnerRefundNo` (DANA's key for refunds).
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        let (_, theirs) = split(req.charge_reference)?;
        let creds = self.credentials().await?;
        let order = RefundOrder {
            original_partner_reference_no: req.payment_id.to_string(),
            original_reference_no: Some(theirs.to_string()),
            partner_refund_no: req.refund_id.to_string(),
            merchant_id: creds.merchant_id,
            refund_amount: idr(req.amount),
            reason: Some(req.reason.as_str().into()),
        };
        let (_, status, a) = self.call(REFUND, &order).await?;
        if a.response_code == "2005800" {
            return Ok(RefundOutcome::Succeeded {
                provider_reference: a.refund_no.unwrap_or_else(|| req.refund_id.to_string()),
            });
        }
        if refund_refused(&a.response_code) {
            return Ok(RefundOutcome::Failed {
                provider_reference: None,
                failure: Failure::new(FailureCode::Unknown, Some(a.response_code)),
            });
        }
        // In progress, a conflict, a code not known here: the worker asks again under the
        // same `partnerRefundNo`.
        Err(match refused(status, &a) {
            e @ AdapterError::Config(_) => e,
            _ => AdapterError::Unknown(format!("DANA {}: {}", a.response_code, a.response_message)),
        })
    }

    /// No refund lookup here: a refund whose answer was lost is asked again under the same
    /// `partnerRefundNo` by the worker's next attempt.
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        Ok(RefundOutcome::Pending {
            provider_reference: refund_reference.to_string(),
        })
    }

    /// Cancel Order (service 57) for an order the customer has not paid: `2005700`. An
    /// order past that (paid, refunded, expired) is refused (`4045700` Invalid Transaction
    /// Status, `4035700` Transaction Expired, `4035715` Not Permitted).
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        let (ours, theirs) = split(provider_reference)?;
        let creds = self.credentials().await?;
        let order = CancelOrder {
            original_partner_reference_no: ours.to_string(),
            original_reference_no: Some(theirs.to_string()),
            merchant_id: creds.merchant_id,
            reason: Some("Not paid in time".into()),
        };
        let (_, status, a) = self.call(CANCEL, &order).await?;
        match a.response_code.as_str() {
            "2005700" => Ok(Cancel::Canceled),
            "4045700" | "4035700" | "4035715" => Ok(Cancel::Refused),
            _ => Err(match refused(status, &a) {
                e @ AdapterError::Config(_) => e,
                _ => AdapterError::Unknown(format!(
                    "DANA cancel {}: {}",
                    a.response_code, a.response_message
                )),
            }),
        }
    }

    /// DANA's finish notification: `X-SIGNATURE` with DANA's key (or its previous one) over
    /// `POST:<our notify path>:<body hash>:<X-TIMESTAMP>`, the timestamp within 5 minutes.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        let creds = self.credentials().await?;
        let mut keys = vec![signature::public_key(&creds.dana_public_key).map_err(|e| {
            tracing::error!(error = %e, "DANA's public key in the secret cannot be read; DANA's notifications are refused");
            WebhookError::Unavailable(e.to_string())
        })?];
        if let Some(p) = creds.previous_dana_public_key.as_deref() {
            keys.extend(signature::public_key(p).ok());
        }
        let path = url::Url::parse(&self.config.notify_url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| NOTIFY_PATH.to_string());
        signature::check_notification(
            &keys,
            &path,
            req.headers,
            req.body,
            self.clock.now().unix_seconds(),
        )?;
        let n: Notify =
            serde_json::from_slice(req.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let status = transaction_status(
            &n.latest_transaction_status,
            n.transaction_status_desc.as_deref(),
        )
        .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(vec![ProviderEvent {
            provider: Provider::Dana,
            payment_id: PaymentId::parse(&n.original_partner_reference_no),
            provider_reference: provider_reference(
                &n.original_partner_reference_no,
                &n.original_reference_no,
            ),
            status,
            amount: Money::parse_decimal(&n.amount.value, Currency::IDR).ok(),
            occurred_at: n
                .finished_time
                .as_deref()
                .and_then(Timestamp::parse_rfc3339),
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
            body: r#"{"responseCode":"2005600","responseMessage":"Successful"}"#.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_keep_both_ids() {
        let r = provider_reference("pay_1", "2026");
        assert_eq!(split(&r).unwrap(), ("pay_1", "2026"));
        assert!(split("nocolon").is_err());
    }
}
