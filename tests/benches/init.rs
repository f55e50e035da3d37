//! Lambda init: from process start to the first poll of the Runtime API, for each
//! function's release binary beside the hello-world `lambda_runtime` binary built with the
//! same profile (`tests/figures` builds them), and each binary's size, with the arm64
//! bootstrap's when `sam build` has made one (`.aws-sam/build`) or, else, when the release
//! binaries were cross-built for `aarch64-unknown-linux-gnu` (`tests/figures --arm64`).
//!
//! A fake Runtime API on loopback records the moment the first
//! `GET /2018-06-01/runtime/invocation/next` arrives; the process is then killed. The
//! function gets the environment the template gives it (queue URLs, table, secret names),
//! pointing nowhere: init makes no call, so nothing is reached.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Each function's binary and the template's logical id of its function.
const FUNCTIONS: [(&str, &str); 11] = [
    ("create-payment", "CreatePaymentFunction"),
    ("wallet-webhook", "WalletWebhookFunction"),
    ("refund", "RefundFunction"),
    ("refund-worker", "RefundWorkerFunction"),
    ("status-checks", "StatusChecksFunction"),
    ("payment-events", "PaymentEventsFunction"),
    ("notifier", "NotifierFunction"),
    ("reconcile", "ReconcileFunction"),
    ("payment-analytics", "PaymentAnalyticsFunction"),
    ("checkout", "CheckoutFunction"),
    ("dashboard", "DashboardFunction"),
];

const HELLO: &str = "hello-lambda";

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn target_dir() -> PathBuf {
    match std::env::var("CARGO_TARGET_DIR") {
        Ok(t) => PathBuf::from(t),
        Err(_) => workspace().join("target"),
    }
}

fn release_dir() -> PathBuf {
    target_dir().join("release")
}

/// The arm64 binary of `bin`: `sam build`'s bootstrap, or else a cross-built release binary.
fn arm64_binary(bin: &str, logical: &str) -> PathBuf {
    let sam = workspace()
        .join(".aws-sam/build")
        .join(logical)
        .join("bootstrap");
    if sam.exists() {
        return sam;
    }
    target_dir()
        .join("aarch64-unknown-linux-gnu/release")
        .join(bin)
}

/// Milliseconds from spawning `bin` to its first poll of the Runtime API.
fn init_once(bin: &Path) -> Option<f64> {
    let api = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = api.local_addr().ok()?;
    let nowhere = "http://127.0.0.1:9/000000000000/nowhere";
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "init-figures")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "init")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "init")
        .env("AWS_REGION", "ap-southeast-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDINITFIGURES")
        .env("AWS_SECRET_ACCESS_KEY", "init-figures")
        .env("AWS_SESSION_TOKEN", "init-figures")
        .env("TABLE_NAME", "walletpay")
        .env("PAYMENT_EVENTS_QUEUE_URL", nowhere)
        .env("STATUS_CHECKS_QUEUE_URL", nowhere)
        .env("REFUNDS_QUEUE_URL", nowhere)
        .env("NOTIFICATIONS_QUEUE_URL", nowhere)
        .env("NOTIFICATIONS_DLQ_URL", nowhere)
        .env("RECONCILE_QUEUE_URL", nowhere)
        .env("PUBLIC_BASE_URL", "https://pay.example")
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    api.set_nonblocking(false).ok()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = api.accept() {
            let mut line = String::new();
            let _ = BufReader::new(conn).read_line(&mut line);
            let _ = tx.send((started.elapsed(), line));
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(10)).ok();
    let _ = child.kill();
    let _ = child.wait();
    let (at, line) = got?;
    line.starts_with("GET /2018-06-01/runtime/invocation/next")
        .then_some(at.as_secs_f64() * 1000.0)
}

/// The median of `runs` inits, or why there is none.
fn init_ms(bin: &Path, runs: usize) -> Result<f64, String> {
    if !bin.exists() {
        return Err("not built".into());
    }
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        all.push(init_once(bin).ok_or("never polled the Runtime API")?);
    }
    all.sort_by(f64::total_cmp);
    Ok(all[all.len() / 2])
}

fn mb(path: &Path) -> String {
    std::fs::metadata(path)
        .map(|m| format!("{:.1} MB", m.len() as f64 / 1_000_000.0))
        .unwrap_or_else(|_| "-".into())
}

pub fn run() {
    let dir = release_dir();
    let runs = if std::env::args().any(|a| a == "--bench") {
        21
    } else {
        1
    };
    let hello = init_ms(&dir.join(HELLO), runs);
    println!("lambda init, process start to first poll (median of {runs}), release x86_64:");
    println!(
        "  {:<18} {:>9}   {:>8}   {:>10}",
        "binary", "init", "size", "arm64 size"
    );
    let show = |name: &str, logical: Option<&str>, init: &Result<f64, String>| {
        let arm = logical
            .map(|l| mb(&arm64_binary(name, l)))
            .unwrap_or_else(|| "-".into());
        let init = match init {
            Ok(ms) => format!("{ms:.2} ms"),
            Err(e) => e.clone(),
        };
        println!(
            "  {name:<18} {init:>9}   {:>8}   {arm:>10}",
            mb(&dir.join(name))
        );
    };
    show(HELLO, None, &hello);
    for (bin, logical) in FUNCTIONS {
        let init = init_ms(&dir.join(bin), runs);
        show(bin, Some(logical), &init);
        if let (Ok(f), Ok(h)) = (&init, &hello) {
            println!("  {:<18} {:.1}x the hello world", "", f / h);
        }
    }
}
