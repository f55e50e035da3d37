//! Start-up shared by every entry point: logging, and the ports built once from the
//! environment (a Lambda function's `main` calls this at init and reuses the result).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TABLE_NAME` | the DynamoDB table | `walletpay` |
//! | `PAYMENT_EVENTS_QUEUE_URL` | the payment-events SQS queue | required |
//! | `STATUS_CHECKS_QUEUE_URL` | the status-check SQS queue | required |
//! | `REFUNDS_QUEUE_URL` | the refund-job SQS queue | required |
//! | `NOTIFICATIONS_QUEUE_URL` | the merchant-notification SQS queue | required |
//! | `NOTIFICATIONS_DLQ_URL` | where undeliverable notifications are parked | required |
//! | `RECONCILE_QUEUE_URL` | the reconcile-job SQS queue | required |
//! | `RECONCILE_TIME_ZONES` | report time zones, `xendit=+07:00,adyen=+00:00,...` | see `ReconcileSettings` |
//! | `RECONCILE_GRACE_DAYS` | days a success may go unlisted before it is a discrepancy | `3` |
//! | `RECONCILE_OVERDUE_HOURS` | hours after a day ends before it counts as overdue | `36` |
//! | `ADYEN_REPORTS_URL` | where Adyen reports may be downloaded from | none (no Adyen settlement source) |
//! | `MIDTRANS_STATEMENTS_URL`, `DANA_STATEMENTS_URL`, `PROMPTPAY_STATEMENTS_URL` | where the day's statement file is fetched | none |
//! | `XENDIT_BASE_URL` | Xendit's API | `https://api.xendit.co` |
//! | `XENDIT_SECRET_NAME` | Secrets Manager secret with Xendit's keys | `walletpay/xendit` |
//! | `SECRETS_CACHE_SECONDS` | how long a secret is cached | `60` |
//!
//! AWS endpoints and credentials come from the standard AWS variables and the Lambda role.

use std::sync::Arc;
use std::time::Duration;
use walletpay_app::{Adapters, App, Settings};
use walletpay_aws::{DynamoDbStore, SecretsManager, SqsQueue};
use walletpay_ports::{CachedSecrets, Secrets, SystemClock};
use walletpay_wallet_adapter::xendit::{Xendit, XenditConfig};

/// JSON logs to stdout (CloudWatch), levels from `RUST_LOG` (see [`log_filter`]); a value
/// that does not read is reported on stderr once and `info` is used instead.
pub fn init_tracing() {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref()).unwrap_or_else(|e| {
        eprintln!("RUST_LOG ignored ({e}); logging at info");
        default_log_filter()
    });
    let _ = tracing::subscriber::set_global_default(log_subscriber(filter));
}

/// The subscriber [`init_tracing`] installs. The formatter's own level cap is lifted to
/// `trace` so that `filter` alone decides (the formatter caps at `info` unless told).
fn log_subscriber(
    filter: tracing_subscriber::filter::Targets,
) -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .without_time()
        .with_max_level(LevelFilter::TRACE)
        .finish()
        .with(filter)
}

fn default_log_filter() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_default(tracing_subscriber::filter::LevelFilter::INFO)
}

/// Reads `RUST_LOG`: comma-separated pieces, each a level (`off`, `error`, `warn`, `info`,
/// `debug`, `trace`: the default for every target) or `target=level` (that target and the
/// modules under it, by prefix); spaces around pieces and empty pieces are ignored, and a
/// later piece for the same target wins. Unset or blank is `info`. Anything else (a word
/// that is not a level, a span or field filter) is an error rather than a guess.
pub fn log_filter(value: Option<&str>) -> Result<tracing_subscriber::filter::Targets, String> {
    use tracing_subscriber::filter::LevelFilter;
    // (`LevelFilter` also reads "" as `error`, which no one means.)
    let level = |l: &str| {
        let l = l.trim();
        match l.is_empty() {
            true => Err("a level is missing".to_string()),
            false => l
                .parse::<LevelFilter>()
                .map_err(|_| format!("{l:?} is not a level")),
        }
    };
    let mut default = LevelFilter::INFO;
    let mut targets: Vec<(String, LevelFilter)> = Vec::new();
    for piece in value.unwrap_or("").split(',').map(str::trim) {
        if piece.is_empty() {
            continue;
        }
        match piece.split_once('=') {
            None => default = level(piece)?,
            Some((target, l)) => {
                let target = target.trim();
                let ok = !target.is_empty()
                    && target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-');
                if !ok {
                    return Err(format!("{target:?} is not a target"));
                }
                let l = level(l)?;
                targets.retain(|(t, _)| t != target);
                targets.push((target.to_string(), l));
            }
        }
    }
    Ok(tracing_subscriber::filter::Targets::new()
        .with_default(default)
        .with_targets(targets))
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn env_some(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reconciliation's settings from the environment (see the table above).
pub fn reconcile_settings_from_env() -> Result<walletpay_app::reconcile::ReconcileSettings, String>
{
    let mut s = walletpay_app::reconcile::ReconcileSettings::default();
    if let Some(zones) = env_some("RECONCILE_TIME_ZONES") {
        for part in zones.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, zone) = part
                .split_once('=')
                .ok_or_else(|| format!("RECONCILE_TIME_ZONES: {part:?} is not provider=+HH:MM"))?;
            let provider = walletpay_domain::Provider::parse(name)
                .ok_or_else(|| format!("RECONCILE_TIME_ZONES: no provider {name:?}"))?;
            let minutes = parse_offset(zone)
                .ok_or_else(|| format!("RECONCILE_TIME_ZONES: {zone:?} is not +HH:MM"))?;
            s.offsets.retain(|(p, _)| *p != provider);
            s.offsets.push((provider, minutes));
        }
    }
    if let Some(g) = env_some("RECONCILE_GRACE_DAYS") {
        s.grace_days = g
            .parse()
            .map_err(|_| "RECONCILE_GRACE_DAYS must be a number".to_string())?;
    }
    if let Some(h) = env_some("RECONCILE_OVERDUE_HOURS") {
        let h: u64 = h
            .parse()
            .map_err(|_| "RECONCILE_OVERDUE_HOURS must be a number".to_string())?;
        s.overdue_after = Duration::from_secs(h * 3600);
    }
    Ok(s)
}

/// `+07:00` as minutes east of UTC.
pub fn parse_offset(zone: &str) -> Option<i32> {
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

/// The provider adapters, given where their secrets live.
pub fn adapters_from_env(secrets: Arc<dyn Secrets>) -> Adapters {
    use walletpay_wallet_adapter::adyen::{Adyen, AdyenConfig};
    use walletpay_wallet_adapter::midtrans::{Midtrans, MidtransConfig};
    use walletpay_wallet_adapter::stripe::{Stripe, StripeConfig};
    let mut xendit = XenditConfig::new(env_or("XENDIT_BASE_URL", "https://api.xendit.co"));
    xendit.secret_name = env_or("XENDIT_SECRET_NAME", "walletpay/xendit");
    let mut stripe = StripeConfig::new(env_or("STRIPE_BASE_URL", "https://api.stripe.com"));
    stripe.secret_name = env_or("STRIPE_SECRET_NAME", "walletpay/stripe");
    let mut adyen = AdyenConfig::new(env_or(
        "ADYEN_BASE_URL",
        &format!(
            "https://checkout-test.adyen.com/{}",
            walletpay_wallet_adapter::adyen::CHECKOUT_API_VERSION
        ),
    ));
    adyen.secret_name = env_or("ADYEN_SECRET_NAME", "walletpay/adyen");
    let mut midtrans = MidtransConfig::new(env_or(
        "MIDTRANS_BASE_URL",
        "https://api.sandbox.midtrans.com",
    ));
    midtrans.secret_name = env_or("MIDTRANS_SECRET_NAME", "walletpay/midtrans");
    midtrans.statements_url = env_some("MIDTRANS_STATEMENTS_URL");
    adyen.reports_url = env_some("ADYEN_REPORTS_URL");
    let promptpay_url = env_or("PROMPTPAY_BANK_BASE_URL", "");
    let adapters = Adapters::new()
        .with(Arc::new(Xendit::new(xendit, secrets.clone())))
        .with(Arc::new(Stripe::new(stripe, secrets.clone())))
        .with(Arc::new(Adyen::new(adyen, secrets.clone())))
        .with(Arc::new(Midtrans::new(midtrans, secrets.clone())));
    // DANA direct needs a DANA merchant account, and the URL DANA notifies us at (told to
    // DANA with each order): only when both are configured.
    let dana_url = env_or("DANA_BASE_URL", "");
    let dana_notify = env_or("DANA_NOTIFY_URL", "");
    let adapters = if dana_url.is_empty() {
        adapters
    } else if dana_notify.is_empty() {
        tracing::error!("DANA_BASE_URL is set but DANA_NOTIFY_URL is not (the PublicBaseUrl parameter): DANA direct stays off");
        adapters
    } else {
        let mut dana = walletpay_wallet_adapter::dana::DanaConfig::new(dana_url, dana_notify);
        dana.secret_name = env_or("DANA_SECRET_NAME", "walletpay/dana");
        dana.statements_url = env_some("DANA_STATEMENTS_URL");
        adapters.with(Arc::new(walletpay_wallet_adapter::dana::Dana::new(
            dana,
            secrets.clone(),
        )))
    };
    // Pix direct needs the merchant's PSP (and its client certificate): only when configured.
    let pix_url = env_or("PIX_BASE_URL", "");
    let adapters = if pix_url.is_empty() {
        adapters
    } else {
        let mut pix = walletpay_wallet_adapter::pix::PixConfig::new(pix_url);
        pix.secret_name = env_or("PIX_SECRET_NAME", "walletpay/pix");
        adapters.with(Arc::new(walletpay_wallet_adapter::pix::Pix::new(
            pix,
            secrets.clone(),
        )))
    };
    // PromptPay direct needs the merchant's acquiring bank: only when one is configured.
    if promptpay_url.is_empty() {
        return adapters;
    }
    let mut promptpay = walletpay_wallet_adapter::promptpay::PromptPayConfig::new(promptpay_url);
    promptpay.secret_name = env_or("PROMPTPAY_SECRET_NAME", "walletpay/promptpay");
    promptpay.statements_url = env_some("PROMPTPAY_STATEMENTS_URL");
    adapters.with(Arc::new(
        walletpay_wallet_adapter::promptpay::PromptPay::new(promptpay, secrets),
    ))
}

/// Delivers merchant notifications over HTTPS, with a bounded wait, never following a
/// redirect, and (in production) only to public addresses: a name is resolved by
/// [`PublicOnly`] at every delivery, an address in the URL is checked before the call.
pub struct HttpWebhookSender {
    http: reqwest::Client,
    public_only: bool,
}

/// A resolver that hands out only a name's public addresses (see `webhook_url`): one whose
/// every address is private fails to resolve, so no connection is ever made to it.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| walletpay_app::webhook_url::public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl HttpWebhookSender {
    fn build(public_only: bool) -> Self {
        let mut b = walletpay_wallet_adapter::tls::client_builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none());
        if public_only {
            // A proxy would resolve the host itself, out of the resolver's reach.
            b = b.dns_resolver(Arc::new(PublicOnly)).no_proxy();
        }
        HttpWebhookSender {
            http: b.build().expect("HTTP client"),
            public_only,
        }
    }

    /// Delivers only to public addresses.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// Also delivers to loopback and private addresses: the local stack's receivers.
    pub fn allowing_private() -> Self {
        Self::build(false)
    }
}

impl Default for HttpWebhookSender {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl walletpay_ports::webhooks::WebhookSender for HttpWebhookSender {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &str) -> Result<u16, String> {
        if self.public_only && !walletpay_app::webhook_url::literal_host_is_public(url) {
            return Err("the webhook URL is not a public address; not called".into());
        }
        let mut req = self.http.post(url).body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        // Without the URL: a merchant's URL can carry a token of its own.
        req.send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.without_url().to_string())
    }
}

/// The whole application on AWS services.
pub async fn app_from_env() -> Result<App, String> {
    let config = walletpay_aws::load_config().await;
    let table = env_or("TABLE_NAME", "walletpay");
    let queue_url = std::env::var("PAYMENT_EVENTS_QUEUE_URL")
        .map_err(|_| "PAYMENT_EVENTS_QUEUE_URL is not set".to_string())?;
    let status_url = std::env::var("STATUS_CHECKS_QUEUE_URL")
        .map_err(|_| "STATUS_CHECKS_QUEUE_URL is not set".to_string())?;
    let refunds_url = std::env::var("REFUNDS_QUEUE_URL")
        .map_err(|_| "REFUNDS_QUEUE_URL is not set".to_string())?;
    let notifications_url = std::env::var("NOTIFICATIONS_QUEUE_URL")
        .map_err(|_| "NOTIFICATIONS_QUEUE_URL is not set".to_string())?;
    let notifications_dlq_url = std::env::var("NOTIFICATIONS_DLQ_URL")
        .map_err(|_| "NOTIFICATIONS_DLQ_URL is not set".to_string())?;
    let reconcile_url = std::env::var("RECONCILE_QUEUE_URL")
        .map_err(|_| "RECONCILE_QUEUE_URL is not set".to_string())?;
    let ttl = env_or("SECRETS_CACHE_SECONDS", "60")
        .parse()
        .map_err(|_| "SECRETS_CACHE_SECONDS must be a number".to_string())?;
    let secrets: Arc<dyn Secrets> = Arc::new(CachedSecrets::new(
        SecretsManager::new(&config),
        Duration::from_secs(ttl),
    ));
    let events = SqsQueue::new(&config, queue_url);
    Ok(App {
        store: Arc::new(DynamoDbStore::new(&config, table)),
        status_checks: Arc::new(events.sharing(status_url)),
        refunds: Arc::new(events.sharing(refunds_url)),
        notifications: Arc::new(events.sharing(notifications_url)),
        notifications_dead: Arc::new(events.sharing(notifications_dlq_url)),
        reconcile_jobs: Arc::new(events.sharing(reconcile_url)),
        payment_events: Arc::new(events),
        webhooks: Arc::new(HttpWebhookSender::new()),
        clock: Arc::new(SystemClock),
        adapters: adapters_from_env(secrets),
        settings: Settings {
            reconcile: reconcile_settings_from_env()?,
            public_base_url: std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
            ..Settings::default()
        },
        merchants: Default::default(),
        health: Default::default(),
        limits: Default::default(),
        risk: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use walletpay_ports::webhooks::WebhookSender;

    #[test]
    fn rust_log_reads_levels_and_targets() {
        use tracing::Level;
        let f = log_filter(Some(" info , walletpay_app=debug,,")).unwrap();
        assert!(f.would_enable("walletpay_app::payments", &Level::DEBUG));
        assert!(!f.would_enable("walletpay_app", &Level::TRACE));
        assert!(f.would_enable("hyper", &Level::INFO));
        assert!(!f.would_enable("hyper", &Level::DEBUG));
        for unset in [None, Some(""), Some(" , ")] {
            let f = log_filter(unset).unwrap();
            assert!(f.would_enable("walletpay_app", &Level::INFO), "{unset:?}");
            assert!(!f.would_enable("walletpay_app", &Level::DEBUG), "{unset:?}");
        }
        let f = log_filter(Some("warn,hyper=off,hyper=error")).unwrap();
        assert!(
            f.would_enable("hyper", &Level::ERROR),
            "the later piece wins"
        );
        assert!(!f.would_enable("walletpay_app", &Level::INFO));
        for bad in [
            "warning",
            "walletpay_app=",
            "walletpay_app=loud",
            "=debug",
            "x[{id=1}]=debug",
        ] {
            assert!(log_filter(Some(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    /// The installed subscriber lets `RUST_LOG` raise the level past the formatter's own
    /// `info` cap.
    #[test]
    fn rust_log_debug_reaches_the_log() {
        let filter = log_filter(Some("info,walletpay_app=debug")).unwrap();
        let (debug_ours, debug_theirs, info_theirs) =
            tracing::subscriber::with_default(log_subscriber(filter), || {
                (
                    tracing::enabled!(target: "walletpay_app::risk", tracing::Level::DEBUG),
                    tracing::enabled!(target: "hyper", tracing::Level::DEBUG),
                    tracing::enabled!(target: "hyper", tracing::Level::INFO),
                )
            });
        assert!(debug_ours, "debug for walletpay_app is filtered out");
        assert!(!debug_theirs);
        assert!(info_theirs);
    }

    /// At delivery, whatever the URL passed when it was set: a loopback receiver, by address
    /// or by a name that resolves to it, is never connected to.
    #[tokio::test]
    async fn deliveries_never_reach_a_private_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move {
            tokio::time::timeout(Duration::from_millis(800), listener.accept())
                .await
                .is_ok()
        });
        let sender = HttpWebhookSender::new();
        for url in [
            format!("http://127.0.0.1:{port}/hooks"),
            format!("http://2130706433:{port}/hooks"),
            format!("http://[::ffff:127.0.0.1]:{port}/hooks"),
            format!("http://localhost:{port}/hooks"),
        ] {
            let got = sender.post(&url, &[], "{}").await;
            assert!(got.is_err(), "{url}: {got:?}");
        }
        assert!(
            !accepted.await.unwrap(),
            "a connection reached the loopback receiver"
        );
        // The local stack's sender does reach it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        let local = HttpWebhookSender::allowing_private();
        assert_eq!(
            local
                .post(&format!("http://127.0.0.1:{port}/hooks"), &[], "{}")
                .await,
            Ok(204)
        );
    }
}
