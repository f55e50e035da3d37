//! A local stack under test, driven over HTTP.

use serde_json::{json, Value};
use std::time::Duration;
use walletpay_local::{Backend, LocalStack, Options};
use walletpay_ports::HistoryEntry;

pub struct Stack {
    pub local: LocalStack,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

/// Starts a local stack on `backend` (None if that backend's stand-ins are not running).
pub async fn start(backend: Backend) -> Option<Stack> {
    start_with(backend, Options::default()).await
}

/// Like `start`, with the caller's options (settings, timeouts).
pub async fn start_with(backend: Backend, opts: Options) -> Option<Stack> {
    let mut opts = Options {
        port: 0,
        backend,
        ..opts
    };
    if backend == Backend::Aws {
        if !crate::aws_standins() {
            return None;
        }
        let (queue, _dlq) = crate::sqs_queue(Duration::from_secs(5), Some(5)).await?;
        let (checks, _dlq) = crate::sqs_queue(Duration::from_secs(5), Some(5)).await?;
        let (refunds, _dlq) = crate::sqs_queue(Duration::from_secs(5), Some(5)).await?;
        let (notifications, _dlq) = crate::sqs_queue(Duration::from_secs(5), Some(5)).await?;
        let (dead, _) = crate::sqs_queue(Duration::from_secs(5), None).await?;
        let (reconcile, _dlq) = crate::sqs_queue(Duration::from_secs(30), Some(5)).await?;
        opts.table = crate::unique("wp-e2e");
        opts.queue_url = Some(queue.url().to_string());
        opts.status_queue_url = Some(checks.url().to_string());
        opts.refunds_queue_url = Some(refunds.url().to_string());
        opts.notifications_queue_url = Some(notifications.url().to_string());
        opts.notifications_dlq_url = Some(dead.url().to_string());
        opts.reconcile_queue_url = Some(reconcile.url().to_string());
    }
    let local = walletpay_local::start(opts)
        .await
        .expect("local stack starts");
    Some(Stack {
        local,
        http: walletpay_wallet_adapter::tls::client_builder()
            .build()
            .expect("an HTTP client"),
    })
}

pub fn dana_order(reference: &str) -> Value {
    let mut customer = crate::buyer("ID", reference);
    customer["ip"] = json!("203.0.113.7");
    customer["device_id"] = json!(format!("dev-{reference}"));
    json!({
        "merchant_reference": reference,
        "amount": 15000000,
        "currency": "IDR",
        "country": "ID",
        "wallet": "dana",
        "customer": customer,
        "return_url": "https://shop.example/thanks",
        "description": "Batik scarf"
    })
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.local.base_url)
    }

    pub async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("idempotent-replayed").is_some();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            replayed,
        }
    }

    pub async fn create_raw(
        &self,
        key: Option<&str>,
        idem: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut req = self
            .http
            .post(self.url("/v1/payments"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if let Some(i) = idem {
            req = req.header("idempotency-key", i);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn create(&self, idem: &str, body: &Value) -> Answer {
        self.create_raw(Some(&self.local.demo_key), Some(idem), body.to_string())
            .await
    }

    /// `GET path` as the merchant with `key`.
    pub async fn get_path(&self, path: &str, key: &str) -> Answer {
        let resp = self
            .http
            .get(self.url(path))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// `POST path` with a JSON body and an idempotency key, as the merchant with `key`.
    pub async fn post_json(&self, path: &str, key: &str, idem: &str, body: &Value) -> Answer {
        let resp = self
            .http
            .post(self.url(path))
            .header("authorization", format!("Bearer {key}"))
            .header("idempotency-key", idem)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// Creates a DANA payment and pays it; returns the payment.
    pub async fn paid(&self, reference: &str, amount_minor: i64) -> Value {
        let mut order = dana_order(reference);
        order["amount"] = json!(amount_minor);
        let a = self.create(reference, &order).await;
        assert_eq!(a.status, 201, "{}", a.body);
        let sim = self
            .simulate(a.body["provider_reference"].as_str().unwrap(), "success")
            .await;
        assert_eq!(sim.status, 200, "{}", sim.body);
        self.wait_for(a.body["id"].as_str().unwrap(), "succeeded")
            .await
    }

    /// Polls a refund until it has `status`.
    pub async fn wait_for_refund(&self, payment_id: &str, refund_id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let a = self
                .get_path(
                    &format!("/v1/payments/{payment_id}/refunds/{refund_id}"),
                    &self.local.demo_key,
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            if a.body["status"] == status {
                return a.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "refund {refund_id} stuck at {}",
                a.body["status"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A second shop's API key, to check that nothing of the demo merchant's is theirs.
    pub async fn other_merchant(&self) -> String {
        walletpay_app::auth::create_merchant(
            self.local.app.store.as_ref(),
            "Other Shop",
            crate::now(),
            None,
        )
        .await
        .expect("a second merchant")
        .1
    }

    /// `POST path` with no body as the merchant with `key`.
    pub async fn post(&self, path: &str, key: &str) -> Answer {
        let resp = self
            .http
            .post(self.url(path))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    pub async fn get(&self, id: &str, key: &str) -> Answer {
        let resp = self
            .http
            .get(self.url(&format!("/v1/payments/{id}")))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    pub async fn simulate(&self, reference: &str, outcome: &str) -> Answer {
        let resp = self
            .http
            .post(self.url(&format!("/sandbox/xendit/simulate/{reference}")))
            .body(json!({"outcome": outcome}).to_string())
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// Polls the API until the payment has `status` (the consumer runs asynchronously).
    pub async fn wait_for(&self, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let a = self.get(id, &self.local.demo_key).await;
            assert_eq!(a.status, 200);
            if a.body["status"] == status {
                return a.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "payment {id} stuck at {}",
                a.body["status"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn history(&self, id: &str) -> Vec<HistoryEntry> {
        let id = walletpay_domain::PaymentId::parse(id).unwrap();
        self.local.app.store.payment_history(&id).await.unwrap()
    }

    /// How many payment requests Xendit holds for our payment.
    pub fn charges_for(&self, payment_id: &str) -> usize {
        self.local
            .xendit
            .payment_requests()
            .iter()
            .filter(|r| r.reference_id == payment_id)
            .count()
    }
}
