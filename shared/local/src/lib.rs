//! The whole service in one process: the API routes exactly as API Gateway maps them, the
//! queue consumers the Lambda functions run, and a sandbox of every provider, all on one
//! port. With the embedded backend it needs nothing else; with the AWS backend it runs on
//! DynamoDB, SQS and Secrets Manager at the endpoints the standard AWS variables name.

pub mod chaos;
pub mod cli;

use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use walletpay_api::sqs::{consume, Consumer, Incoming};
use walletpay_app::{auth, Adapters, App, Settings};
use walletpay_aws::{DynamoDbStore, SecretsManager, SqsQueue};
use walletpay_embedded::{EmbeddedStore, InProcessQueue};
use walletpay_ports::{Clock, Queue, QueueReceiver, Secrets, StaticSecrets, Store, SystemClock};
use walletpay_wallet_adapter::adyen::sandbox::{AdyenSandbox, SandboxConfig as AdyenSandboxConfig};
use walletpay_wallet_adapter::adyen::{Adyen, AdyenConfig, CHECKOUT_API_VERSION};
use walletpay_wallet_adapter::dana::sandbox::{DanaSandbox, SandboxConfig as DanaSandboxConfig};
use walletpay_wallet_adapter::dana::{Dana, DanaConfig};
use walletpay_wallet_adapter::midtrans::sandbox::{
    MidtransSandbox, SandboxConfig as MidtransSandboxConfig,
};
use walletpay_wallet_adapter::midtrans::{Midtrans, MidtransConfig};
use walletpay_wallet_adapter::pix::sandbox::{PixSandbox, SandboxConfig as PixSandboxConfig};
use walletpay_wallet_adapter::pix::{Pix, PixConfig};
use walletpay_wallet_adapter::promptpay::sandbox::{
    BankSandbox, SandboxConfig as BankSandboxConfig,
};
use walletpay_wallet_adapter::promptpay::{PromptPay, PromptPayConfig};
use walletpay_wallet_adapter::stripe::sandbox::{
    SandboxConfig as StripeSandboxConfig, StripeSandbox,
};
use walletpay_wallet_adapter::stripe::{Stripe, StripeConfig};
use walletpay_wallet_adapter::xendit::sandbox::{SandboxConfig, XenditSandbox};
use walletpay_wallet_adapter::xendit::{
    Xendit, XenditConfig, SANDBOX_CALLBACK_TOKEN, SANDBOX_SECRET_KEY,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// In-memory store (persisted with --data-dir), in-process queues, local secrets.
    Embedded,
    /// DynamoDB, SQS and Secrets Manager at the endpoints the AWS variables name.
    Aws,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub backend: Backend,
    pub data_dir: Option<PathBuf>,
    pub demo_key: Option<String>,
    /// Use this operator key for the demo operator instead of drawing one.
    pub operator_key: Option<String>,
    /// Run the reconcile schedule in-process (each provider's day at 02:00 in its report
    /// time zone, the week on Mondays).
    pub reconcile_schedule: bool,
    /// SQS visibility timeout of the payment-events queue.
    pub visibility: Duration,
    /// With the AWS backend: the DynamoDB table (created if missing).
    pub table: String,
    /// With the AWS backend: the payment-events queue's URL, or None to create
    /// `walletpay-payment-events` and use it.
    pub queue_url: Option<String>,
    /// With the AWS backend: the status-check queue's URL, or None to create
    /// `walletpay-status-checks` and use it.
    pub status_queue_url: Option<String>,
    /// With the AWS backend: the refund-job queue's URL, or None to create
    /// `walletpay-refunds` and use it.
    pub refunds_queue_url: Option<String>,
    /// With the AWS backend: the notification queue and its dead-letter queue, or None to
    /// create `walletpay-notifications` and `walletpay-notifications-dead`.
    pub notifications_queue_url: Option<String>,
    pub notifications_dlq_url: Option<String>,
    /// With the AWS backend: the reconcile-job queue, or None to create `walletpay-reconcile`.
    pub reconcile_queue_url: Option<String>,
    /// The use cases' tunables (tests shorten the waits).
    pub settings: Settings,
    /// Bound on one provider call.
    pub provider_timeout: Duration,
    /// How long the sandboxes' "slow" magic amounts keep a caller waiting.
    pub sandbox_slow_response: Duration,
    /// How long the sandboxes of providers that cannot be told a payment's expiry (Xendit's
    /// e-wallet charges, Adyen's offers) keep an unpaid charge open; `None`: their own.
    pub sandbox_charge_lifetime: Option<Duration>,
    /// Faults to inject (the flash-sale simulation); `None`: none.
    pub chaos: Option<Arc<chaos::Chaos>>,
    /// Consumers polling each queue at once (Lambda runs several instances of a consumer
    /// when its queue is deep; one keeps a quiet local stack's order easy to follow).
    pub consumers_per_queue: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 3000,
            backend: Backend::Embedded,
            data_dir: None,
            demo_key: None,
            operator_key: None,
            reconcile_schedule: true,
            visibility: Duration::from_secs(30),
            table: "walletpay".into(),
            queue_url: None,
            status_queue_url: None,
            refunds_queue_url: None,
            notifications_queue_url: None,
            notifications_dlq_url: None,
            reconcile_queue_url: None,
            settings: Settings::default(),
            provider_timeout: Duration::from_secs(10),
            sandbox_slow_response: Duration::from_secs(12),
            sandbox_charge_lifetime: None,
            chaos: None,
            consumers_per_queue: 1,
        }
    }
}

/// A queue the local stack both sends to and drains (as Lambda's event source mapping would).
pub trait Duplex: Queue + QueueReceiver {}
impl<T: Queue + QueueReceiver> Duplex for T {}

/// The ports of one backend.
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub payment_events: Arc<dyn Duplex>,
    pub status_checks: Arc<dyn Duplex>,
    pub refunds: Arc<dyn Duplex>,
    pub notifications: Arc<dyn Duplex>,
    pub notifications_dead: Arc<dyn Duplex>,
    pub reconcile: Arc<dyn Duplex>,
    pub secrets: Arc<dyn Secrets>,
    /// With the AWS backend: the DynamoDB capacity the store consumes.
    pub capacity: Option<Arc<walletpay_aws::CapacityMeter>>,
    /// Where the store's changes are read from, for the back office's aggregates.
    pub changes: ChangeFeed,
}

/// The store's change stream: the embedded store's own, or the DynamoDB table's stream.
#[derive(Clone)]
pub enum ChangeFeed {
    Embedded(Arc<EmbeddedStore>),
    DynamoDb {
        config: Box<aws_config::SdkConfig>,
        table: String,
    },
}

/// The Xendit sandbox's credentials, as the adapter reads them from the Secrets port.
pub fn xendit_sandbox_secret() -> String {
    serde_json::json!({
        "secret_key": SANDBOX_SECRET_KEY,
        "callback_token": SANDBOX_CALLBACK_TOKEN,
    })
    .to_string()
}

/// Every sandbox's credentials, by the secret name its adapter reads.
pub fn sandbox_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("walletpay/xendit", xendit_sandbox_secret()),
        (
            "walletpay/adyen",
            serde_json::json!({
                "api_key": walletpay_wallet_adapter::adyen::SANDBOX_API_KEY,
                "merchant_account": walletpay_wallet_adapter::adyen::SANDBOX_MERCHANT_ACCOUNT,
                "hmac_key": walletpay_wallet_adapter::adyen::SANDBOX_HMAC_KEY,
                "report_api_key": walletpay_wallet_adapter::adyen::sandbox::SANDBOX_REPORT_API_KEY,
            })
            .to_string(),
        ),
        (
            "walletpay/midtrans",
            serde_json::json!({
                "server_key": walletpay_wallet_adapter::midtrans::SANDBOX_SERVER_KEY,
            })
            .to_string(),
        ),
        (
            "walletpay/promptpay",
            serde_json::json!({
                "biller_id": walletpay_wallet_adapter::promptpay::SANDBOX_BILLER_ID,
                "api_key": walletpay_wallet_adapter::promptpay::SANDBOX_API_KEY,
                "webhook_secret": walletpay_wallet_adapter::promptpay::SANDBOX_WEBHOOK_SECRET,
            })
            .to_string(),
        ),
        (
            "walletpay/dana",
            serde_json::json!({
                "partner_id": walletpay_wallet_adapter::dana::SANDBOX_PARTNER_ID,
                "merchant_id": walletpay_wallet_adapter::dana::SANDBOX_MERCHANT_ID,
                "channel_id": walletpay_wallet_adapter::dana::SANDBOX_CHANNEL_ID,
                "private_key": walletpay_wallet_adapter::dana::SANDBOX_MERCHANT_PRIVATE_KEY,
                "dana_public_key": walletpay_wallet_adapter::dana::SANDBOX_DANA_PUBLIC_KEY,
                "client_secret": walletpay_wallet_adapter::dana::SANDBOX_CLIENT_SECRET,
            })
            .to_string(),
        ),
        (
            "walletpay/pix",
            serde_json::json!({
                "client_id": walletpay_wallet_adapter::pix::SANDBOX_CLIENT_ID,
                "client_secret": walletpay_wallet_adapter::pix::SANDBOX_CLIENT_SECRET,
                "certificate": walletpay_wallet_adapter::pix::SANDBOX_CLIENT_CERT,
                "private_key": walletpay_wallet_adapter::pix::SANDBOX_CLIENT_KEY,
                "ca": walletpay_wallet_adapter::pix::SANDBOX_CA,
                "pix_key": walletpay_wallet_adapter::pix::SANDBOX_PIX_KEY,
                "merchant_name": "WALLETPAY SANDBOX",
                "merchant_city": "SAO PAULO",
            })
            .to_string(),
        ),
        (
            "walletpay/stripe",
            serde_json::json!({
                "secret_key": walletpay_wallet_adapter::stripe::SANDBOX_SECRET_KEY,
                "webhook_secret": walletpay_wallet_adapter::stripe::SANDBOX_WEBHOOK_SECRET,
            })
            .to_string(),
        ),
    ]
}

/// The store alone, for one-off commands: with the AWS backend it uses the table named by
/// `opts.table` as it is (no queue, secret or table is created).
pub async fn build_store(opts: &Options) -> Result<Arc<dyn Store>, String> {
    match opts.backend {
        Backend::Embedded => Ok(Arc::new(match &opts.data_dir {
            Some(dir) => EmbeddedStore::open(dir)
                .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
            None => EmbeddedStore::in_memory(),
        })),
        Backend::Aws => {
            let config = walletpay_aws::load_config().await;
            Ok(Arc::new(DynamoDbStore::new(&config, &opts.table)))
        }
    }
}

pub async fn build_ports(opts: &Options) -> Result<Ports, String> {
    match opts.backend {
        Backend::Embedded => {
            let store = match &opts.data_dir {
                Some(dir) => EmbeddedStore::open(dir)
                    .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
                None => EmbeddedStore::in_memory(),
            };
            let queue = in_process_queue(opts.visibility);
            let checks = in_process_queue(opts.visibility);
            let refunds = in_process_queue(opts.visibility);
            let notifications = in_process_queue(opts.visibility);
            let dead = Arc::new(InProcessQueue::new(opts.visibility));
            let reconcile = in_process_queue(opts.visibility);
            let secrets = sandbox_secrets()
                .iter()
                .fold(StaticSecrets::new(), |s, (name, value)| s.with(name, value));
            let store = Arc::new(store);
            Ok(Ports {
                store: store.clone(),
                payment_events: queue,
                status_checks: checks,
                refunds,
                notifications,
                notifications_dead: dead,
                reconcile,
                secrets: Arc::new(secrets),
                capacity: None,
                changes: ChangeFeed::Embedded(store),
            })
        }
        Backend::Aws => {
            let config = walletpay_aws::load_config().await;
            let store = DynamoDbStore::new(&config, &opts.table);
            store.create_table().await.map_err(|e| e.to_string())?;
            let meter = store.meter();
            let v = opts.visibility;
            let queue = sqs_queue(&config, &opts.queue_url, "walletpay-payment-events", v).await?;
            let checks = sqs_queue(
                &config,
                &opts.status_queue_url,
                "walletpay-status-checks",
                v,
            )
            .await?;
            let refunds =
                sqs_queue(&config, &opts.refunds_queue_url, "walletpay-refunds", v).await?;
            let notifications = sqs_queue(
                &config,
                &opts.notifications_queue_url,
                "walletpay-notifications",
                v,
            )
            .await?;
            let dead = sqs_queue(
                &config,
                &opts.notifications_dlq_url,
                "walletpay-notifications-dead",
                v,
            )
            .await?;
            let reconcile =
                sqs_queue(&config, &opts.reconcile_queue_url, "walletpay-reconcile", v).await?;
            let secrets = SecretsManager::new(&config);
            for (name, value) in sandbox_secrets() {
                secrets.put(name, &value).await.map_err(|e| e.to_string())?;
            }
            Ok(Ports {
                store: Arc::new(store),
                payment_events: queue,
                status_checks: checks,
                refunds,
                notifications,
                notifications_dead: dead,
                reconcile,
                secrets: Arc::new(secrets),
                capacity: Some(meter),
                changes: ChangeFeed::DynamoDb {
                    config: Box::new(config.clone()),
                    table: opts.table.clone(),
                },
            })
        }
    }
}

fn in_process_queue(visibility: Duration) -> Arc<InProcessQueue> {
    let dlq = Arc::new(InProcessQueue::new(visibility));
    Arc::new(InProcessQueue::new(visibility).with_dead_letter(5, dlq))
}

/// The queue at `url`, or one named `name` created (or found) for the local stack.
async fn sqs_queue(
    config: &aws_config::SdkConfig,
    url: &Option<String>,
    name: &str,
    visibility: Duration,
) -> Result<Arc<SqsQueue>, String> {
    let url = sqs_queue_url(config, url, name, visibility).await?;
    Ok(Arc::new(SqsQueue::new(config, url)))
}

async fn sqs_queue_url(
    config: &aws_config::SdkConfig,
    url: &Option<String>,
    name: &str,
    visibility: Duration,
) -> Result<String, String> {
    if let Some(url) = url {
        return Ok(url.clone());
    }
    aws_sdk_sqs::Client::new(config)
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot create queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .queue_url
        .ok_or_else(|| "SQS returned no queue URL".to_string())
}

/// A running local stack.
pub struct LocalStack {
    pub addr: SocketAddr,
    pub base_url: String,
    pub app: App,
    pub xendit: XenditSandbox,
    pub stripe: StripeSandbox,
    pub adyen: AdyenSandbox,
    pub midtrans: MidtransSandbox,
    pub bank: BankSandbox,
    pub dana: DanaSandbox,
    pub pix: PixSandbox,
    /// Where the Pix sandbox serves API Pix (https, mutual TLS).
    pub pix_url: String,
    pub demo_merchant: walletpay_domain::MerchantId,
    pub demo_key: String,
    /// The demo operator's key (the reconciliation API).
    pub demo_operator_key: String,
    /// Where undeliverable notifications end up (for tests and inspection).
    pub notifications_dead: Arc<dyn QueueReceiver>,
    /// With the AWS backend: the DynamoDB capacity consumed so far.
    pub capacity: Option<Arc<walletpay_aws::CapacityMeter>>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalStack {
    /// Waits until the server stops (it runs until the process ends).
    pub async fn wait(mut self) {
        if let Some(server) = self.tasks.pop() {
            let _ = server.await;
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Drains a queue into its consumer, as Lambda's event source mapping does: batches of up
/// to 10, only the messages that succeeded are deleted. With faults, a batch's consumer may
/// be killed part-way: nothing of it is deleted, and its messages come back.
async fn run_consumer(
    app: App,
    consumer: Consumer,
    receiver: Arc<dyn QueueReceiver>,
    chaos: Option<Arc<chaos::Chaos>>,
) {
    loop {
        let batch = match receiver.receive(10, Duration::from_secs(1)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, ?consumer, "queue receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let incoming: Vec<Incoming<'_>> = batch
            .iter()
            .map(|m| Incoming {
                message_id: &m.message_id,
                body: &m.body,
            })
            .collect();
        let kill = chaos.as_ref().and_then(|c| {
            let bodies: Vec<&str> = batch.iter().map(|m| m.body.as_str()).collect();
            c.kill_after(&bodies)
        });
        let failed = match kill {
            None => consume(&app, consumer, &incoming, None).await,
            Some(after) => {
                match tokio::time::timeout(after, consume(&app, consumer, &incoming, None)).await {
                    Ok(failed) => {
                        if let Some(c) = &chaos {
                            c.killed_too_late();
                        }
                        failed
                    }
                    Err(_) => continue,
                }
            }
        };
        for m in &batch {
            if !failed.contains(&m.message_id) {
                if let Err(e) = receiver.delete(&m.receipt_handle).await {
                    tracing::warn!(error = %e, ?consumer, "queue delete failed");
                }
            }
        }
    }
}

/// `opts.consumers_per_queue` consumers of one queue, as one task.
fn consumers(
    app: &App,
    consumer: Consumer,
    receiver: Arc<dyn QueueReceiver>,
    opts: &Options,
) -> JoinHandle<()> {
    let all: Vec<_> = (0..opts.consumers_per_queue.max(1))
        .map(|_| run_consumer(app.clone(), consumer, receiver.clone(), opts.chaos.clone()))
        .collect();
    tokio::spawn(async move {
        futures::future::join_all(all).await;
    })
}

/// Binds, builds everything, seeds the demo merchant and starts serving.
pub async fn start(opts: Options) -> Result<LocalStack, String> {
    let listener = TcpListener::bind((opts.host.as_str(), opts.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", opts.host, opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{addr}");
    let ports = build_ports(&opts).await?;

    let mut sandbox_config = SandboxConfig::new(
        format!("{base_url}/sandbox/xendit"),
        format!("{base_url}/v1/webhooks/xendit"),
    );
    sandbox_config.slow_response = opts.sandbox_slow_response;
    sandbox_config.pending_lifetime = opts.sandbox_charge_lifetime;
    let xendit = XenditSandbox::new(sandbox_config);
    let mut xendit_config = XenditConfig::new(format!("{base_url}/sandbox/xendit"));
    xendit_config.timeout = opts.provider_timeout;
    let mut stripe_sandbox = StripeSandboxConfig::new(
        format!("{base_url}/sandbox/stripe"),
        format!("{base_url}/v1/webhooks/stripe"),
    );
    stripe_sandbox.slow_response = opts.sandbox_slow_response;
    let stripe = StripeSandbox::new(stripe_sandbox);
    let mut stripe_config = StripeConfig::new(format!("{base_url}/sandbox/stripe"));
    stripe_config.timeout = opts.provider_timeout;
    let mut adyen_sandbox = AdyenSandboxConfig::new(
        format!("{base_url}/sandbox/adyen"),
        format!("{base_url}/v1/webhooks/adyen"),
    );
    adyen_sandbox.slow_response = opts.sandbox_slow_response;
    if let Some(lifetime) = opts.sandbox_charge_lifetime {
        adyen_sandbox.offer_lifetime = lifetime;
    }
    let adyen = AdyenSandbox::new(adyen_sandbox);
    let mut adyen_config =
        AdyenConfig::new(format!("{base_url}/sandbox/adyen/{CHECKOUT_API_VERSION}"));
    adyen_config.timeout = opts.provider_timeout;
    adyen_config.reports_url = Some(format!("{base_url}/sandbox/adyen/reports/download/"));
    let mut midtrans_sandbox = MidtransSandboxConfig::new(
        format!("{base_url}/sandbox/midtrans"),
        format!("{base_url}/v1/webhooks/midtrans"),
    );
    midtrans_sandbox.slow_response = opts.sandbox_slow_response;
    let midtrans = MidtransSandbox::new(midtrans_sandbox);
    let mut midtrans_config = MidtransConfig::new(format!("{base_url}/sandbox/midtrans"));
    midtrans_config.timeout = opts.provider_timeout;
    midtrans_config.statements_url = Some(format!("{base_url}/sandbox/midtrans/statements"));
    let mut bank_sandbox = BankSandboxConfig::new(
        format!("{base_url}/sandbox/promptpay"),
        format!("{base_url}/v1/webhooks/promptpay"),
    );
    bank_sandbox.slow_response = opts.sandbox_slow_response;
    let bank = BankSandbox::new(bank_sandbox);
    let mut promptpay_config = PromptPayConfig::new(format!("{base_url}/sandbox/promptpay"));
    promptpay_config.timeout = opts.provider_timeout;
    promptpay_config.statements_url = Some(format!("{base_url}/sandbox/promptpay/statements"));
    let mut dana_sandbox = DanaSandboxConfig::new(format!("{base_url}/sandbox/dana"));
    dana_sandbox.slow_response = opts.sandbox_slow_response;
    let dana = DanaSandbox::new(dana_sandbox);
    let mut dana_config = DanaConfig::new(
        format!("{base_url}/sandbox/dana"),
        format!("{base_url}{}", walletpay_wallet_adapter::dana::NOTIFY_PATH),
    );
    dana_config.timeout = opts.provider_timeout;
    dana_config.statements_url = Some(format!("{base_url}/sandbox/dana/statements"));
    // The Pix bank serves API Pix over mutual TLS on a port of its own.
    let pix = PixSandbox::new(PixSandboxConfig {
        slow_response: opts.sandbox_slow_response,
        ..PixSandboxConfig::new(format!("{base_url}/v1/webhooks/pix"))
    });
    let pix_listener = TcpListener::bind((opts.host.as_str(), 0))
        .await
        .map_err(|e| format!("cannot listen for the Pix sandbox: {e}"))?;
    let pix_addr = pix_listener.local_addr().map_err(|e| e.to_string())?;
    let pix_server = tokio::spawn({
        let pix = pix.clone();
        async move {
            if let Err(e) = pix.serve_mtls(pix_listener).await {
                tracing::error!(error = %e, "Pix sandbox stopped");
            }
        }
    });
    let mut pix_config = PixConfig::new(format!("https://{pix_addr}"));
    pix_config.timeout = opts.provider_timeout;
    let adapters = Adapters::new()
        .with(Arc::new(Xendit::new(xendit_config, ports.secrets.clone())))
        .with(Arc::new(Stripe::new(stripe_config, ports.secrets.clone())))
        .with(Arc::new(Adyen::new(adyen_config, ports.secrets.clone())))
        .with(Arc::new(Midtrans::new(
            midtrans_config,
            ports.secrets.clone(),
        )))
        .with(Arc::new(PromptPay::new(
            promptpay_config,
            ports.secrets.clone(),
        )))
        .with(Arc::new(Dana::new(dana_config, ports.secrets.clone())))
        .with(Arc::new(Pix::new(pix_config, ports.secrets.clone())));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App {
        store: ports.store.clone(),
        payment_events: ports.payment_events.clone(),
        status_checks: ports.status_checks.clone(),
        refunds: ports.refunds.clone(),
        notifications: ports.notifications.clone(),
        notifications_dead: ports.notifications_dead.clone(),
        reconcile_jobs: ports.reconcile.clone(),
        webhooks: Arc::new(walletpay_api::runtime::HttpWebhookSender::allowing_private()),
        clock: clock.clone(),
        adapters,
        // A local stack delivers to http://localhost receivers.
        settings: Settings {
            allow_insecure_webhook_urls: true,
            public_base_url: if opts.settings.public_base_url.is_empty() {
                base_url.clone()
            } else {
                opts.settings.public_base_url.clone()
            },
            ..opts.settings.clone()
        },
        merchants: Default::default(),
        health: Default::default(),
        limits: Default::default(),
        risk: Default::default(),
    };

    let (demo_merchant, demo_key) = seed_demo_merchant(&app, opts.demo_key.as_deref()).await?;
    let demo_operator_key = seed_demo_operator(&app, opts.operator_key.as_deref()).await?;
    seed_demo_contracts(&app).await?;

    use walletpay_domain::Provider as P;
    let faults = opts.chaos.clone();
    if let Some(c) = &faults {
        c.serve_at(&base_url);
    }
    // The degraded provider's sandbox, behind its faults (the Pix bank, on its own mutual-TLS
    // port, cannot be degraded).
    let sandbox = |provider: P, router: Router| match &faults {
        Some(c) if c.rates().degraded == Some(provider) => router.layer(
            axum::middleware::from_fn_with_state(c.clone(), chaos::degraded_sandbox),
        ),
        _ => router,
    };
    let mut router = walletpay_api::router(app.clone())
        .nest("/sandbox/xendit", sandbox(P::Xendit, xendit.router()))
        .nest("/sandbox/stripe", sandbox(P::Stripe, stripe.router()))
        .nest("/sandbox/adyen", sandbox(P::Adyen, adyen.router()))
        .nest("/sandbox/midtrans", sandbox(P::Midtrans, midtrans.router()))
        .nest("/sandbox/promptpay", sandbox(P::Promptpay, bank.router()))
        .nest("/sandbox/dana", sandbox(P::Dana, dana.router()))
        .nest("/sandbox/pix", pix.control_router())
        .merge(Router::new().route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        ));
    if let Some(c) = &faults {
        router = router.layer(axum::middleware::from_fn_with_state(
            c.clone(),
            chaos::webhook_faults,
        ));
    }
    let events = consumers(
        &app,
        Consumer::PaymentEvents,
        ports.payment_events.clone(),
        &opts,
    );
    let checks = consumers(
        &app,
        Consumer::StatusChecks,
        ports.status_checks.clone(),
        &opts,
    );
    let refunds = consumers(&app, Consumer::Refunds, ports.refunds.clone(), &opts);
    let notifications = consumers(
        &app,
        Consumer::Notifications,
        ports.notifications.clone(),
        &opts,
    );
    let reconcile = consumers(&app, Consumer::Reconcile, ports.reconcile.clone(), &opts);
    let schedule = tokio::spawn(run_schedule(app.clone(), opts.reconcile_schedule));
    let analytics = tokio::spawn(run_change_stream(app.clone(), ports.changes.clone()));
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(LocalStack {
        addr,
        base_url,
        app,
        xendit,
        stripe,
        adyen,
        midtrans,
        bank,
        dana,
        pix,
        pix_url: format!("https://{pix_addr}"),
        demo_merchant,
        demo_key,
        demo_operator_key,
        notifications_dead: ports.notifications_dead.clone(),
        capacity: ports.capacity.clone(),
        tasks: vec![
            events,
            checks,
            refunds,
            notifications,
            reconcile,
            schedule,
            analytics,
            pix_server,
            server,
        ],
    })
}

/// The consumer of the store's change stream, as the `payment-analytics` function consumes
/// the table's on AWS: every payment version counted into the back office's aggregates.
/// What could not be counted is tried again before anything newer.
async fn run_change_stream(app: App, feed: ChangeFeed) {
    let mut pending: Vec<walletpay_ports::PaymentVersion> = Vec::new();
    let mut position = 0usize;
    let mut reader = match &feed {
        ChangeFeed::DynamoDb { config, table } => {
            Some(walletpay_aws::streams::StreamReader::new(config, table))
        }
        ChangeFeed::Embedded(_) => None,
    };
    loop {
        if pending.is_empty() {
            let read = match (&feed, reader.as_mut()) {
                (ChangeFeed::Embedded(store), _) => {
                    let batch = store.changes_after(position, 500);
                    if let Some((last, _)) = batch.last() {
                        position = *last;
                    }
                    Ok(batch.into_iter().map(|(_, v)| v).collect())
                }
                (_, Some(r)) => r.next_versions().await,
                (_, None) => Ok(Vec::new()),
            };
            match read {
                Ok(v) => pending = v,
                Err(e) => tracing::warn!(error = %e, "the change stream cannot be read now"),
            }
        }
        if pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        match walletpay_app::analytics::consume(&app, &pending, None).await {
            Ok(_) => pending.clear(),
            Err((n, e)) => {
                tracing::warn!(error = %e, "payment versions not counted yet; trying again");
                pending.drain(..n);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The reconcile schedule in-process, as EventBridge Scheduler runs it on AWS: each
/// provider's day at 02:00 in its report time zone, and the week on Mondays at 03:00.
async fn run_schedule(app: App, enabled: bool) {
    use walletpay_api::reconcile::{scheduled, Kind, Scheduled};
    if !enabled {
        return;
    }
    loop {
        let now = app.clock.now();
        // The next minute boundary, then whatever falls due in it.
        let wait = 60_000 - now.millis().rem_euclid(60_000);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let now = app.clock.now();
        for p in walletpay_domain::Provider::ALL {
            if app.adapters.get(*p).is_none() {
                continue;
            }
            let offset = app.settings.reconcile.offset(*p) as i64;
            let local_minute = (now.millis() / 60_000 + offset).rem_euclid(24 * 60);
            let weekday = walletpay_reconcile::Date::of(now, offset as i32).weekday();
            let mut starts = Vec::new();
            if local_minute == 2 * 60 {
                starts.push(Kind::Daily);
            }
            if local_minute == 3 * 60 && weekday == walletpay_reconcile::Weekday::Mon {
                starts.push(Kind::Weekly);
            }
            for kind in starts {
                let start = Scheduled {
                    kind,
                    provider: Some(*p),
                };
                if let Err(e) = scheduled(&app, &start).await {
                    tracing::warn!(provider = %p, error = %e, "scheduled reconciliation not started");
                }
            }
        }
    }
}

/// Creates the demo operator's key, or finds it again when it is already in the store.
async fn seed_demo_operator(app: &App, fixed_key: Option<&str>) -> Result<String, String> {
    if let Some(key) = fixed_key {
        if let Ok(auth::Principal::Operator(_)) =
            auth::authenticate_principal(app.store.as_ref(), Some(&format!("Bearer {key}"))).await
        {
            return Ok(key.to_string());
        }
    }
    auth::create_operator_key(
        app.store.as_ref(),
        "demo operator",
        app.clock.now(),
        fixed_key,
    )
    .await
    .map_err(|e| e.to_string())
}

/// The sandboxes' terms as each provider account's contract (set once; an operator may
/// change them through the API).
pub fn sandbox_contracts() -> Vec<(walletpay_domain::Provider, walletpay_reconcile::Contract)> {
    use walletpay_domain::{Provider as P, WalletId as W};
    use walletpay_reconcile::{Contract, DayBasis, FeeRule, SettlementCycle};
    let rule = |wallet: Option<W>, bps: u32| FeeRule {
        wallet,
        currency: None,
        percent_bps: bps,
        fixed_minor: 0,
        rounding_minor: None,
    };
    let terms = |fees: Vec<FeeRule>, days: u32| Contract {
        fees,
        settlement: SettlementCycle {
            days,
            basis: DayBasis::Calendar,
        },
        calendar: Default::default(),
        grace_days: None,
    };
    vec![
        (
            P::Xendit,
            terms(
                vec![
                    rule(Some(W::Qris), 70),
                    rule(Some(W::Qrph), 70),
                    rule(None, 150),
                ],
                2,
            ),
        ),
        (P::Stripe, terms(vec![rule(None, 340)], 2)),
        (P::Adyen, terms(vec![rule(None, 290)], 1)),
        (
            P::Midtrans,
            terms(vec![rule(Some(W::Qris), 70), rule(None, 200)], 1),
        ),
        (P::Dana, terms(vec![rule(None, 150)], 1)),
        (P::Promptpay, terms(vec![rule(None, 0)], 0)),
        (P::Pix, terms(vec![rule(None, 0)], 0)),
    ]
}

async fn seed_demo_contracts(app: &App) -> Result<(), String> {
    for (provider, contract) in sandbox_contracts() {
        let has = app
            .store
            .get_contract(provider)
            .await
            .map_err(|e| e.to_string())?;
        if has.is_none() {
            app.store
                .put_contract(&walletpay_ports::reconcile::ContractRecord {
                    provider,
                    contract,
                    updated_at: app.clock.now(),
                    updated_by: "local stack".into(),
                    version: 1,
                })
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Creates the demo merchant, or finds it again when its key is already in the store.
async fn seed_demo_merchant(
    app: &App,
    fixed_key: Option<&str>,
) -> Result<(walletpay_domain::MerchantId, String), String> {
    if let Some(key) = fixed_key {
        if let Ok(m) = auth::authenticate(app.store.as_ref(), Some(&format!("Bearer {key}"))).await
        {
            return Ok((m, key.to_string()));
        }
    }
    let (merchant, key) =
        auth::create_merchant(app.store.as_ref(), "Demo Shop", app.clock.now(), fixed_key)
            .await
            .map_err(|e| e.to_string())?;
    Ok((merchant.id, key))
}
