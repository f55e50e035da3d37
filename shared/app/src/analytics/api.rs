//! `GET /v1/analytics/summary`, `/timeseries`, `/failures`, `/refunds`: the aggregates of a
//! period, filtered by country, wallet and provider. A merchant's key reads its own; an
//! operator's reads every merchant's, or one's with `?merchant=`. Periods are read from
//! the hour buckets up to 7 days and from the day buckets beyond (whole UTC days), at most
//! 400 days. Money is summed per currency, never across.

use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, Reply};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use walletpay_domain::analytics::{Bucket, Counts, RefundStage};
use walletpay_domain::{failure_message, Country, Lang, MerchantId, Provider, Timestamp, WalletId};
use walletpay_ports::AggScope;

const HOUR_MS: i64 = 3_600_000;
const MAX_DAYS: i64 = 400;
const HOURLY_UP_TO_HOURS: i64 = 7 * 24;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_parameter", message).field(field)
}

/// What a request reads: whose, when, and which buckets.
pub struct Query {
    merchant: Option<MerchantId>,
    from_hour: i64,
    to_hour: i64,
    country: Option<Country>,
    wallet: Option<WalletId>,
    provider: Option<Provider>,
    daily: bool,
}

fn time(q: &HashMap<String, String>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    q.get(name)
        .map(|v| {
            serde_json::from_value::<Timestamp>(Value::String(v.clone()))
                .map_err(|_| invalid(name, format!("`{name}` is an RFC 3339 time.")))
        })
        .transpose()
}

/// Reads whose figures, the period and the filters; `interval` forces the granularity.
pub fn parse(
    app: &App,
    principal: &Principal,
    q: &HashMap<String, String>,
    interval: Option<&str>,
) -> Result<Query, ApiError> {
    let merchant = match (principal, q.get("merchant")) {
        (Principal::Merchant(m), None) => Some(m.clone()),
        (Principal::Merchant(m), Some(other)) if other == m.as_str() => Some(m.clone()),
        (Principal::Merchant(_), Some(_)) => {
            return Err(ApiError::new(
                403,
                "forbidden",
                "A merchant key reads its own figures only.",
            ))
        }
        (Principal::Operator(_), None) => None,
        (Principal::Operator(_), Some(m)) => Some(
            MerchantId::parse(m)
                .ok_or_else(|| invalid("merchant", "`merchant` is not a merchant id."))?,
        ),
    };
    let now = app.clock.now();
    let to = time(q, "to")?.unwrap_or(now);
    let from = time(q, "from")?.unwrap_or(to.plus_millis(-7 * 24 * HOUR_MS));
    if from >= to {
        return Err(invalid("from", "`from` is before `to`."));
    }
    // Whole hours: from the hour `from` is in to the end of the hour before `to`'s end.
    let from_hour = from.millis().div_euclid(HOUR_MS);
    let to_hour = (to.millis() + HOUR_MS - 1).div_euclid(HOUR_MS);
    if to_hour - from_hour > MAX_DAYS * 24 {
        return Err(invalid(
            "from",
            format!("A period is at most {MAX_DAYS} days."),
        ));
    }
    let daily = match interval {
        Some("hour") => {
            if to_hour - from_hour > 31 * 24 {
                return Err(invalid("interval", "Hourly series cover at most 31 days."));
            }
            false
        }
        Some("day") => true,
        Some(_) => return Err(invalid("interval", "`interval` is `hour` or `day`.")),
        None => to.millis() - from.millis() > HOURLY_UP_TO_HOURS * HOUR_MS,
    };
    let parsed = |name: &str| q.get(name).map(String::as_str);
    Ok(Query {
        merchant,
        from_hour,
        to_hour,
        country: parsed("country")
            .map(|c| Country::parse(c).ok_or_else(|| invalid("country", "Not a served country.")))
            .transpose()?,
        wallet: parsed("wallet")
            .map(|w| WalletId::parse(w).ok_or_else(|| invalid("wallet", "Not a wallet.")))
            .transpose()?,
        provider: parsed("provider")
            .map(|p| Provider::parse(p).ok_or_else(|| invalid("provider", "Not a provider.")))
            .transpose()?,
        daily,
    })
}

impl Query {
    fn scope(&self) -> AggScope<'_> {
        match &self.merchant {
            Some(m) => AggScope::Merchant(m),
            None => AggScope::Platform,
        }
    }

    fn keeps(&self, b: &Bucket) -> bool {
        self.country.is_none_or(|c| c == b.country)
            && self.wallet.is_none_or(|w| w == b.wallet)
            && self.provider.is_none_or(|p| p == b.provider)
    }

    /// The period's buckets, filtered: hours, or days (whole days covering the period).
    async fn read(
        &self,
        app: &App,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<Vec<(Bucket, Counts)>, ApiError> {
        let rows = if self.daily {
            let from_day = from_hour.div_euclid(24);
            let to_day = (to_hour + 23).div_euclid(24);
            app.store.days(self.scope(), from_day, to_day).await?
        } else {
            app.store.hours(self.scope(), from_hour, to_hour).await?
        };
        Ok(rows.into_iter().filter(|(b, _)| self.keeps(b)).collect())
    }

    /// The period read, on the granularity read (`from`, `to`, `granularity`).
    pub fn period(&self) -> Value {
        let (from, to) = if self.daily {
            (
                self.from_hour.div_euclid(24) * 24,
                (self.to_hour + 23).div_euclid(24) * 24,
            )
        } else {
            (self.from_hour, self.to_hour)
        };
        json!({
            "from": Timestamp(from * HOUR_MS),
            "to": Timestamp(to * HOUR_MS),
            "granularity": if self.daily { "day" } else { "hour" },
        })
    }
}

/// Money per currency.
fn per_currency(rows: &[(Bucket, Counts)], f: impl Fn(&Counts) -> i64) -> Map<String, Value> {
    let mut out: BTreeMap<&'static str, i64> = BTreeMap::new();
    for (b, c) in rows {
        let v = f(c);
        if v != 0 {
            *out.entry(b.country.currency().code()).or_default() += v;
        }
    }
    out.into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn figures(rows: &[(Bucket, Counts)]) -> Value {
    let mut all = Counts::default();
    for (_, c) in rows {
        all.add(c);
    }
    let mut aov = Map::new();
    let mut by_currency: BTreeMap<&'static str, Counts> = BTreeMap::new();
    for (b, c) in rows {
        by_currency
            .entry(b.country.currency().code())
            .or_default()
            .add(c);
    }
    for (cur, c) in &by_currency {
        if let Some(a) = c.average_order() {
            aov.insert(cur.to_string(), json!(a));
        }
    }
    let refunds: Map<String, Value> = RefundStage::ALL
        .iter()
        .map(|s| {
            let (n, _) = all.refunds.get(s).copied().unwrap_or_default();
            (
                s.as_str().to_string(),
                json!({"count": n, "amount": per_currency(rows, |c| c.refunds.get(s).map(|r| r.1).unwrap_or(0))}),
            )
        })
        .collect();
    json!({
        "attempts": all.own_attempts(),
        "successes": all.successes,
        "failures": all.failed(),
        "canceled": all.canceled,
        "late_successes": all.late_successes,
        "conversion_bp": all.conversion_bp(),
        "success_rate_bp": all.success_rate_bp(),
        "volume": per_currency(rows, |c| c.volume),
        "average_order": aov,
        "refunds": refunds,
        "risk": {"allow": all.risk_allowed, "review": all.risk_reviewed, "block": all.risk_blocked, "stopped": all.risk_stopped},
    })
}

/// The change from `before` to `now` in basis points (none from nothing).
fn change_bp(now: i64, before: i64) -> Value {
    if before == 0 {
        Value::Null
    } else {
        json!((now - before) * 10_000 / before)
    }
}

/// `GET /v1/analytics/summary`: the period's figures, the same length of time just before
/// it, and the change.
pub async fn summary(app: &App, q: &Query) -> Result<Reply, ApiError> {
    // Read by the day, both periods on whole days, so they never share one.
    let (from, to) = if q.daily {
        (
            q.from_hour.div_euclid(24) * 24,
            (q.to_hour + 23).div_euclid(24) * 24,
        )
    } else {
        (q.from_hour, q.to_hour)
    };
    let len = to - from;
    let now = q.read(app, from, to).await?;
    let before = q.read(app, from - len, from).await?;
    let (a, b) = (figures(&now), figures(&before));
    let num = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    let mut change = Map::new();
    for k in [
        "attempts",
        "successes",
        "failures",
        "conversion_bp",
        "success_rate_bp",
    ] {
        change.insert(k.to_string(), change_bp(num(&a, k), num(&b, k)));
    }
    let volume: Map<String, Value> = a["volume"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(cur, v)| {
            (
                cur.clone(),
                change_bp(
                    v.as_i64().unwrap_or(0),
                    b["volume"][cur].as_i64().unwrap_or(0),
                ),
            )
        })
        .collect();
    change.insert("volume".into(), Value::Object(volume));
    Ok(Reply::json(
        200,
        json!({
            "object": "analytics_summary",
            "period": q.period(),
            "current": a,
            "previous": b,
            "change_bp": change,
        })
        .to_string(),
    ))
}

/// `GET /v1/analytics/timeseries?metric=&interval=hour|day`.
pub async fn timeseries(app: &App, q: &Query, metric: Option<&str>) -> Result<Reply, ApiError> {
    let metric = metric.unwrap_or("attempts");
    let pick: fn(&Counts) -> Option<i64> = match metric {
        "attempts" => |c| Some(c.own_attempts() as i64),
        "successes" => |c| Some(c.successes as i64),
        "failures" => |c| Some(c.failed() as i64),
        "conversion" => |c| c.conversion_bp().map(|v| v as i64),
        "success_rate" => |c| c.success_rate_bp().map(|v| v as i64),
        "refunds" => |c| Some(c.refunds.get(&RefundStage::Requested).map(|r| r.0 as i64).unwrap_or(0)),
        "volume" => |c| Some(c.volume),
        _ => {
            return Err(invalid(
                "metric",
                "`metric` is attempts, successes, failures, conversion, success_rate, refunds or volume.",
            ))
        }
    };
    let rows = q.read(app, q.from_hour, q.to_hour).await?;
    let step = if q.daily { 24 } else { 1 };
    let (start, end) = if q.daily {
        (
            q.from_hour.div_euclid(24) * 24,
            (q.to_hour + 23).div_euclid(24) * 24,
        )
    } else {
        (q.from_hour, q.to_hour)
    };
    // Per currency for money; one series otherwise.
    let mut series: BTreeMap<String, BTreeMap<i64, Counts>> = BTreeMap::new();
    for (b, c) in &rows {
        let name = if metric == "volume" {
            b.country.currency().code().to_string()
        } else {
            "all".to_string()
        };
        series
            .entry(name)
            .or_default()
            .entry(b.hour)
            .or_default()
            .add(c);
    }
    if series.is_empty() && metric != "volume" {
        series.insert("all".into(), BTreeMap::new());
    }
    let out: Map<String, Value> = series
        .into_iter()
        .map(|(name, by_hour)| {
            let points: Vec<Value> = (start..end)
                .step_by(step as usize)
                .map(|h| {
                    let c = by_hour.get(&h).cloned().unwrap_or_default();
                    json!({"t": Timestamp(h * HOUR_MS), "value": pick(&c)})
                })
                .collect();
            (name, Value::Array(points))
        })
        .collect();
    Ok(Reply::json(
        200,
        json!({"object": "analytics_timeseries", "metric": metric, "period": q.period(), "series": out})
            .to_string(),
    ))
}

/// `GET /v1/analytics/failures?group_by=category|wallet|provider`: counts, shares, and for
/// categories the message a customer reads.
pub async fn failures(
    app: &App,
    q: &Query,
    group_by: Option<&str>,
    lang: Option<Lang>,
) -> Result<Reply, ApiError> {
    let group_by = group_by.unwrap_or("category");
    if !matches!(group_by, "category" | "wallet" | "provider") {
        return Err(invalid(
            "group_by",
            "`group_by` is category, wallet or provider.",
        ));
    }
    let mut answers = failures_by(app, q, &[group_by], lang).await?;
    Ok(Reply::json(200, answers.remove(0).to_string()))
}

/// The failures of `q`'s period grouped each way `groupings` names (`category`, `wallet`,
/// `provider`), each as `GET /v1/analytics/failures` answers it, from one read of the
/// buckets.
pub async fn failures_by(
    app: &App,
    q: &Query,
    groupings: &[&str],
    lang: Option<Lang>,
) -> Result<Vec<Value>, ApiError> {
    let rows = q.read(app, q.from_hour, q.to_hour).await?;
    let lang = lang.unwrap_or(Lang::En);
    Ok(groupings
        .iter()
        .map(|g| grouped_failures(q, &rows, g, lang))
        .collect())
}

fn grouped_failures(q: &Query, rows: &[(Bucket, Counts)], group_by: &str, lang: Lang) -> Value {
    let mut by: BTreeMap<String, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut total = 0u64;
    for (b, c) in rows {
        for (category, n) in &c.failures {
            let key = match group_by {
                "category" => category.as_str().to_string(),
                "wallet" => b.wallet.as_str().to_string(),
                _ => b.provider.as_str().to_string(),
            };
            let e = by.entry(key).or_default();
            e.0 += n;
            *e.1.entry(category.as_str().to_string()).or_default() += n;
            total += n;
        }
    }
    let mut data: Vec<Value> = by
        .into_iter()
        .map(|(key, (n, categories))| {
            let mut row = json!({
                group_by: key,
                "count": n,
                "share_bp": (n * 10_000).checked_div(total).unwrap_or(0),
                "categories": categories,
            });
            if group_by == "category" {
                if let Some(c) = walletpay_domain::FailureCategory::parse(&key) {
                    row["customer_message"] = json!(failure_message(c, lang));
                }
            }
            row
        })
        .collect();
    data.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
    json!({"object": "analytics_failures", "group_by": group_by, "period": q.period(), "total": total, "data": data})
}

/// `GET /v1/analytics/refunds`: refunds by what happened to them, counts and amounts per
/// currency, per wallet.
pub async fn refunds(app: &App, q: &Query) -> Result<Reply, ApiError> {
    let rows = q.read(app, q.from_hour, q.to_hour).await?;
    let figures = figures(&rows);
    let mut by_wallet: BTreeMap<&'static str, Vec<(Bucket, Counts)>> = BTreeMap::new();
    for (b, c) in &rows {
        by_wallet
            .entry(b.wallet.as_str())
            .or_default()
            .push((b.clone(), c.clone()));
    }
    let wallets: Map<String, Value> = by_wallet
        .into_iter()
        .map(|(w, rows)| (w.to_string(), self::figures(&rows)["refunds"].clone()))
        .collect();
    Ok(Reply::json(
        200,
        json!({"object": "analytics_refunds", "period": q.period(), "refunds": figures["refunds"], "by_wallet": wallets})
            .to_string(),
    ))
}

/// A row per market × wallet × provider of the period: attempts, successes, success rate,
/// volume, and the three most frequent failure categories (the back office's wallets page).
pub async fn wallets(app: &App, q: &Query) -> Result<Vec<Value>, ApiError> {
    let rows = q.read(app, q.from_hour, q.to_hour).await?;
    let mut by: BTreeMap<(Country, WalletId, Provider), Counts> = BTreeMap::new();
    for (b, c) in &rows {
        by.entry((b.country, b.wallet, b.provider))
            .or_default()
            .add(c);
    }
    Ok(by
        .into_iter()
        .map(|((country, wallet, provider), c)| {
            let mut top: Vec<(String, u64)> = c
                .failures
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), *v))
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            top.truncate(3);
            json!({
                "country": country, "wallet": wallet, "provider": provider,
                "attempts": c.own_attempts(), "successes": c.successes, "failures": c.failed(),
                "success_rate_bp": c.success_rate_bp(),
                "volume": c.volume, "currency": country.currency().code(),
                "top_failures": top.into_iter().map(|(k, v)| json!({"category": k, "count": v})).collect::<Vec<_>>(),
            })
        })
        .collect())
}
