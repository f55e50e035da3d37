use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use http_body_util::{BodyExt, Limited};
use std::collections::HashMap;
use walletpay_app::payments::{self, MAX_BODY_BYTES};
use walletpay_app::{auth, merchant, notifications, refunds, webhooks, ApiError, App, Reply};
use walletpay_domain::{Lang, MerchantId};

/// Providers batch events; allow more than the API's own 64 KiB.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

fn respond(reply: Reply) -> Response {
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(reply.content_type));
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

fn answer(result: Result<Reply, ApiError>) -> Response {
    respond(result.unwrap_or_else(|e| e.to_reply()))
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            413,
            "body_too_large",
            format!("The body is larger than {} KiB.", limit / 1024),
        )),
        Err(e) => Err(ApiError::new(
            400,
            "body_unreadable",
            format!("The body could not be read: {e}"),
        )),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The language failures are explained in: `Accept-Language`, else the payment's country.
fn lang(headers: &HeaderMap) -> Option<Lang> {
    header(headers, "accept-language").and_then(Lang::from_accept_language)
}

/// The authenticated merchant behind a request, and the language it asked for. Extracted
/// before anything else, so an unauthenticated request costs one key lookup.
struct Caller {
    merchant: MerchantId,
    lang: Option<Lang>,
}

impl FromRequestParts<App> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let merchant =
            auth::authenticate(app.store.as_ref(), header(&parts.headers, "authorization"))
                .await
                .map_err(|e| respond(e.to_reply()))?;
        if let Err(wait) = walletpay_app::rate_limit::admit(app, &merchant).await {
            let e = ApiError::new(
                429,
                "rate_limited",
                "Too many requests from this shop at once. Retry after the time in Retry-After.",
            );
            return Err(respond(
                e.to_reply().with_header("retry-after", wait.to_string()),
            ));
        }
        Ok(Caller {
            merchant,
            lang: lang(&parts.headers),
        })
    }
}

/// A merchant or an operator: the reconciliation routes take both (and decide what each
/// may see).
struct Anyone(auth::Principal);

impl FromRequestParts<App> for Anyone {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        auth::authenticate_principal(app.store.as_ref(), header(&parts.headers, "authorization"))
            .await
            .map(Anyone)
            .map_err(|e| respond(e.to_reply()))
    }
}

/// A merchant or an operator, and the name its changes are audited under.
struct Acting {
    principal: auth::Principal,
    actor: String,
}

impl FromRequestParts<App> for Acting {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let header = header(&parts.headers, "authorization");
        let principal = auth::authenticate_principal(app.store.as_ref(), header)
            .await
            .map_err(|e| respond(e.to_reply()))?;
        let actor = auth::actor(&principal, header);
        Ok(Acting { principal, actor })
    }
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str)
}

async fn create_payment(
    State(app): State<App>,
    c: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let key = header(&headers, "idempotency-key");
            // Check the key before reading the body, so a missing key costs nothing.
            payments::check_idempotency_key(key)?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            payments::create_payment(&app, &c.merchant, key, &body, c.lang).await
        }
        .await,
    )
}

async fn providers_health(State(app): State<App>, c: Caller) -> Response {
    answer(walletpay_app::routing::health(&app, &c.merchant).await)
}

async fn list_wallets(State(app): State<App>, c: Caller, Query(q): Params) -> Response {
    answer(
        walletpay_app::wallets::list_wallets(
            &app,
            &c.merchant,
            param(&q, "country"),
            param(&q, "amount"),
            param(&q, "currency"),
            c.lang,
        )
        .await,
    )
}

async fn get_payment(
    State(app): State<App>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    answer(
        async {
            let refresh = match param(&q, "refresh") {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => {
                    return Err(ApiError::new(
                        400,
                        "invalid_parameter",
                        "`refresh` is true or false.",
                    )
                    .field("refresh"))
                }
            };
            payments::get_payment(&app, &c.merchant, &id, refresh, c.lang).await
        }
        .await,
    )
}

async fn list_payments(State(app): State<App>, c: Caller, Query(q): Params) -> Response {
    let params = payments::ListParams {
        status: param(&q, "status"),
        wallet: param(&q, "wallet"),
        country: param(&q, "country"),
        created_after: param(&q, "created_after"),
        created_before: param(&q, "created_before"),
        limit: param(&q, "limit"),
        cursor: param(&q, "cursor"),
    };
    answer(payments::list_payments(&app, &c.merchant, &params, c.lang).await)
}

async fn payment_events(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
    answer(payments::payment_events(&app, &c.merchant, &id).await)
}

async fn cancel_payment(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
    answer(payments::cancel_payment(&app, &c.merchant, &id, c.lang).await)
}

async fn list_events(State(app): State<App>, c: Caller, Query(q): Params) -> Response {
    answer(
        notifications::list_events(&app, &c.merchant, param(&q, "after"), param(&q, "limit")).await,
    )
}

async fn redeliver_event(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
    answer(notifications::redeliver(&app, &c.merchant, &id).await)
}

async fn get_merchant(State(app): State<App>, c: Caller) -> Response {
    answer(merchant::get_merchant(&app, &c.merchant).await)
}

async fn update_merchant(State(app): State<App>, c: Caller, body: Body) -> Response {
    answer(
        async {
            let body = read_body(body, MAX_BODY_BYTES).await?;
            merchant::update_merchant(&app, &c.merchant, &body).await
        }
        .await,
    )
}

async fn rotate_webhook_secret(State(app): State<App>, c: Caller) -> Response {
    answer(merchant::rotate_webhook_secret(&app, &c.merchant).await)
}

async fn create_refund(
    State(app): State<App>,
    c: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let key = header(&headers, "idempotency-key");
            payments::check_idempotency_key(key)?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            refunds::create_refund(&app, &c.merchant, &id, key, &body, c.lang).await
        }
        .await,
    )
}

async fn list_refunds(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
    answer(refunds::list_refunds(&app, &c.merchant, &id, c.lang).await)
}

async fn get_refund(
    State(app): State<App>,
    c: Caller,
    Path((id, refund_id)): Path<(String, String)>,
) -> Response {
    answer(refunds::get_refund(&app, &c.merchant, &id, &refund_id, c.lang).await)
}

async fn receive_webhook(
    State(app): State<App>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let body = read_body(body, MAX_WEBHOOK_BYTES).await?;
            webhooks::receive_webhook(&app, &provider, &headers, &body).await
        }
        .await,
    )
}

mod reconciliation {
    use super::*;
    use walletpay_app::reconcile::api;

    async fn list_runs(State(app): State<App>, a: Anyone, Query(q): Params) -> Response {
        answer(
            api::list_runs(
                &app,
                &a.0,
                param(&q, "provider"),
                param(&q, "from"),
                param(&q, "to"),
            )
            .await,
        )
    }

    async fn start_run(State(app): State<App>, a: Anyone, body: Body) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::start_run(&app, &a.0, &body).await
            }
            .await,
        )
    }

    async fn get_run(State(app): State<App>, a: Anyone, Path(id): Path<String>) -> Response {
        answer(api::get_run(&app, &a.0, &id).await)
    }

    async fn report(State(app): State<App>, a: Anyone, Path(id): Path<String>) -> Response {
        answer(api::run_report(&app, &a.0, &id).await)
    }

    async fn week(
        State(app): State<App>,
        a: Anyone,
        Path((provider, week)): Path<(String, String)>,
    ) -> Response {
        answer(api::week(&app, &a.0, &provider, &week).await)
    }

    async fn list_discrepancies(State(app): State<App>, a: Anyone, Query(q): Params) -> Response {
        let params = api::ListParams {
            status: param(&q, "status"),
            provider: param(&q, "provider"),
            class: param(&q, "class"),
            merchant: param(&q, "merchant"),
            limit: param(&q, "limit"),
            cursor: param(&q, "cursor"),
        };
        answer(api::list_discrepancies(&app, &a.0, &params).await)
    }

    async fn get_discrepancy(
        State(app): State<App>,
        a: Anyone,
        Path(id): Path<String>,
    ) -> Response {
        answer(api::get_discrepancy(&app, &a.0, &id).await)
    }

    async fn resolve(
        State(app): State<App>,
        a: Anyone,
        Path(id): Path<String>,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::resolve(&app, &a.0, &id, &body).await
            }
            .await,
        )
    }

    async fn resolve_bulk(State(app): State<App>, a: Anyone, body: Body) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::resolve_bulk(&app, &a.0, &body).await
            }
            .await,
        )
    }

    async fn get_contract(
        State(app): State<App>,
        a: Anyone,
        Path(provider): Path<String>,
    ) -> Response {
        answer(api::get_contract(&app, &a.0, &provider).await)
    }

    async fn put_contract(
        State(app): State<App>,
        a: Anyone,
        Path(provider): Path<String>,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::put_contract(&app, &a.0, &provider, &body).await
            }
            .await,
        )
    }

    pub(super) fn routes() -> Router<App> {
        Router::new()
            .route("/v1/reconciliation/runs", get(list_runs).post(start_run))
            .route("/v1/reconciliation/runs/{id}", get(get_run))
            .route("/v1/reconciliation/runs/{id}/report.csv", get(report))
            .route("/v1/reconciliation/weeks/{provider}/{week}", get(week))
            .route("/v1/reconciliation/discrepancies", get(list_discrepancies))
            .route(
                "/v1/reconciliation/discrepancies/resolve",
                post(resolve_bulk),
            )
            .route(
                "/v1/reconciliation/discrepancies/{id}",
                get(get_discrepancy),
            )
            .route(
                "/v1/reconciliation/discrepancies/{id}/resolve",
                post(resolve),
            )
            .route(
                "/v1/reconciliation/contracts/{provider}",
                get(get_contract).put(put_contract),
            )
    }
}

mod risk {
    use super::*;
    use walletpay_app::risk::api;

    fn who(a: &Acting) -> api::Who<'_> {
        api::Who {
            principal: &a.principal,
            actor: &a.actor,
        }
    }

    async fn get_config(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(api::get_config(&app, &a.principal, param(&q, "merchant")).await)
    }

    async fn put_config(
        State(app): State<App>,
        a: Acting,
        Query(q): Params,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::put_config(&app, &who(&a), param(&q, "merchant"), &body).await
            }
            .await,
        )
    }

    async fn add_entries(
        State(app): State<App>,
        a: Acting,
        Path(list): Path<String>,
        Query(q): Params,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, api::MAX_IMPORT_BYTES).await?;
                api::add_entries(
                    &app,
                    &who(&a),
                    param(&q, "merchant"),
                    &list,
                    header(&headers, "content-type"),
                    &body,
                )
                .await
            }
            .await,
        )
    }

    async fn list_entries(
        State(app): State<App>,
        a: Acting,
        Path(list): Path<String>,
        Query(q): Params,
    ) -> Response {
        answer(
            api::list_entries(
                &app,
                &a.principal,
                param(&q, "merchant"),
                &list,
                param(&q, "cursor"),
                param(&q, "limit"),
            )
            .await,
        )
    }

    async fn delete_entries(
        State(app): State<App>,
        a: Acting,
        Path(list): Path<String>,
        Query(q): Params,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, api::MAX_IMPORT_BYTES).await?;
                let one = match (param(&q, "kind"), param(&q, "value")) {
                    (Some(k), Some(v)) => Some((k, v)),
                    (None, None) => None,
                    _ => {
                        return Err(ApiError::new(
                            400,
                            "invalid_parameter",
                            "Name one entry with both `kind` and `value`, or send the entries in the body.",
                        ))
                    }
                };
                api::delete_entries(
                    &app,
                    &who(&a),
                    param(&q, "merchant"),
                    &list,
                    one,
                    header(&headers, "content-type"),
                    &body,
                )
                .await
            }
            .await,
        )
    }

    async fn audit(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(
            api::audit(
                &app,
                &a.principal,
                param(&q, "merchant"),
                param(&q, "cursor"),
                param(&q, "limit"),
            )
            .await,
        )
    }

    async fn backtest(State(app): State<App>, a: Acting, Query(q): Params, body: Body) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                api::backtest(&app, &a.principal, param(&q, "merchant"), &body).await
            }
            .await,
        )
    }

    async fn shadow(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(
            api::shadow(
                &app,
                &a.principal,
                param(&q, "merchant"),
                param(&q, "from"),
                param(&q, "to"),
            )
            .await,
        )
    }

    pub(super) fn routes() -> Router<App> {
        Router::new()
            .route("/v1/risk/config", get(get_config).put(put_config))
            .route(
                "/v1/risk/lists/{list}",
                post(add_entries).get(list_entries).delete(delete_entries),
            )
            .route("/v1/risk/audit", get(audit))
            .route("/v1/risk/backtest", post(backtest))
            .route("/v1/risk/shadow", get(shadow))
    }
}

async fn create_checkout_session(
    State(app): State<App>,
    c: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let key = header(&headers, "idempotency-key");
            payments::check_idempotency_key(key)?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            walletpay_app::checkout::create_session(&app, &c.merchant, key, &body).await
        }
        .await,
    )
}

async fn get_checkout_session(
    State(app): State<App>,
    c: Caller,
    Path(id): Path<String>,
) -> Response {
    answer(walletpay_app::checkout::get_session(&app, &c.merchant, &id).await)
}

mod analytics {
    use super::*;
    use walletpay_app::analytics::api;

    async fn summary(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(
            async {
                let query = api::parse(&app, &a.principal, &q, None)?;
                api::summary(&app, &query).await
            }
            .await,
        )
    }

    async fn timeseries(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(
            async {
                let query = api::parse(&app, &a.principal, &q, param(&q, "interval"))?;
                api::timeseries(&app, &query, param(&q, "metric")).await
            }
            .await,
        )
    }

    async fn failures(
        State(app): State<App>,
        a: Acting,
        headers: HeaderMap,
        Query(q): Params,
    ) -> Response {
        answer(
            async {
                let query = api::parse(&app, &a.principal, &q, None)?;
                api::failures(&app, &query, param(&q, "group_by"), lang(&headers)).await
            }
            .await,
        )
    }

    async fn refunds(State(app): State<App>, a: Acting, Query(q): Params) -> Response {
        answer(
            async {
                let query = api::parse(&app, &a.principal, &q, None)?;
                api::refunds(&app, &query).await
            }
            .await,
        )
    }

    pub(super) fn routes() -> Router<App> {
        Router::new()
            .route("/v1/analytics/summary", get(summary))
            .route("/v1/analytics/timeseries", get(timeseries))
            .route("/v1/analytics/failures", get(failures))
            .route("/v1/analytics/refunds", get(refunds))
    }
}

mod onboarding {
    use super::*;
    use walletpay_app::onboarding;

    async fn get_one(State(app): State<App>, a: Acting, Path(m): Path<String>) -> Response {
        answer(onboarding::get(&app, &a.principal, &m).await)
    }

    async fn put_one(
        State(app): State<App>,
        a: Acting,
        Path((m, provider)): Path<(String, String)>,
        body: Body,
    ) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                onboarding::put(&app, &a.principal, &a.actor, &m, &provider, &body).await
            }
            .await,
        )
    }

    pub(super) fn routes() -> Router<App> {
        Router::new()
            .route("/v1/onboarding/{merchant}", get(get_one))
            .route("/v1/onboarding/{merchant}/{provider}", put(put_one))
    }
}

mod incentives {
    use super::*;
    use walletpay_app::checkout::incentives;

    async fn create(State(app): State<App>, c: Caller, body: Body) -> Response {
        answer(
            async {
                let body = read_body(body, MAX_BODY_BYTES).await?;
                incentives::create(&app, &c.merchant, &body).await
            }
            .await,
        )
    }

    async fn list(State(app): State<App>, c: Caller) -> Response {
        answer(incentives::list(&app, &c.merchant).await)
    }

    async fn get_one(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
        answer(incentives::get(&app, &c.merchant, &id).await)
    }

    async fn disable(State(app): State<App>, c: Caller, Path(id): Path<String>) -> Response {
        answer(incentives::disable(&app, &c.merchant, &id).await)
    }

    pub(super) fn routes() -> Router<App> {
        Router::new()
            .route("/v1/incentives", post(create).get(list))
            .route("/v1/incentives/{id}", get(get_one))
            .route("/v1/incentives/{id}/disable", post(disable))
    }
}

async fn review_payment(
    State(app): State<App>,
    c: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(
        async {
            let body = read_body(body, MAX_BODY_BYTES).await?;
            let actor = auth::actor(
                &auth::Principal::Merchant(c.merchant.clone()),
                header(&headers, "authorization"),
            );
            payments::review_payment(&app, &c.merchant, &actor, &id, &body, c.lang).await
        }
        .await,
    )
}

async fn report_fraud(
    State(app): State<App>,
    c: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    answer(
        async {
            let body = read_body(body, MAX_BODY_BYTES).await?;
            payments::report_fraud(&app, &c.merchant, &id, &body, c.lang).await
        }
        .await,
    )
}

async fn not_found() -> Response {
    respond(ApiError::new(404, "route_not_found", "There is no such route.").to_reply())
}

fn method_not_allowed() -> Response {
    respond(
        ApiError::new(
            405,
            "method_not_allowed",
            "That method is not allowed on this route.",
        )
        .to_reply(),
    )
}

fn finish(router: Router<App>, app: App) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { method_not_allowed() })
        .with_state(app)
}

fn payment_routes() -> Router<App> {
    Router::new()
        .route("/v1/payments", post(create_payment).get(list_payments))
        .route("/v1/payments/{id}/events", get(payment_events))
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/cancel", post(cancel_payment))
        .route("/v1/payments/{id}/review", post(review_payment))
        .route("/v1/payments/{id}/fraud-report", post(report_fraud))
        .route("/v1/checkout/sessions", post(create_checkout_session))
        .route("/v1/checkout/sessions/{id}", get(get_checkout_session))
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}/redeliver", post(redeliver_event))
        .route("/v1/merchant", get(get_merchant).patch(update_merchant))
        .route("/v1/wallets", get(list_wallets))
        .route("/v1/providers/health", get(providers_health))
        .route("/v1/merchant/webhook-secret", post(rotate_webhook_secret))
}

fn refund_routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/payments/{id}/refunds",
            post(create_refund).get(list_refunds),
        )
        .route("/v1/payments/{id}/refunds/{refund_id}", get(get_refund))
}

fn webhook_routes() -> Router<App> {
    Router::new().route("/v1/webhooks/{provider}", post(receive_webhook))
}

/// The routes of the `create-payment` function (the API's own routes: payments, the shop's
/// settings, reconciliation, risk control).
pub fn payments_router(app: App) -> Router {
    finish(
        payment_routes()
            .merge(reconciliation::routes())
            .merge(risk::routes())
            .merge(incentives::routes())
            .merge(analytics::routes())
            .merge(onboarding::routes()),
        app,
    )
}

/// The routes of the `refund` function.
pub fn refunds_router(app: App) -> Router {
    finish(refund_routes(), app)
}

/// The routes of the `wallet-webhook` function.
pub fn webhooks_router(app: App) -> Router {
    finish(webhook_routes(), app)
}

/// The routes of the `dashboard` function: the back office.
pub fn dashboard_router(app: App) -> Router {
    finish(walletpay_dashboard::routes(), app)
}

/// The routes of the `checkout` function: the buyer's hosted checkout page.
pub fn checkout_router(app: App) -> Router {
    finish(walletpay_checkout_page::routes(), app)
}

/// Every route, as API Gateway maps them (the local stack serves this).
pub fn router(app: App) -> Router {
    finish(
        payment_routes()
            .merge(reconciliation::routes())
            .merge(risk::routes())
            .merge(incentives::routes())
            .merge(analytics::routes())
            .merge(onboarding::routes())
            .merge(refund_routes())
            .merge(webhook_routes())
            .merge(walletpay_checkout_page::routes())
            .merge(walletpay_dashboard::routes()),
        app,
    )
}
