//! The whole service in one process: the API routes exactly as API Gateway maps them, the
//! queue consumers the Lambda functions run, and a sandbox of every provider, all on one
//! port. With the embedded backend it needs nothing else; with the AWS backend it runs on
//! DynamoDB, SQS and Secrets Manager at the endpoints the standard AWS variables name.

use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use walletpay_api::sqs::{consume_batch, Incoming};
use walletpay_app::{auth, Adapters, App, Settings};
use walletpay_aws::{DynamoDbStore, SecretsManager, SqsQueue};
use walletpay_embedded::{EmbeddedStore, InProcessQueue};
use walletpay_ports::{Clock, Queue, QueueReceiver, Secrets, StaticSecrets, Store, SystemClock};
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
    /// SQS visibility timeout of the payment-events queue.
    pub visibility: Duration,
    /// With the AWS backend: the DynamoDB table (created if missing).
    pub table: String,
    /// With the AWS backend: the payment-events queue's URL, or None to create
    /// `walletpay-payment-events` and use it.
    pub queue_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 3000,
            backend: Backend::Embedded,
            data_dir: None,
            demo_key: None,
            visibility: Duration::from_secs(30),
            table: "walletpay".into(),
            queue_url: None,
        }
    }
}

/// The ports of one backend.
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub payment_events: Arc<dyn Queue>,
    pub payment_events_receiver: Arc<dyn QueueReceiver>,
    pub secrets: Arc<dyn Secrets>,
}

/// The Xendit sandbox's credentials, as the adapter reads them from the Secrets port.
pub fn xendit_sandbox_secret() -> String {
    serde_json::json!({
        "secret_key": SANDBOX_SECRET_KEY,
        "callback_token": SANDBOX_CALLBACK_TOKEN,
    })
    .to_string()
}

pub async fn build_ports(opts: &Options) -> Result<Ports, String> {
    match opts.backend {
        Backend::Embedded => {
            let store = match &opts.data_dir {
                Some(dir) => EmbeddedStore::open(dir)
                    .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
                None => EmbeddedStore::in_memory(),
            };
            let dlq = Arc::new(InProcessQueue::new(opts.visibility));
            let queue = Arc::new(InProcessQueue::new(opts.visibility).with_dead_letter(5, dlq));
            let secrets = StaticSecrets::new().with("walletpay/xendit", &xendit_sandbox_secret());
            Ok(Ports {
                store: Arc::new(store),
                payment_events: queue.clone(),
                payment_events_receiver: queue,
                secrets: Arc::new(secrets),
            })
        }
        Backend::Aws => {
            let config = walletpay_aws::load_config().await;
            let store = DynamoDbStore::new(&config, &opts.table);
            store.create_table().await.map_err(|e| e.to_string())?;
            let url = match &opts.queue_url {
                Some(url) => url.clone(),
                None => aws_sdk_sqs::Client::new(&config)
                    .create_queue()
                    .queue_name("walletpay-payment-events")
                    .attributes(
                        aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                        opts.visibility.as_secs().to_string(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot create the payment-events queue: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?
                    .queue_url
                    .ok_or("SQS returned no queue URL")?,
            };
            let queue = Arc::new(SqsQueue::new(&config, url));
            let secrets = SecretsManager::new(&config);
            secrets
                .put("walletpay/xendit", &xendit_sandbox_secret())
                .await
                .map_err(|e| e.to_string())?;
            Ok(Ports {
                store: Arc::new(store),
                payment_events: queue.clone(),
                payment_events_receiver: queue,
                secrets: Arc::new(secrets),
            })
        }
    }
}

/// A running local stack.
pub struct LocalStack {
    pub addr: SocketAddr,
    pub base_url: String,
    pub app: App,
    pub xendit: XenditSandbox,
    pub demo_merchant: walletpay_domain::MerchantId,
    pub demo_key: String,
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

/// Drains a queue into the payment-events consumer, as Lambda's event source mapping
/// does: batches of up to 10, only the messages that succeeded are deleted.
async fn run_consumer(app: App, receiver: Arc<dyn QueueReceiver>) {
    loop {
        let batch = match receiver.receive(10, Duration::from_secs(1)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "payment-events receive failed");
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
        let failed = consume_batch(&app, &incoming).await;
        for m in &batch {
            if !failed.contains(&m.message_id) {
                if let Err(e) = receiver.delete(&m.receipt_handle).await {
                    tracing::warn!(error = %e, "payment-events delete failed");
                }
            }
        }
    }
}

/// Binds, builds everything, seeds the demo merchant and starts serving.
pub async fn start(opts: Options) -> Result<LocalStack, String> {
    let listener = TcpListener::bind((opts.host.as_str(), opts.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", opts.host, opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{addr}");
    let ports = build_ports(&opts).await?;

    let xendit = XenditSandbox::new(SandboxConfig::new(
        format!("{base_url}/sandbox/xendit"),
        format!("{base_url}/v1/webhooks/xendit"),
    ));
    let adapters = Adapters::new().with(Arc::new(Xendit::new(
        XenditConfig::new(format!("{base_url}/sandbox/xendit")),
        ports.secrets.clone(),
    )));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App {
        store: ports.store.clone(),
        payment_events: ports.payment_events.clone(),
        clock: clock.clone(),
        adapters,
        settings: Settings::default(),
    };

    let (demo_merchant, demo_key) = seed_demo_merchant(&app, opts.demo_key.as_deref()).await?;

    let router = walletpay_api::router(app.clone())
        .nest("/sandbox/xendit", xendit.router())
        .merge(Router::new().route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        ));
    let consumer = tokio::spawn(run_consumer(
        app.clone(),
        ports.payment_events_receiver.clone(),
    ));
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
        demo_merchant,
        demo_key,
        tasks: vec![consumer, server],
    })
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
