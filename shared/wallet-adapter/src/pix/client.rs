use super::mapping::{brl, cob_status, devolucao_id, devolucao_outcome, txid};
use super::signature;
use super::wire::{
    Calendario, Cob, CobRequest, Devolucao, DevolucaoRequest, Pix as Received, Problem, Token,
    Valor,
};
use crate::adapter::{
    AdapterError, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, RefundOutcome,
    RefundRequest, WalletAdapter, WebhookAck, WebhookError, WebhookRequest,
};
use crate::adapter::{Cancel, Recovered};
use crate::credentials::{
    self, Checked, CredentialError, CredentialSource, ExposeSecret, SecretString,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use walletpay_domain::emv::BrCode;
use walletpay_domain::{Country, Failure, FailureCode, Money, NextAction, Provider, WalletId};
use walletpay_ports::{Clock, Secrets, SystemClock};

/// The JSON held in the Secrets port under [`PixConfig::secret_name`].
#[derive(Debug, Clone, Deserialize)]
pub struct PixCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Our client certificate and its key (PEM), for mutual TLS.
    pub certificate: String,
    pub private_key: SecretString,
    /// The bank's CA (PEM), when its server certificate is not from a public CA.
    #[serde(default)]
    pub ca: Option<String>,
    /// The receiver's Pix key.
    pub pix_key: String,
    /// Shown in BR Codes walletpay builds (at most 25 and 15 characters).
    pub merchant_name: String,
    pub merchant_city: String,
}

impl Checked for PixCredentials {
    fn check(&self) -> Result<(), String> {
        credentials::required("client_id", &self.client_id)?;
        credentials::required_secret("client_secret", &self.client_secret)?;
        for (field, pem) in [
            ("certificate", self.certificate.as_str()),
            ("private_key", self.private_key.expose_secret()),
        ] {
            credentials::required(field, pem)?;
            if !pem.contains("-----BEGIN") {
                return Err(format!("`{field}` is not PEM"));
            }
        }
        if let Some(ca) = self.ca.as_deref().filter(|ca| !ca.trim().is_empty()) {
            if !ca.contains("-----BEGIN") {
                return Err("`ca` is not PEM (leave it empty for a public CA)".into());
            }
        }
        credentials::required("pix_key", &self.pix_key)?;
        credentials::required("merchant_name", &self.merchant_name)?;
        credentials::required("merchant_city", &self.merchant_city)
    }
}

#[derive(Debug, Clone)]
pub struct PixConfig {
    /// The PSP's API Pix base URL (https).
    pub base_url: String,
    pub secret_name: String,
    pub timeout: Duration,
}

impl PixConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        PixConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            secret_name: "walletpay/pix".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The mutual-TLS client, built from the credentials it was made with.
struct Session {
    /// A digest of the certificate, key and CA it was made with, to notice a rotation of
    /// any of them.
    identity: [u8; 32],
    http: reqwest::Client,
    token: Option<(String, Instant)>,
}

/// What a mutual-TLS session was made with, as one digest (the key is not kept in the clear).
fn identity(creds: &PixCredentials) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        creds.certificate.as_str(),
        creds.private_key.expose_secret(),
        creds.ca.as_deref().unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

pub struct Pix {
    config: PixConfig,
    credentials: CredentialSource,
    clock: Arc<dyn Clock>,
    session: Mutex<Option<Session>>,
}

fn safe(r: &str) -> Result<(), AdapterError> {
    let ok = (1..=35).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(()).ok_or(AdapterError::NotFound)
}

impl Pix {
    pub fn new(config: PixConfig, secrets: Arc<dyn Secrets>) -> Self {
        Pix {
            credentials: CredentialSource::new("Pix", secrets, config.secret_name.clone()),
            config,
            clock: Arc::new(SystemClock),
            session: Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<PixCredentials, CredentialError> {
        self.credentials.load().await
    }

    /// The mutual-TLS client for these credentials (made again when the certificate, the
    /// key or the CA was rotated).
    fn client(&self, creds: &PixCredentials) -> Result<reqwest::Client, AdapterError> {
        let identity = identity(creds);
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = session.as_ref().filter(|s| s.identity == identity) {
            return Ok(s.http.clone());
        }
        let b = crate::tls::mutual_client_builder(
            &creds.certificate,
            creds.private_key.expose_secret(),
            creds.ca.as_deref(),
        )
        .map_err(|e| AdapterError::Config(e.to_string()))?
        .timeout(self.config.timeout)
        .connect_timeout(crate::adapter::CONNECT_TIMEOUT);
        let http = b
            .build()
            .map_err(|e| AdapterError::Config(format!("TLS client: {e}")))?;
        *session = Some(Session {
            identity,
            http: http.clone(),
            token: None,
        });
        Ok(http)
    }

    /// The OAuth2 access token (client credentials, over the same mutual TLS), cached until
    /// shortly before it expires.
    async fn token(
        &self,
        creds: &PixCredentials,
        http: &reqwest::Client,
    ) -> Result<String, AdapterError> {
        if let Some(Some((t, until))) = self
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|s| s.token.clone())
        {
            if Instant::now() < until {
                return Ok(t);
            }
        }
        let resp = http
            .post(format!("{}/oauth/token", self.config.base_url))
            .basic_auth(&creds.client_id, Some(creds.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| AdapterError::Unknown(format!("Pix token: {e}")))?;
        if !resp.status().is_success() {
            return Err(AdapterError::Config(format!(
                "the PSP refused our client credentials ({})",
                resp.status()
            )));
        }
        let t: Token = resp
            .json()
            .await
            .map_err(|e| AdapterError::Unknown(format!("Pix token: {e}")))?;
        let until = Instant::now() + Duration::from_secs(t.expires_in.saturating_sub(60).max(1));
        if let Some(s) = self
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            // Only for the session it was fetched over.
            .filter(|s| s.identity == identity(creds))
        {
            s.token = Some((t.access_token.clone(), until));
        }
        Ok(t.access_token)
    }

    /// A listing for the settlement read, its errors in the read's terms.
    pub(super) async fn get_listing<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, crate::settlement::SettlementError> {
        use crate::settlement::SettlementError as E;
        match self.call::<T>(reqwest::Method::GET, path, None).await {
            Ok((_, t)) => Ok(t),
            Err(AdapterError::Config(m)) => Err(E::Config(m)),
            Err(e) => Err(E::Unavailable(e.to_string())),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(PixCredentials, T), AdapterError> {
        let creds = self.credentials().await?;
        let http = self.client(&creds)?;
        let token = self.token(&creds, &http).await?;
        let mut req = http
            .request(method, format!("{}{path}", self.config.base_url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let (status, bytes) = crate::adapter::exchange("Pix", req).await?;
        let status = status.as_u16();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map(|t| (creds, t))
                .map_err(|e| AdapterError::Unknown(format!("unreadable Pix answer: {e}")));
        }
        let p: Problem = serde_json::from_slice(&bytes).unwrap_or_default();
        if status == 401 {
            // A token the PSP no longer takes: fetch another next time.
            if let Some(s) = self
                .session
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                s.token = None;
            }
        }
        Err(match status {
            404 => AdapterError::NotFound,
            401 | 403 => AdapterError::Config(format!("Pix {status}: {}", p.title)),
            s if s >= 500 || s == 429 || s == 409 => {
                AdapterError::Unknown(format!("Pix {s}: {} {}", p.title, p.detail))
            }
            s => AdapterError::Unsupported(format!("Pix {s}: {} {}", p.title, p.detail)),
        })
    }

    fn created(
        &self,
        creds: &PixCredentials,
        cob: Cob,
        amount: Money,
    ) -> Result<ChargeCreated, AdapterError> {
        // The BR Code the customer pays: the PSP's, or built here from the charge's location.
        let code = match cob.pix_copia_e_cola.clone() {
            Some(c) => c,
            None => BrCode {
                key: None,
                url: cob
                    .location
                    .clone()
                    .or(cob.loc.as_ref().map(|l| l.location.clone())),
                merchant_name: creds.merchant_name.clone(),
                merchant_city: creds.merchant_city.clone(),
                amount: Some(amount),
                txid: "***".into(),
            }
            .payload()
            .map_err(|e| AdapterError::Unknown(format!("no BR Code for the charge: {e}")))?,
        };
        // Never show a customer a code that does not read back.
        BrCode::parse(&code)
            .map_err(|e| AdapterError::Unknown(format!("the PSP's BR Code is invalid: {e}")))?;
        Ok(ChargeCreated {
            status: cob_status(&cob),
            provider_reference: cob.txid,
            next_action: Some(NextAction::Qr { data: code }),
        })
    }

    async fn cob(&self, txid: &str) -> Result<Cob, AdapterError> {
        safe(txid)?;
        Ok(self
            .call(reqwest::Method::GET, &format!("/cob/{txid}"), None)
            .await?
            .1)
    }
}

#[async_trait]
impl WalletAdapter for Pix {
    fn provider(&self) -> Provider {
        Provider::Pix
    }

    fn supports(&self, country: Country, wallet: WalletId) -> bool {
        country == Country::BR && wallet == WalletId::Pix
    }

    /// `PUT /cob/{txid}`: the txid is ours, so a repeat is the same charge.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        if !self.supports(req.country, req.wallet) {
            return Err(AdapterError::Unsupported(format!(
                "{} in {}",
                req.wallet, req.country
            )));
        }
        let creds = self.credentials().await?;
        let now = self.clock.now();
        let body = CobRequest {
            calendario: Calendario {
                expiracao: ((req.expires_at.millis() - now.millis()) / 1000).max(60),
                criacao: None,
            },
            valor: Valor {
                original: req.amount.decimal_string(2),
            },
            chave: creds.pix_key.clone(),
            solicitacao_pagador: req.description.map(|d| d.chars().take(140).collect()),
        };
        let txid = txid(req.payment_id);
        let (creds, cob): (_, Cob) = self
            .call(
                reqwest::Method::PUT,
                &format!("/cob/{txid}"),
                Some(serde_json::to_value(&body).expect("serialises")),
            )
            .await?;
        self.created(&creds, cob, req.amount)
    }

    /// `GET /cob/{txid}` by our own txid.
    async fn recover_charge(&self, req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        let creds = self.credentials().await?;
        match self.cob(&txid(req.payment_id)).await {
            Ok(cob) => self.created(&creds, cob, req.amount).map(Recovered::Found),
            Err(AdapterError::NotFound) => Ok(Recovered::NothingMade),
            Err(e) => Err(e),
        }
    }

    /// `GET /cob/{txid}`; a charge shown paid is confirmed with `GET /pix/{e2eid}` for the
    /// full amount before it counts.
    async fn charge_status(
        &self,
        provider_reference: &str,
    ) -> Result<ProviderStatus, AdapterError> {
        let cob = self.cob(provider_reference).await?;
        let status = cob_status(&cob);
        if status != ProviderStatus::Succeeded {
            return Ok(status);
        }
        let owed = brl(&cob.valor.original);
        for p in &cob.pix {
            safe(&p.end_to_end_id)?;
            let (_, got): (_, Received) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/pix/{}", p.end_to_end_id),
                    None,
                )
                .await?;
            let amounts_match = matches!((brl(&got.valor), owed), (Some(a), Some(b)) if a == b);
            if got.txid.as_deref() == Some(cob.txid.as_str()) && amounts_match {
                return Ok(ProviderStatus::Succeeded);
            }
        }
        Err(AdapterError::Unknown(format!(
            "charge {} is CONCLUIDA but no received Pix matches it",
            cob.txid
        )))
    }

    /// `PUT /pix/{e2eid}/devolucao/{id}`, the id being our refund id (a repeat is the same
    /// return).
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        let cob = self.cob(req.charge_reference).await?;
        let Some(paid) = cob.pix.first() else {
            return Ok(RefundOutcome::Failed {
                provider_reference: None,
                failure: Failure::new(FailureCode::Unknown, Some("NOT_PAID".into())),
            });
        };
        let id = devolucao_id(req.refund_id);
        let (_, d): (_, Devolucao) = self
            .call(
                reqwest::Method::PUT,
                &format!("/pix/{}/devolucao/{id}", paid.end_to_end_id),
                Some(
                    serde_json::to_value(DevolucaoRequest {
                        valor: req.amount.decimal_string(2),
                    })
                    .expect("serialises"),
                ),
            )
            .await?;
        Ok(devolucao_outcome(&paid.end_to_end_id, &d))
    }

    /// `GET /pix/{e2eid}/devolucao/{id}` (the reference is `<e2eid>/<id>`).
    async fn refund_status(
        &self,
        _charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError> {
        let (e2e, id) = refund_reference
            .split_once('/')
            .ok_or(AdapterError::NotFound)?;
        safe(e2e)?;
        safe(id)?;
        let (_, d): (_, Devolucao) = self
            .call(
                reqwest::Method::GET,
                &format!("/pix/{e2e}/devolucao/{id}"),
                None,
            )
            .await?;
        Ok(devolucao_outcome(e2e, &d))
    }

    /// `PATCH /cob/{txid}` to `REMOVIDA_PELO_USUARIO_RECEBEDOR`: an unpaid charge can be
    /// withdrawn.
    /// `PATCH /cob/{txid}` to `REMOVIDA_PELO_USUARIO_RECEBEDOR`; a charge no longer `ATIVA`
    /// (paid, most likely) answers 400 `CobOperacaoInvalida`.
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError> {
        safe(provider_reference)?;
        match self
            .call::<Cob>(
                reqwest::Method::PATCH,
                &format!("/cob/{provider_reference}"),
                Some(serde_json::json!({"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"})),
            )
            .await
        {
            Ok((_, cob)) if cob.status == "REMOVIDA_PELO_USUARIO_RECEBEDOR" => Ok(Cancel::Canceled),
            Ok(_) | Err(AdapterError::Unsupported(_) | AdapterError::Declined(_)) => {
                Ok(Cancel::Refused)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST .../pix` carries no signature (see `signature`): every item only asks for a
    /// status check.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        // Every item is confirmed with the PSP before it counts, which these credentials
        // must be able to do.
        self.credentials().await?;
        signature::hints(req.body)
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
            body: "{}".into(),
        }
    }
}
