//! Every benchmark of walletpay, in one binary: `tests/figures` runs them all with the AWS
//! stand-ins started; `cargo bench -p walletpay-tests --bench figures -- <name>...` runs the
//! ones named (`init`, `create_payment`, `http`, `capacity`, `webhooks`, `emv`, `snap`, `reconcile`, `risk`). Under `cargo test
//! --all-targets` (as `tests/run` runs it) each runs once, quickly, so none goes stale; the
//! arguments are then cargo test's own (a filter, `--test-threads`) and are not names.

mod capacity;
mod create_payment;
mod emv;
mod http_load;
mod init;
mod reconcile;
mod risk;
mod snap;
mod webhooks;

/// The `p` quantile (0 to 1) of sorted samples, by nearest rank.
fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    // The reconcile benchmark measures its engine in a child process of this binary.
    if reconcile::child() {
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|a| a == "--bench");
    let named: Vec<String> = args
        .into_iter()
        .filter(|a| benching && !a.starts_with('-'))
        .collect();
    let benches: [(&str, fn()); 9] = [
        ("init", init::run),
        ("create_payment", create_payment::run),
        ("http", http_load::run),
        ("capacity", capacity::run),
        ("webhooks", webhooks::run),
        ("emv", emv::run),
        ("snap", snap::run),
        ("reconcile", reconcile::run),
        ("risk", risk::run),
    ];
    if let Some(unknown) = named.iter().find(|n| !benches.iter().any(|(b, _)| b == n)) {
        eprintln!(
            "no benchmark {unknown:?}; there are: init, create_payment, http, capacity, webhooks, emv, snap, reconcile, risk"
        );
        std::process::exit(2);
    }
    for (name, run) in benches {
        if named.is_empty() || named.iter().any(|n| n == name) {
            run();
        }
    }
}
