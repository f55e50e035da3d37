//! Shared test support: the AWS stand-ins (DynamoDB Local, SQS and Secrets Manager on moto)
//! and sample data.
//!
//! Tests that need a stand-in look for its endpoint in `AWS_ENDPOINT_URL_DYNAMODB` /
//! `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Plain `cargo test` has none
//! and skips them with a note; `tests/run` starts the stand-ins and sets
//! `WALLETPAY_REQUIRE_STANDINS=1`, which turns a missing endpoint into a failure.

pub mod browser;
pub mod stack;
pub mod webhooks;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use walletpay_aws::{DynamoDbStore, SecretsManager, SqsQueue};
use walletpay_domain::{
    Country, Currency, Customer, MerchantId, Money, Payment, PaymentId, PaymentStatus, Provider,
    Timestamp, WalletId,
};

fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("WALLETPAY_REQUIRE_STANDINS").as_deref() == Ok("1") {
                panic!("{var} is not set but WALLETPAY_REQUIRE_STANDINS=1: the stand-in must run");
            }
            eprintln!(
                "skipped: {var} is not set (run tests/run to test against the AWS stand-ins)"
            );
            None
        }
    }
}

/// A name no other test in this run uses.
/// One buyer per order, in the order's market: a customer id, a phone number of the
/// market and an e-mail address drawn from the order's reference. Test orders are different
/// buyers, as a shop's are: one phone paying for every order of a run is exactly what risk
/// control's velocity rules stop.
pub fn buyer(country: &str, reference: &str) -> serde_json::Value {
    let h = reference.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let code = match country {
        "ID" => "62",
        "TH" => "66",
        "MY" => "60",
        "PH" => "63",
        "VN" => "84",
        "BR" => "55",
        "SG" => "65",
        other => panic!("no calling code for {other}"),
    };
    serde_json::json!({
        "id": format!("cus_{:08x}", h as u32),
        "phone": format!("+{code}8{:09}", h % 1_000_000_000),
        "email": format!("buyer-{:08x}@example.com", h as u32),
    })
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        "{prefix}-{}-{t}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn aws_config() -> aws_config::SdkConfig {
    walletpay_aws::load_config().await
}

/// A fresh table on DynamoDB Local, or None when it is not running (plain `cargo test`).
pub async fn dynamodb_store() -> Option<DynamoDbStore> {
    endpoint("AWS_ENDPOINT_URL_DYNAMODB")?;
    let store = DynamoDbStore::new(&aws_config().await, unique("wp"));
    store
        .create_table()
        .await
        .expect("create table on DynamoDB Local");
    Some(store)
}

/// A fresh SQS queue on the stand-in with the given visibility timeout and, if
/// `max_receives` is set, a dead-letter queue; returns (queue, dlq).
pub async fn sqs_queue(
    visibility: Duration,
    max_receives: Option<u32>,
) -> Option<(SqsQueue, Option<SqsQueue>)> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    endpoint("AWS_ENDPOINT_URL_SQS")?;
    let config = aws_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let mut dlq = None;
    let mut create = client
        .create_queue()
        .queue_name(unique("wp"))
        .attributes(A::VisibilityTimeout, visibility.as_secs().to_string());
    if let Some(max) = max_receives {
        let dlq_url = client
            .create_queue()
            .queue_name(unique("wp-dlq"))
            .send()
            .await
            .expect("create DLQ")
            .queue_url
            .expect("DLQ url");
        let arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .expect("DLQ attributes")
            .attributes
            .and_then(|a| a.get(&A::QueueArn).cloned())
            .expect("DLQ arn");
        create = create.attributes(
            A::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max.to_string()})
                .to_string(),
        );
        dlq = Some(SqsQueue::new(&config, dlq_url));
    }
    let url = create
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    Some((SqsQueue::new(&config, url), dlq))
}

/// Secrets Manager on the stand-in.
pub async fn secrets_manager() -> Option<SecretsManager> {
    endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER")?;
    Some(SecretsManager::new(&aws_config().await))
}

/// Whether every AWS stand-in is configured (skips with a note otherwise).
pub fn aws_standins() -> bool {
    endpoint("AWS_ENDPOINT_URL_DYNAMODB").is_some()
        && endpoint("AWS_ENDPOINT_URL_SQS").is_some()
        && endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER").is_some()
}

pub fn now() -> Timestamp {
    walletpay_ports::Clock::now(&walletpay_ports::SystemClock)
}

/// A payment as the create use case writes it first.
pub fn sample_payment(merchant: &MerchantId) -> Payment {
    let at = now();
    Payment {
        id: PaymentId::new(at.millis(), rand_u128()),
        merchant_id: merchant.clone(),
        merchant_reference: "order-1001".into(),
        amount: Money::positive(15_000_000, Currency::IDR).unwrap(),
        country: Country::ID,
        wallet: WalletId::Dana,
        provider: Provider::Xendit,
        provider_reference: None,
        status: PaymentStatus::Processing,
        next_action: None,
        failure: None,
        customer: Customer {
            id: Some("cus_1".into()),
            phone: Some("+6281234567890".into()),
            email: None,
            ip: Some("203.0.113.7".into()),
            device_id: None,
        },
        return_url: Some("https://shop.example/thanks".into()),
        description: None,
        created_at: at,
        updated_at: at,
        expires_at: at.plus_seconds(900),
        late_success: false,
        refunds: Vec::new(),
        route: Vec::new(),
        risk: None,
        fraud_report: None,
        checkout_session: None,
        incentive: None,
        version: 1,
    }
}

pub fn rand_u128() -> u128 {
    rand::random()
}

pub fn merchant_id() -> MerchantId {
    MerchantId::new(now().millis(), rand_u128())
}
