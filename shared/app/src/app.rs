use std::sync::Arc;
use std::time::Duration;
use walletpay_domain::{Country, MerchantId, Provider, WalletId};
use walletpay_ports::{Clock, Merchant, Queue, Store};
use walletpay_wallet_adapter::WalletAdapter;

/// The provider adapters this deployment has credentials for.
#[derive(Clone, Default)]
pub struct Adapters(Vec<Arc<dyn WalletAdapter>>);

impl Adapters {
    pub fn new() -> Self {
        Adapters(Vec::new())
    }

    pub fn with(mut self, adapter: Arc<dyn WalletAdapter>) -> Self {
        self.0.push(adapter);
        self
    }

    pub fn get(&self, provider: Provider) -> Option<&Arc<dyn WalletAdapter>> {
        self.0.iter().find(|a| a.provider() == provider)
    }

    /// The adapters that can take a wallet, in order: the shop's `enabled` providers (in
    /// its order) if it named any, else the catalog's; only those configured here that take
    /// the wallet.
    pub fn candidates(
        &self,
        country: Country,
        wallet: WalletId,
        enabled: Option<&[Provider]>,
    ) -> Vec<Arc<dyn WalletAdapter>> {
        let Some(spec) = walletpay_domain::catalog::wallet_spec(country, wallet) else {
            return Vec::new();
        };
        enabled
            .unwrap_or(spec.providers)
            .iter()
            .filter(|p| spec.providers.contains(p))
            .filter_map(|p| self.get(*p))
            .filter(|a| a.supports(country, wallet))
            .cloned()
            .collect()
    }

    /// The first candidate.
    pub fn route(
        &self,
        country: Country,
        wallet: WalletId,
        enabled: Option<&[Provider]>,
    ) -> Option<Arc<dyn WalletAdapter>> {
        self.candidates(country, wallet, enabled).into_iter().next()
    }
}

/// Tunables, with the defaults a deployment uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a customer has to approve a payment.
    pub payment_ttl: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// How long a request may hold an idempotency key before another may take over.
    pub idempotency_lease: Duration,
    /// How long a concurrent duplicate request waits for the first to finish.
    pub idempotency_wait: Duration,
    /// Delays between status checks; the last one repeats (see `status`).
    pub status_check_delays: Vec<Duration>,
    /// After creation + this, status checks stop.
    pub status_check_horizon: Duration,
    /// Waits between a refund's provider calls or status checks; the last one repeats.
    pub refund_retry_delays: Vec<Duration>,
    /// A refund still pending after this many provider calls is left to reconciliation.
    pub refund_max_attempts: u32,
    /// Waits between a notification's delivery attempts; after the last, the dead-letter
    /// queue. The default spans 45 hours.
    pub notification_delays: Vec<Duration>,
    /// How often a process writes the health counts it gathered (see `routing`).
    pub health_flush: Duration,
    /// How long a process trusts the health sums it read.
    pub health_cache: Duration,
    /// `GET /v1/events` shows events this much after they happened (see `list_events`).
    pub feed_settle: Duration,
    /// Whether merchant webhook URLs may be plain http or point at private addresses (the
    /// local stack); never in production.
    pub allow_insecure_webhook_urls: bool,
    /// Each merchant's requests per second, and burst, per process (see `rate_limit`).
    pub merchant_rate: crate::rate_limit::Limit,
    /// Reconciliation's time zones, grace period, lease and backoff (see `reconcile`).
    pub reconcile: crate::reconcile::ReconcileSettings,
    /// Where buyers reach this deployment (checkout pages' URLs); empty: URLs relative to
    /// the API's host.
    pub public_base_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            payment_ttl: Duration::from_secs(15 * 60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            idempotency_lease: Duration::from_secs(60),
            idempotency_wait: Duration::from_secs(10),
            status_check_delays: [10, 30, 120, 600, 3600, 4 * 3600]
                .map(Duration::from_secs)
                .to_vec(),
            status_check_horizon: Duration::from_secs(24 * 3600),
            refund_retry_delays: [5, 30, 120, 600, 3600, 4 * 3600]
                .map(Duration::from_secs)
                .to_vec(),
            refund_max_attempts: 30,
            notification_delays: [10, 60, 300, 1800, 7200, 6 * 3600, 12 * 3600, 24 * 3600]
                .map(Duration::from_secs)
                .to_vec(),
            feed_settle: Duration::from_secs(10),
            health_flush: Duration::from_secs(5),
            health_cache: Duration::from_secs(10),
            allow_insecure_webhook_urls: false,
            // 1,000 requests a second per shop on average over a minute (a live-stream
            // flash sale), and any one process serving at most 300 a second of it.
            merchant_rate: crate::rate_limit::Limit {
                per_minute: 60_000,
                per_second: 300.0,
                burst: 600.0,
            },
            reconcile: Default::default(),
            public_base_url: String::new(),
        }
    }
}

/// Everything a use case needs, built once per process.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    /// Verified provider events, on their way to the payment-events consumer.
    pub payment_events: Arc<dyn Queue>,
    /// Delayed status checks (see `status`).
    pub status_checks: Arc<dyn Queue>,
    /// Refund jobs for the refund worker (see `refunds`).
    pub refunds: Arc<dyn Queue>,
    /// Merchant notifications waiting to be delivered (see `notifications`).
    pub notifications: Arc<dyn Queue>,
    /// Notifications that exhausted their retries.
    pub notifications_dead: Arc<dyn Queue>,
    /// Reconciliation jobs, one per provider account and day (see `reconcile`).
    pub reconcile_jobs: Arc<dyn Queue>,
    /// How notifications reach merchants.
    pub webhooks: Arc<dyn walletpay_ports::webhooks::WebhookSender>,
    pub clock: Arc<dyn Clock>,
    pub adapters: Adapters,
    pub settings: Settings,
    /// Merchants' settings as recently read (see `merchant::cached`).
    pub merchants: MerchantCache,
    /// Providers' health as this process counted and read it (see `routing`).
    pub health: Arc<crate::routing::HealthBook>,
    /// Each merchant's share of the API in this process (see `rate_limit`).
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// Risk control's model and the policies recently read (see `risk`).
    pub risk: Arc<crate::risk::RiskBook>,
}

/// How long a process trusts a merchant's settings it read: a change made elsewhere (another
/// Lambda instance) reaches its deliveries within this.
pub const MERCHANT_CACHE_TTL: Duration = Duration::from_secs(30);

/// Merchants' settings as recently read, per process.
#[derive(Clone, Default)]
pub struct MerchantCache(
    Arc<std::sync::Mutex<std::collections::HashMap<MerchantId, (std::time::Instant, Merchant)>>>,
);

impl MerchantCache {
    pub fn get(&self, id: &MerchantId) -> Option<Merchant> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(at, _)| at.elapsed() < MERCHANT_CACHE_TTL)
            .map(|(_, m)| m.clone())
    }

    pub fn put(&self, m: &Merchant) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(m.id.clone(), (std::time::Instant::now(), m.clone()));
    }
}
