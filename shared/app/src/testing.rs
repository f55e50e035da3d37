//! Test support for the use cases: an `App` on the embedded store and in-process queues,
//! with one scripted provider whose every answer a test chooses, and which records what it
//! was asked.

use crate::app::{Adapters, App, Settings};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use walletpay_domain::{
    Country, Currency, Customer, MerchantId, Money, Payment, PaymentId, PaymentStatus, Provider,
    WalletId,
};
use walletpay_embedded::{EmbeddedStore, InProcessQueue};
use walletpay_ports::{HistoryEntry, SystemClock};
use walletpay_wallet_adapter::{
    AdapterError, Cancel, ChargeCreated, ChargeRequest, ProviderEvent, ProviderStatus, Recovered,
    RefundCheck, RefundOutcome, RefundRequest, RefundSupport, WalletAdapter, WebhookAck,
    WebhookError, WebhookRequest,
};

/// The answers of the scripted provider.
pub struct Script {
    pub asks: bool,
    pub recover: Result<Recovered, AdapterError>,
    pub status: Result<ProviderStatus, AdapterError>,
    /// What `charge_status` answers once a cancel was asked for (default: `status`).
    pub statuses_after_cancel: Option<ProviderStatus>,
    pub confirm: Result<ProviderStatus, AdapterError>,
    pub cancel: Result<Cancel, AdapterError>,
    /// A charge the provider never answers about (its status call hangs).
    pub stall_on: Option<String>,
    pub refund_support: Result<RefundSupport, AdapterError>,
    /// The settlement rows of any day; none: the day's data is not published yet.
    pub settlement: Option<Vec<walletpay_reconcile::SettlementRow>>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            asks: true,
            recover: Ok(Recovered::CannotTell),
            status: Ok(ProviderStatus::Pending),
            statuses_after_cancel: None,
            confirm: Ok(ProviderStatus::Pending),
            cancel: Ok(Cancel::NotCancelable),
            stall_on: None,
            refund_support: Ok(RefundSupport::Supported),
            settlement: None,
        }
    }
}

pub struct Scripted {
    script: Script,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn called(&self, what: String) {
        self.calls.lock().unwrap().push(what);
    }
}

fn copy<T: Clone>(r: &Result<T, AdapterError>) -> Result<T, AdapterError> {
    match r {
        Ok(v) => Ok(v.clone()),
        Err(AdapterError::NotFound) => Err(AdapterError::NotFound),
        Err(e) => Err(AdapterError::Unknown(e.to_string())),
    }
}

#[async_trait]
impl WalletAdapter for Scripted {
    fn provider(&self) -> Provider {
        Provider::Xendit
    }
    fn supports(&self, _: Country, _: WalletId) -> bool {
        true
    }
    fn answers_status_queries(&self) -> bool {
        self.script.asks
    }
    async fn create_charge(&self, _: &ChargeRequest<'_>) -> Result<ChargeCreated, AdapterError> {
        self.called("create_charge".into());
        Err(AdapterError::Unknown("scripted".into()))
    }
    async fn recover_charge(&self, _: &ChargeRequest<'_>) -> Result<Recovered, AdapterError> {
        self.called("recover_charge".into());
        copy(&self.script.recover)
    }
    async fn charge_status(&self, reference: &str) -> Result<ProviderStatus, AdapterError> {
        let canceled = self.calls().iter().any(|c| c.starts_with("cancel_charge"));
        self.called(format!("charge_status {reference}"));
        if self.script.stall_on.as_deref() == Some(reference) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        match (&self.script.statuses_after_cancel, canceled) {
            (Some(s), true) => Ok(s.clone()),
            _ => copy(&self.script.status),
        }
    }
    async fn confirm_charge(
        &self,
        reference: &str,
        _: &PaymentId,
    ) -> Result<ProviderStatus, AdapterError> {
        self.called(format!("confirm_charge {reference}"));
        copy(&self.script.confirm)
    }
    async fn refund_support(&self, check: &RefundCheck<'_>) -> Result<RefundSupport, AdapterError> {
        self.called(format!("refund_support {}", check.charge_reference));
        copy(&self.script.refund_support)
    }
    async fn refund(&self, _: &RefundRequest<'_>) -> Result<RefundOutcome, AdapterError> {
        Err(AdapterError::Unknown("scripted".into()))
    }
    async fn refund_status(&self, _: &str, _: &str) -> Result<RefundOutcome, AdapterError> {
        Err(AdapterError::Unknown("scripted".into()))
    }
    async fn cancel_charge(&self, reference: &str) -> Result<Cancel, AdapterError> {
        self.called(format!("cancel_charge {reference}"));
        copy(&self.script.cancel)
    }
    async fn verify_webhook(
        &self,
        _: WebhookRequest<'_>,
    ) -> Result<Vec<ProviderEvent>, WebhookError> {
        Err(WebhookError::Unauthenticated)
    }
    fn webhook_ack(&self) -> WebhookAck {
        WebhookAck {
            status: 200,
            content_type: "application/json",
            body: "{}".into(),
        }
    }

    async fn settlement(
        &self,
        day: &walletpay_wallet_adapter::SettlementDay<'_>,
        sink: walletpay_wallet_adapter::RowSink<'_>,
    ) -> Result<walletpay_wallet_adapter::SourceRead, walletpay_wallet_adapter::SettlementError>
    {
        self.called(format!("settlement {}", day.day));
        let Some(rows) = &self.script.settlement else {
            return Err(walletpay_wallet_adapter::SettlementError::NotYet(
                "scripted: not published".into(),
            ));
        };
        for r in rows {
            sink(r.clone());
        }
        Ok(walletpay_wallet_adapter::SourceRead {
            source: "scripted".into(),
            rows: rows.len() as u64,
        })
    }
}

/// An app whose only provider is the scripted one.
pub fn app_with(script: Script) -> (App, Arc<Scripted>) {
    let adapter = Arc::new(Scripted {
        script,
        calls: Mutex::new(Vec::new()),
    });
    let queue = || Arc::new(InProcessQueue::new(Duration::from_secs(30)));
    let app = App {
        store: Arc::new(EmbeddedStore::in_memory()),
        payment_events: queue(),
        status_checks: queue(),
        refunds: queue(),
        notifications: queue(),
        notifications_dead: queue(),
        reconcile_jobs: queue(),
        webhooks: Arc::new(NoWebhooks),
        clock: Arc::new(SystemClock),
        adapters: Adapters::new().with(adapter.clone()),
        settings: Settings::default(),
        merchants: Default::default(),
        health: Default::default(),
        limits: Default::default(),
        risk: Default::default(),
    };
    (app, adapter)
}

struct NoWebhooks;

#[async_trait]
impl walletpay_ports::webhooks::WebhookSender for NoWebhooks {
    async fn post(&self, _: &str, _: &[(&str, String)], _: &str) -> Result<u16, String> {
        Err("no webhooks in these tests".into())
    }
}

/// A stored payment at the scripted provider: `requires_action` with the charge
/// `reference`, or `processing` with none (its create's answer was lost).
pub async fn payment(app: &App, reference: Option<&str>) -> Payment {
    let now = walletpay_ports::Clock::now(app.clock.as_ref());
    let p = Payment {
        id: PaymentId::new(now.millis(), rand::random()),
        merchant_id: MerchantId::new(now.millis(), rand::random()),
        merchant_reference: "order-1".into(),
        amount: Money::positive(15_000_000, Currency::IDR).unwrap(),
        country: Country::ID,
        wallet: WalletId::Dana,
        provider: Provider::Xendit,
        provider_reference: reference.map(str::to_string),
        status: if reference.is_some() {
            PaymentStatus::RequiresAction
        } else {
            PaymentStatus::Processing
        },
        next_action: None,
        failure: None,
        customer: Customer::default(),
        return_url: None,
        description: None,
        created_at: now,
        updated_at: now,
        expires_at: now.plus_seconds(900),
        late_success: false,
        refunds: Vec::new(),
        route: Vec::new(),
        risk: None,
        fraud_report: None,
        checkout_session: None,
        incentive: None,
        version: 1,
    };
    let entry = HistoryEntry {
        payment_id: p.id.clone(),
        merchant_id: p.merchant_id.clone(),
        seq: 1,
        at: now,
        event: "created".into(),
        from: None,
        to: p.status,
        source: "api".into(),
        detail: None,
    };
    app.store.insert_payment(&p, &entry).await.unwrap();
    p
}
