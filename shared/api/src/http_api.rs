use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, Limited};
use std::collections::HashMap;
use walletpay_app::payments::{self, MAX_BODY_BYTES};
use walletpay_app::{auth, merchant, notifications, refunds, webhooks, ApiError, App, Reply};
use walletpay_domain::Lang;

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

async fn create_payment(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            // Check the key before reading the body, so a missing key costs nothing.
            payments::check_idempotency_key(header(&headers, "idempotency-key"))?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            payments::create_payment(
                &app,
                &merchant,
                header(&headers, "idempotency-key"),
                &body,
                lang(&headers),
            )
            .await
        }
        .await,
    )
}

async fn get_payment(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            let refresh = match query.get("refresh").map(String::as_str) {
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
            payments::get_payment(&app, &merchant, &id, refresh, lang(&headers)).await
        }
        .await,
    )
}

async fn list_payments(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            let get = |k: &str| q.get(k).map(String::as_str);
            let params = payments::ListParams {
                status: get("status"),
                wallet: get("wallet"),
                country: get("country"),
                created_after: get("created_after"),
                created_before: get("created_before"),
                limit: get("limit"),
                cursor: get("cursor"),
            };
            payments::list_payments(&app, &merchant, &params, lang(&headers)).await
        }
        .await,
    )
}

async fn payment_events(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            payments::payment_events(&app, &merchant, &id).await
        }
        .await,
    )
}

async fn cancel_payment(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            payments::cancel_payment(&app, &merchant, &id, lang(&headers)).await
        }
        .await,
    )
}

async fn create_refund(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            payments::check_idempotency_key(header(&headers, "idempotency-key"))?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            refunds::create_refund(
                &app,
                &merchant,
                &id,
                header(&headers, "idempotency-key"),
                &body,
                lang(&headers),
            )
            .await
        }
        .await,
    )
}

async fn list_refunds(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            refunds::list_refunds(&app, &merchant, &id, lang(&headers)).await
        }
        .await,
    )
}

async fn get_refund(
    State(app): State<App>,
    headers: HeaderMap,
    Path((id, refund_id)): Path<(String, String)>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            refunds::get_refund(&app, &merchant, &id, &refund_id, lang(&headers)).await
        }
        .await,
    )
}

async fn list_events(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            notifications::list_events(
                &app,
                &merchant,
                q.get("after").map(String::as_str),
                q.get("limit").map(String::as_str),
            )
            .await
        }
        .await,
    )
}

async fn redeliver_event(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            notifications::redeliver(&app, &merchant, &id).await
        }
        .await,
    )
}

async fn get_merchant(State(app): State<App>, headers: HeaderMap) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            merchant::get_merchant(&app, &merchant).await
        }
        .await,
    )
}

async fn update_merchant(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            let body = read_body(body, MAX_BODY_BYTES).await?;
            merchant::update_merchant(&app, &merchant, &body).await
        }
        .await,
    )
}

async fn rotate_webhook_secret(State(app): State<App>, headers: HeaderMap) -> Response {
    answer(
        async {
            let merchant =
                auth::authenticate(app.store.as_ref(), header(&headers, "authorization")).await?;
            merchant::rotate_webhook_secret(&app, &merchant).await
        }
        .await,
    )
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
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}/redeliver", post(redeliver_event))
        .route("/v1/merchant", get(get_merchant).patch(update_merchant))
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

/// The routes of the `create-payment` function.
pub fn payments_router(app: App) -> Router {
    finish(payment_routes(), app)
}

/// The routes of the `refund` function.
pub fn refunds_router(app: App) -> Router {
    finish(refund_routes(), app)
}

/// The routes of the `wallet-webhook` function.
pub fn webhooks_router(app: App) -> Router {
    finish(webhook_routes(), app)
}

/// Every route, as API Gateway maps them (the local stack serves this).
pub fn router(app: App) -> Router {
    finish(
        payment_routes()
            .merge(refund_routes())
            .merge(webhook_routes()),
        app,
    )
}
