//! The flash-sale simulation, smaller, on DynamoDB Local and the SQS stand-in: the same
//! faults as the full run (a degraded aggregator, lost, duplicated and delayed webhooks,
//! consumers killed part-way), then every invariant must be 0, and the faults must have
//! happened (a run they missed proves nothing).

use walletpay_local::Backend;
use walletpay_sim::{run, Config};

/// A sale on the simulation's own runtime (whose threads' panics it counts).
fn sale(backend: Backend, seed: u64, buyers: usize, concurrency: usize) {
    let mut cfg = Config::new(seed, buyers);
    cfg.backend = backend;
    cfg.concurrency = concurrency;
    let r = walletpay_sim::runtime()
        .block_on(run(cfg))
        .expect("the sale runs");
    println!("{r}");
    assert!(r.invariants.all_zero(), "{r}");
    let f = r.faults;
    assert!(f.server_errors + f.timeouts > 0, "no provider fault: {r}");
    assert!(f.webhooks_lost > 0, "no webhook lost: {r}");
    assert!(f.webhooks_duplicated > 0, "no webhook duplicated: {r}");
    assert!(f.webhooks_delayed > 0, "no webhook delayed: {r}");
    assert!(f.consumers_killed > 0, "no consumer killed: {r}");
    assert!(r.unexpected.is_empty(), "{r}");
    for (provider, run) in &r.runs {
        assert_eq!(run["state"], "done", "{provider}'s day: {run}");
        assert_eq!(
            run["summary"]["discrepancies"], 0,
            "{provider}'s day: {run}"
        );
    }
    assert!(
        r.endpoint_refused > 0,
        "the shops' endpoint never failed: {r}"
    );
    let (walletpay, baseline) = (&r.sides[0], &r.sides[1]);
    assert_eq!(walletpay.orders, buyers);
    assert_eq!(baseline.orders, buyers);
    // Every wallet of every market is offered: a buyer never finds none.
    assert_eq!(walletpay.no_wallet, 0, "{r}");
    assert!(walletpay.paid > baseline.paid, "{r}");
    assert!(walletpay.events > 0 && walletpay.deliveries >= walletpay.events as u64);
}

#[test]
fn a_flash_sale_on_dynamodb_and_sqs_loses_nothing() {
    if !walletpay_tests::aws_standins() {
        return;
    }
    sale(Backend::Aws, 11, 80, 8);
}

#[test]
fn a_flash_sale_on_the_embedded_store_loses_nothing() {
    sale(Backend::Embedded, 12, 150, 32);
}
