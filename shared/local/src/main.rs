//! `cargo run -p walletpay-local`: the whole service on http://127.0.0.1:3000.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use walletpay_local::{build_store, start, Backend, Options};

#[derive(Parser)]
#[command(name = "walletpay-local", about = "walletpay in one local process")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[arg(long, default_value = "127.0.0.1", global = true)]
    host: String,
    #[arg(long, default_value_t = 3000, global = true)]
    port: u16,
    /// Where state lives: the embedded store, or DynamoDB/SQS/Secrets Manager.
    #[arg(long, value_enum, default_value = "embedded", global = true)]
    backend: Backend,
    /// Persist the embedded store in this folder (default: memory only).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Use this API key for the demo merchant instead of drawing one.
    #[arg(long)]
    demo_key: Option<String>,
    /// Each merchant's requests per second in this process (the deployment's is 300, with a
    /// burst of twice that): raise it to load-test one merchant past it.
    #[arg(long, global = true)]
    merchant_rate: Option<f64>,
    /// Use this operator key (wok_...) for the demo operator instead of drawing one.
    #[arg(long)]
    operator_key: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the consumers and the sandboxes (the default).
    Serve,
    /// Create a merchant and print its API key (shown once).
    CreateMerchant {
        #[arg(long)]
        name: String,
        /// Use this key instead of drawing one.
        #[arg(long)]
        key: Option<String>,
    },
    /// Create an operator key (the reconciliation API) and print it (shown once).
    CreateOperatorKey {
        /// Who holds it (recorded as who resolved a discrepancy).
        #[arg(long)]
        name: String,
        /// Use this key instead of drawing one.
        #[arg(long)]
        key: Option<String>,
    },
    /// Train risk control's model on the fraud simulation and write it (the model shipped is
    /// `shared/domain/src/risk/model.json`); prints its AUC on the held-out set.
    TrainRiskModel {
        #[arg(long, default_value = "shared/domain/src/risk/model.json")]
        out: PathBuf,
    },
    /// Replay a merchant's payments of a period through a risk policy on a running stack
    /// (`POST /v1/risk/backtest`) and print the strictness/success-rate curve.
    Backtest {
        /// RFC 3339 start of the period.
        #[arg(long)]
        from: String,
        /// RFC 3339 end of the period.
        #[arg(long)]
        to: String,
        /// A policy (JSON, as `PUT /v1/risk/config` takes it); default: the current one.
        #[arg(long)]
        policy: Option<std::path::PathBuf>,
        /// The merchant's API key (default: $WALLETPAY_API_KEY).
        #[arg(long)]
        key: Option<String>,
        /// The stack's URL (default: http://HOST:PORT).
        #[arg(long)]
        url: Option<String>,
    },
    /// Reconcile one provider's day on a running stack, with a progress bar and the summary.
    Reconcile {
        #[arg(long)]
        provider: String,
        /// The day, YYYY-MM-DD, in the provider's report time zone.
        #[arg(long)]
        date: String,
        /// An operator key (default: $WALLETPAY_OPERATOR_KEY).
        #[arg(long)]
        key: Option<String>,
        /// The stack's URL (default: http://HOST:PORT).
        #[arg(long)]
        url: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let opts = Options {
        host: cli.host,
        port: cli.port,
        backend: cli.backend,
        data_dir: cli.data_dir,
        demo_key: cli.demo_key,
        operator_key: cli.operator_key,
        table: std::env::var("TABLE_NAME").unwrap_or_else(|_| "walletpay".into()),
        queue_url: std::env::var("PAYMENT_EVENTS_QUEUE_URL").ok(),
        status_queue_url: std::env::var("STATUS_CHECKS_QUEUE_URL").ok(),
        refunds_queue_url: std::env::var("REFUNDS_QUEUE_URL").ok(),
        notifications_queue_url: std::env::var("NOTIFICATIONS_QUEUE_URL").ok(),
        notifications_dlq_url: std::env::var("NOTIFICATIONS_DLQ_URL").ok(),
        reconcile_queue_url: std::env::var("RECONCILE_QUEUE_URL").ok(),
        ..Options::default()
    };
    let mut opts = opts;
    if let Some(rate) = cli.merchant_rate {
        opts.settings.merchant_rate = walletpay_app::rate_limit::Limit {
            per_minute: (rate * 60.0) as u64,
            per_second: rate,
            burst: rate * 2.0,
        };
    }
    walletpay_api::runtime::init_tracing();
    if let Err(e) = run(cli.command.unwrap_or(Command::Serve), opts).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(command: Command, opts: Options) -> Result<(), String> {
    match command {
        Command::CreateMerchant { name, key } => {
            if opts.backend == Backend::Embedded && opts.data_dir.is_none() {
                return Err("an in-memory store forgets the merchant on exit: pass --data-dir DIR (the same one you serve with) or --backend aws".into());
            }
            // Only the store: against a deployed table nothing else is touched.
            let store = build_store(&opts).await?;
            let now = walletpay_ports::Clock::now(&walletpay_ports::SystemClock);
            let (merchant, key) =
                walletpay_app::auth::create_merchant(store.as_ref(), &name, now, key.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
            println!("merchant {} ({})", merchant.id, merchant.name);
            println!("api key  {key}");
            println!("Keep the key: only its hash is stored.");
            Ok(())
        }
        Command::CreateOperatorKey { name, key } => {
            if opts.backend == Backend::Embedded && opts.data_dir.is_none() {
                return Err("an in-memory store forgets the key on exit: pass --data-dir DIR (the same one you serve with) or --backend aws".into());
            }
            let store = build_store(&opts).await?;
            let now = walletpay_ports::Clock::now(&walletpay_ports::SystemClock);
            let key = walletpay_app::auth::create_operator_key(
                store.as_ref(),
                &name,
                now,
                key.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("operator {name}");
            println!("key      {key}");
            println!("Keep the key: only its hash is stored.");
            Ok(())
        }
        Command::TrainRiskModel { out } => {
            use walletpay_domain::risk::model;
            let started = std::time::Instant::now();
            let m = model::train_shipped();
            let text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
            std::fs::write(&out, format!("{text}\n"))
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!(
                "trained on {} simulated payments, held-out AUC {:.4} on {} ({:.1} s); written to {}",
                model::TRAIN_SIZE,
                m.holdout_auc,
                model::HOLDOUT_SIZE,
                started.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(())
        }
        Command::Reconcile {
            provider,
            date,
            key,
            url,
        } => {
            let key = key
                .or_else(|| std::env::var("WALLETPAY_OPERATOR_KEY").ok())
                .ok_or("pass --key wok_... or set WALLETPAY_OPERATOR_KEY")?;
            let url = url.unwrap_or_else(|| format!("http://{}:{}", opts.host, opts.port));
            walletpay_local::cli::reconcile(&url, &key, &provider, &date).await
        }
        Command::Backtest {
            from,
            to,
            policy,
            key,
            url,
        } => {
            let key = key
                .or_else(|| std::env::var("WALLETPAY_API_KEY").ok())
                .ok_or("pass --key wpk_... or set WALLETPAY_API_KEY")?;
            let policy = policy
                .map(|p| {
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                    serde_json::from_str::<serde_json::Value>(&text)
                        .map_err(|e| format!("{} is not JSON: {e}", p.display()))
                })
                .transpose()?;
            let url = url.unwrap_or_else(|| format!("http://{}:{}", opts.host, opts.port));
            walletpay_local::cli::backtest(&url, &key, &from, &to, policy).await
        }
        Command::Serve => {
            let backend = opts.backend;
            let stack = start(opts).await?;
            let base = &stack.base_url;
            let key = &stack.demo_key;
            println!(
                "walletpay local stack on {base} ({})",
                match backend {
                    Backend::Embedded => "embedded store, in-process queues",
                    Backend::Aws => "DynamoDB, SQS and Secrets Manager from the AWS environment",
                }
            );
            println!("demo merchant {}  API key {key}", stack.demo_merchant);
            println!(
                "demo operator key {}  (reconciliation API)",
                stack.demo_operator_key
            );
            println!();
            println!("Pay a DANA order of IDR 150,000:");
            println!("  curl -s {base}/v1/payments -H 'Authorization: Bearer {key}' -H \"Idempotency-Key: order-1001-$(date +%s)\" -H 'Content-Type: application/json' -d '{{\"merchant_reference\":\"order-1001\",\"amount\":15000000,\"currency\":\"IDR\",\"country\":\"ID\",\"wallet\":\"dana\",\"customer\":{{\"phone\":\"+6281234567890\"}},\"return_url\":\"https://shop.example/thanks\"}}'");
            println!("Open next_action.url in a browser to approve or decline, or settle it from a script:");
            println!("  curl -s -X POST {base}/sandbox/xendit/simulate/<provider_reference> -d '{{\"outcome\":\"success\"}}'");
            println!("Then read the payment:");
            println!("  curl -s {base}/v1/payments/<id> -H 'Authorization: Bearer {key}'");
            println!("Replay this shop's payments through a stricter risk policy:");
            println!(
                "  walletpay-local backtest --from 2026-01-01T00:00:00Z --to 2030-01-01T00:00:00Z --key {key} --url {base}"
            );
            println!("Reconcile a provider's day:");
            println!(
                "  walletpay-local reconcile --provider xendit --date YYYY-MM-DD --key {} --url {base}",
                stack.demo_operator_key
            );
            tokio::select! {
                _ = stack.wait() => Ok(()),
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
    }
}
