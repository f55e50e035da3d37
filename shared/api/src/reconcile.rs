//! The reconcile function's scheduled start (EventBridge Scheduler): `{"kind": "daily",
//! "provider": P}` fans out the day just closed in P's report time zone as one job on the
//! reconcile queue (and logs P's backlog: open discrepancies older than a day, overdue
//! days); `{"kind": "weekly", "provider": P}` enqueues the last ISO week's catch-up. Without
//! `provider`, every provider configured here. The same queue's jobs are consumed by the
//! same function (`sqs::Consumer::Reconcile`).

use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use walletpay_app::reconcile::{schedule_days, Job, WeekJob};
use walletpay_app::App;
use walletpay_domain::Provider;
use walletpay_reconcile::Date;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Daily,
    Weekly,
}

#[derive(Debug, Deserialize)]
pub struct Scheduled {
    pub kind: Kind,
    #[serde(default)]
    pub provider: Option<Provider>,
}

/// Handles one scheduled start; answers what it enqueued.
pub async fn scheduled(app: &App, input: &Scheduled) -> Result<Value, String> {
    let now = app.clock.now();
    let wanted = |p: Provider| input.provider.is_none_or(|w| w == p);
    let mut sent = Vec::new();
    match input.kind {
        Kind::Daily => {
            for job in schedule_days(app, now)
                .into_iter()
                .filter(|j| wanted(j.provider))
            {
                // The job decides: a day done once it was over is left as it is.
                send(app, &serde_json::to_string(&job).expect("a job serializes")).await?;
                sent.push(json!({"provider": job.provider, "date": job.date}));
                let (older, overdue) = walletpay_app::reconcile::api::backlog(app, job.provider)
                    .await
                    .map_err(|e| e.to_string())?;
                walletpay_app::reconcile::metrics::backlog(job.provider, older, overdue);
            }
        }
        Kind::Weekly => {
            for p in Provider::ALL.iter().copied().filter(|p| wanted(*p)) {
                if !app
                    .adapters
                    .get(p)
                    .is_some_and(|a| a.has_settlement_source())
                {
                    continue;
                }
                let last_week = Date::of(now, app.settings.reconcile.offset(p))
                    .plus_days(-7)
                    .iso_week();
                let job = WeekJob {
                    provider: p,
                    week: last_week.to_string(),
                };
                send(app, &serde_json::to_string(&job).expect("a job serializes")).await?;
                sent.push(json!({"provider": p, "week": job.week}));
            }
        }
    }
    Ok(json!({"enqueued": sent}))
}

async fn send(app: &App, body: &str) -> Result<(), String> {
    app.reconcile_jobs
        .send(body, Duration::ZERO)
        .await
        .map_err(|e| e.to_string())
}

/// A day's job for the command line and tests.
pub fn job(provider: Provider, date: Date) -> Job {
    Job {
        provider,
        date,
        waits: 0,
        again: false,
    }
}
