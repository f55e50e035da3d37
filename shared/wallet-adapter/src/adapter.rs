use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use walletpay_domain::{
    Country, Customer, Failure, Money, NextAction, PaymentEvent, PaymentId, Provider, RefundId,
    RefundReason, Timestamp, WalletId,
};

/// How long an adapter waits for a provider's connection to open.
pub(crate) const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The HTTP client of an adapter: every call bounded by `timeout`, connecting by
/// `CONNECT_TIMEOUT`.
pub(crate) fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    crate::tls::client_builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Sends a request to `provider` and reads its whole answer. A request that never reached
/// the provider (the connection was refused) is declined as wallet-unavailable: nothing
/// can have been done. Anything lost after that may have been acted on, so is unknown.
pub(crate) async fn exchange(
    provider: &str,
    req: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, bytes::Bytes), AdapterError> {
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            return Err(AdapterError::Declined(Failure::new(
                walletpay_domain::FailureCode::WalletUnavailable,
                Some("CONNECTION_REFUSED".into()),
            )))
        }
        Err(e) => {
            return Err(AdapterError::Unknown(format!(
                "{provider} call failed: {e}"
            )))
        }
    };
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| AdapterError::Unknown(format!("{provider} answer cut short: {e}")))?;
    Ok((status, body))
}

/// The answer to a create sent again (under the same idempotency key) to recover one whose
/// answer was lost: a charge, or a decline the provider itself answered, which was the first
/// create's answer too. A connection that never opened says nothing about the first create,
/// which may have been made: that is still unknown.
pub(crate) fn recovered_by_replay(
    provider: &str,
    replay: Result<ChargeCreated, AdapterError>,
) -> Result<Recovered, AdapterError> {
    match replay {
        Ok(c) => Ok(Recovered::Found(c)),
        Err(AdapterError::Declined(f))
            if f.provider_code.as_deref() == Some("CONNECTION_REFUSED") =>
        {
            Err(AdapterError::Unknown(format!(
                "{provider} could not be reached to recover the charge"
            )))
        }
        Err(AdapterError::Declined(f)) => Ok(Recovered::Declined(f)),
        Err(e) => Err(e),
    }
}

/// What we ask a provider to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    /// Our payment id; providers get it as their merchant reference (our idempotency key
    /// towards them).
    pub payment_id: &'a PaymentId,
    pub amount: Money,
    pub country: Country,
    pub wallet: WalletId,
    pub customer: &'a Customer,
    pub return_url: Option<&'a str>,
    pub description: Option<&'a str>,
    pub expires_at: Timestamp,
}

/// A charge's state at the provider, in our terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProviderStatus {
    Pending,
    Succeeded,
    Failed { failure: Failure },
    Canceled,
    Expired,
}

impl ProviderStatus {
    /// The payment event this status stands for (`Pending` stands for none).
    pub fn to_event(&self) -> Option<PaymentEvent> {
        match self {
            ProviderStatus::Pending => None,
            ProviderStatus::Succeeded => Some(PaymentEvent::Succeeded),
            ProviderStatus::Failed { failure } => Some(PaymentEvent::Failed {
                failure: failure.clone(),
            }),
            ProviderStatus::Canceled => Some(PaymentEvent::Canceled),
            ProviderStatus::Expired => Some(PaymentEvent::Expired),
        }
    }
}

/// What a provider can tell about the charge behind a create whose answer we never got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// The charge made for the payment.
    Found(ChargeCreated),
    /// The create's answer, now known: the provider declined it (nothing was charged).
    Declined(Failure),
    /// The provider has made nothing for the payment.
    NothingMade,
    /// The provider offers no way to find out (the charge may exist).
    CannotTell,
}

/// What asking a provider to cancel a charge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// The provider canceled it: it can no longer be paid.
    Canceled,
    /// The provider would not, the charge being past where it can be canceled (paid,
    /// most likely, or already final): ask it where the charge stands.
    Refused,
    /// The provider has no way to cancel this charge; it lapses at the provider.
    NotCancelable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeCreated {
    pub provider_reference: String,
    pub status: ProviderStatus,
    pub next_action: Option<NextAction>,
}

/// What we ask a provider to refund.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// Our refund id: the provider's idempotency key for this refund.
    pub refund_id: &'a RefundId,
    /// The payment refunded.
    pub payment_id: &'a PaymentId,
    /// The provider's reference of the charge being refunded.
    pub charge_reference: &'a str,
    pub amount: Money,
    pub reason: RefundReason,
}

/// A refund about to be asked for, as the refund API knows it before reserving anything.
#[derive(Debug, Clone)]
pub struct RefundCheck<'a> {
    pub country: Country,
    pub wallet: WalletId,
    /// The provider's reference of the charge to refund.
    pub charge_reference: &'a str,
    pub amount: Money,
    /// For less than the whole payment.
    pub partial: bool,
}

/// Whether a provider can make a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSupport {
    Supported,
    /// It cannot, and says why (in words for the merchant).
    Refused(String),
}

/// Where a refund stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Pending {
        provider_reference: String,
    },
    Succeeded {
        provider_reference: String,
    },
    Failed {
        provider_reference: Option<String>,
        failure: Failure,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The provider definitely did not charge, and says why.
    #[error("declined by the provider: {}", .0.code.as_str())]
    Declined(Failure),
    /// We cannot know whether the provider acted (timeout, dropped connection, 5xx): the
    /// charge may exist. Never a failure; a status check resolves it.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The provider has no such charge.
    #[error("not found at the provider")]
    NotFound,
    /// This provider cannot take this request (wallet, currency or amount).
    #[error("not supported by the provider: {0}")]
    Unsupported(String),
    /// Our own credentials or configuration are missing or wrong.
    #[error("provider configuration: {0}")]
    Config(String),
}

impl From<crate::credentials::CredentialError> for AdapterError {
    /// Nothing was sent: a charge without usable credentials is a configuration error, so
    /// routing moves on to the next provider.
    fn from(e: crate::credentials::CredentialError) -> Self {
        AdapterError::Config(e.to_string())
    }
}

impl From<crate::credentials::CredentialError> for WebhookError {
    /// A webhook that cannot be verified is never taken: 503, nothing queued.
    fn from(e: crate::credentials::CredentialError) -> Self {
        WebhookError::Unavailable(e.to_string())
    }
}

/// A webhook as it arrived: the raw bytes, never re-serialised, since signatures cover them.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// A verified provider event, as it travels on the payment-events queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEvent {
    pub provider: Provider,
    /// Our payment id, where the provider echoes our reference.
    pub payment_id: Option<PaymentId>,
    pub provider_reference: String,
    #[serde(flatten)]
    pub status: ProviderStatus,
    /// The amount the provider says the charge is for, to check against the payment.
    pub amount: Option<Money>,
    pub occurred_at: Option<Timestamp>,
    /// Set when the event is about a refund of the charge (then `status` says nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundUpdate>,
    /// The body cannot be trusted on its own (no timestamp or payload signature that rules
    /// out a replay): the consumer asks the provider where the charge stands instead of
    /// applying `status`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// Set when the event announces a settlement report (then it is about no payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportAnnounced>,
}

/// A settlement report the provider announced (Adyen's `REPORT_AVAILABLE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAnnounced {
    /// The report's file name.
    pub file: String,
    /// Where to download it.
    pub url: String,
    pub announced_at: Timestamp,
}

/// A refund's outcome as a provider's webhook reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundUpdate {
    /// The provider's id of the refund (what its refund call answered).
    pub provider_reference: String,
    /// Our refund id, where the provider echoes the reference we gave the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// `Ok` for a refund made, `Err` with the reason for one refused (or undone).
    pub outcome: Result<(), Failure>,
    /// The amount the provider says the refund (or its reversal) is for, to check against
    /// the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature or token: the body must not be trusted.
    #[error("webhook authentication failed")]
    Unauthenticated,
    #[error("malformed webhook: {0}")]
    Malformed(String),
    #[error("webhook verification unavailable: {0}")]
    Unavailable(String),
}

/// How a provider wants its webhooks answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAck {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// What every wallet provider does for us.
#[async_trait]
pub trait WalletAdapter: Send + Sync {
    fn provider(&self) -> Provider;

    /// Whether this provider can take `wallet` in `country`.
    fn supports(&self, country: Country, wallet: WalletId) -> bool;

    /// Creates the charge. The provider's own idempotency key is our payment id.
    async fn create_charge(&self, req: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError>;

    /// After an unknown outcome on create (we never learned the provider's reference):
    /// finds the charge made for this payment, without ever making a second one, where the
    /// provider offers a way (an idempotent replay, or a lookup by our reference).
    async fn recover_charge(&self, _req: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        Ok(Recovered::CannotTell)
    }

    /// Whether the provider can be asked where a charge stands. One that cannot (Adyen's
    /// Checkout API) tells by webhook only, so its silence is never taken as an answer.
    fn answers_status_queries(&self) -> bool {
        true
    }

    /// Asks the provider where a charge stands.
    async fn charge_status(&self, provider_reference: &str)
        -> Result<ProviderStatus, AdapterError>;

    /// Asks about a charge a webhook named for a payment that has no charge of its own yet
    /// (its create timed out): where the provider's answer names the payment the charge was
    /// made for, a charge made for another payment is `NotFound`.
    async fn confirm_charge(
        &self,
        provider_reference: &str,
        _payment_id: &PaymentId,
    ) -> Result<ProviderStatus, AdapterError> {
        self.charge_status(provider_reference).await
    }

    /// Whether this provider can make this refund (the wallet, whether it is partial, and
    /// where the provider must be asked, what the charge was paid with and when). A refund
    /// it cannot make is refused before anything is reserved or sent. `Err`: the provider
    /// could not be asked, and nothing is decided.
    async fn refund_support(
        &self,
        _check: &RefundCheck<'_>,
    ) -> Result<RefundSupport, AdapterError> {
        Ok(RefundSupport::Supported)
    }

    /// Refunds (part of) a charge. Retrying with the same refund id never refunds twice.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError>;

    /// Asks the provider where a refund stands.
    async fn refund_status(
        &self,
        charge_reference: &str,
        refund_reference: &str,
    ) -> Result<RefundOutcome, AdapterError>;

    /// Cancels a charge the customer has not paid.
    async fn cancel_charge(&self, provider_reference: &str) -> Result<Cancel, AdapterError>;

    /// Authenticates a webhook and reads its events. Fast: no calls to the provider.
    async fn verify_webhook(
        &self,
        req: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError>;

    /// The answer the provider expects once a webhook is taken.
    fn webhook_ack(&self) -> WebhookAck;

    /// Whether this deployment has a settlement source for the provider (a statement URL
    /// configured, a report host): without one its days are not scheduled.
    fn has_settlement_source(&self) -> bool {
        true
    }

    /// Reads the provider's settlement data of a day (its `settlement.rs`), handing each row
    /// to `sink` as it is read; every row read exactly, or the read fails naming the row.
    async fn settlement(
        &self,
        day: &crate::settlement::SettlementDay<'_>,
        sink: crate::settlement::RowSink<'_>,
    ) -> Result<crate::settlement::SourceRead, crate::settlement::SettlementError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    #[test]
    fn a_replay_that_could_not_connect_recovers_nothing() {
        let refused = Failure::new(
            walletpay_domain::FailureCode::WalletUnavailable,
            Some("CONNECTION_REFUSED".into()),
        );
        assert!(matches!(
            recovered_by_replay("Test", Err(AdapterError::Declined(refused))),
            Err(AdapterError::Unknown(_))
        ));
        let declined = Failure::new(walletpay_domain::FailureCode::InsufficientBalance, None);
        assert!(matches!(
            recovered_by_replay("Test", Err(AdapterError::Declined(declined))),
            Ok(Recovered::Declined(_))
        ));
    }

    #[tokio::test]
    async fn a_provider_that_refuses_the_connection_declines_as_unavailable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let req = http_client(Duration::from_secs(5)).get(format!("http://127.0.0.1:{port}/"));
        match exchange("Test", req).await {
            Err(AdapterError::Declined(f)) => {
                assert_eq!(f.code, walletpay_domain::FailureCode::WalletUnavailable);
                assert_eq!(f.provider_code.as_deref(), Some("CONNECTION_REFUSED"));
            }
            other => panic!("expected a decline, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_provider_that_drops_the_request_unanswered_leaves_the_outcome_unknown() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            // Closed without a word: the request reached the provider.
        });
        let req = http_client(Duration::from_secs(5))
            .post(format!("http://127.0.0.1:{port}/charges"))
            .body("{}");
        let got = exchange("Test", req).await;
        server.join().unwrap();
        match got {
            Err(AdapterError::Unknown(why)) => {
                assert!(why.starts_with("Test call failed"), "{why}")
            }
            other => panic!("expected an unknown outcome, got {other:?}"),
        }
    }
}
