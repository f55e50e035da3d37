//! `cargo run -p walletpay-sim --release -- --seed N`: one seeded flash sale against the
//! local stack (see the library's documentation for what it does and prints). Exits 1 when
//! an invariant is not 0.

use clap::Parser;
use walletpay_local::Backend;

#[derive(Parser)]
#[command(about = "A seeded flash sale with injected faults against the local stack")]
struct Cli {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 20_000)]
    buyers: usize,
    /// Buyers paying at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// `embedded`, or `aws` for DynamoDB and SQS at the endpoints the AWS variables name.
    #[arg(long, value_enum, default_value_t = Backend::Embedded)]
    backend: Backend,
    /// The provider that degrades (default: the baseline's aggregator, adyen).
    #[arg(long)]
    degrade: Option<String>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = walletpay_sim::runtime();
    let mut cfg = walletpay_sim::Config::new(cli.seed, cli.buyers);
    cfg.concurrency = cli.concurrency;
    cfg.backend = cli.backend;
    if let Some(p) = cli.degrade {
        match walletpay_domain::Provider::parse(&p) {
            Some(p) => cfg.degrade = p,
            None => {
                eprintln!("error: no provider {p}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match runtime.block_on(walletpay_sim::run(cfg)) {
        Ok(report) => {
            print!("{report}");
            if report.invariants.all_zero() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
