//! The request plumbing every function shares: one client per execution environment, the request id,
//! body limits, and one JSON log line per request.

use std::future::Future;
use std::time::Instant;

use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::error::{Error, IdempotencyProblem};
use crate::idempotency::{self, IdempotencyKey, IdempotencyRecord};
use crate::model::{NewOrg, Org, TenantRef, Vendor};
use crate::rate::RateWindow;
use crate::store::{Authenticated, Deleted, OrgChange, Recorder, Store, Updated};
use crate::{deadline, round_trips};

/// Bodies larger than this are refused with 413 before anything else reads them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A header value longer than this is refused with 431 before anything reads it (a Clerk session JWT is
/// about 1 KiB; no credential of the four vendors comes near).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// All headers together (names and values) longer than this are refused with 431: Node's default, as
/// Cal.com's servers have it. API Gateway stops at 10 KiB itself; this holds behind any other front too.
pub const MAX_HEADERS_TOTAL_BYTES: usize = 16 * 1024;

/// Why the request's headers are refused (431), in words for the client; `None` when they are within
/// [`MAX_HEADER_BYTES`] each and [`MAX_HEADERS_TOTAL_BYTES`] in all. Checked first, so that an oversized
/// credential is never digested, decoded or looked up.
pub fn oversized_headers(req: &Request) -> Option<String> {
    let mut total = 0;
    for (name, value) in req.headers() {
        if value.len() > MAX_HEADER_BYTES {
            return Some(format!("Request header '{name}' too large: at most {MAX_HEADER_BYTES} bytes"));
        }
        total += name.as_str().len() + value.len();
    }
    (total > MAX_HEADERS_TOTAL_BYTES)
        .then(|| format!("Request headers too large: at most {MAX_HEADERS_TOTAL_BYTES} bytes in all"))
}

/// What a handler knows about the request beyond the request itself.
#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    /// When the request arrived, Unix milliseconds.
    pub now_ms: i64,
}

/// The Tokio runtime a function runs on: one thread on classic Lambda, which hands an execution environment
/// one request at a time (the multi-thread scheduler's worker threads there only add to every cold start:
/// ~0.5 ms of init CPU measured, ~7 ms of wall time at 128 MB's CPU share); the multi-thread scheduler on
/// Lambda Managed Instances, where `AWS_LAMBDA_MAX_CONCURRENCY` (> 1) requests share the process.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    runtime_for(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref())
}

/// [`runtime`] for the value of `AWS_LAMBDA_MAX_CONCURRENCY`, read as the Lambda runtime reads it.
fn runtime_for(max_concurrency: Option<&str>) -> std::io::Result<tokio::runtime::Runtime> {
    let concurrent =
        max_concurrency.and_then(|limit| limit.parse::<u32>().ok()).is_some_and(|limit| limit > 1);
    let mut builder = match concurrent {
        true => tokio::runtime::Builder::new_multi_thread(),
        false => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build()
}

/// The Lambda entry point of every function: builds the store once (client, timeouts, primed connection)
/// and serves `handler` behind [`serve`].
pub async fn run<H, F>(named: Named, handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static Store, Request, Call) -> F + Send + Sync + Copy + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    #[cfg(feature = "otel")]
    let traces = crate::otel::init(named.function);
    #[cfg(not(feature = "otel"))]
    init_tracing();
    let metrics = init_metrics(named);
    // The store lives as long as the execution environment; leaking it gives handlers a plain reference.
    let store: &'static Store = Box::leak(Box::new(Store::from_env().await));
    store.prime(named.vendor).await;
    // Sequential as ever on classic Lambda; on Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1)
    // that many invocations at once share the store. Each request keeps its own state (the round-trip
    // count is task-local), so the handlers need nothing more.
    let service = lambda_http::service_fn(move |req: Request| async move {
        let response = serve(store, named, req, handler).await;
        // One EMF document per request, after its log line (CloudWatch turns it into the metrics).
        if let Some(metrics) = metrics {
            let _ = metrics.flush(std::io::stdout().lock());
        }
        Ok::<_, std::convert::Infallible>(response)
    });
    // Traces (feature `otel`): each invocation inside the runtime's OpenTelemetry layer.
    #[cfg(feature = "otel")]
    {
        crate::otel::run_concurrent(traces, service).await
    }
    #[cfg(not(feature = "otel"))]
    {
        lambda_http::run_concurrent(service).await
    }
}

/// The Embedded Metric Format recorder behind [`crate::telemetry`], dimensioned by function and vendor;
/// `None` (metrics off, the function serves on) if it cannot be installed.
fn init_metrics(named: Named) -> Option<&'static metrics_cloudwatch_embedded::Collector> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(crate::telemetry::NAMESPACE)
        .with_dimension("function", named.function)
        .with_dimension("vendor", named.vendor.as_str())
        .init()
        .ok()?;
    crate::telemetry::describe();
    Some(collector)
}

/// A `tracing` subscriber for what the runtime itself reports (an event it cannot parse, a handler that
/// panicked, its own errors), as Lambda's advanced logging controls ask: JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, at `AWS_LAMBDA_LOG_LEVEL` (default `INFO`). The per-request line of
/// [`serve`] is written by itself, whatever the level.
#[cfg(not(feature = "otel"))]
fn init_tracing() {
    let (level, json) = log_settings();
    let fmt = tracing_subscriber::fmt().with_target(false).without_time().with_max_level(level);
    // `try_init`: a test or a host that installed a subscriber first keeps it.
    let _ = if json { fmt.json().try_init() } else { fmt.try_init() };
}

/// The level (`AWS_LAMBDA_LOG_LEVEL`, default `INFO`) and whether the lines are JSON
/// (`AWS_LAMBDA_LOG_FORMAT=JSON`) of the runtime's own log lines.
pub(crate) fn log_settings() -> (tracing_subscriber::filter::LevelFilter, bool) {
    use tracing_subscriber::filter::LevelFilter;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    (level, json)
}

/// Runs one request through `handler`: assigns the request id, bounds its DynamoDB calls by
/// [`deadline::REQUEST_BUDGET`], counts DynamoDB round trips, sets `x-request-id`, and writes the
/// request's one JSON log line (no secrets, no bodies).
pub async fn serve<H, F>(store: &'static Store, named: Named, req: Request, handler: H) -> Response<Body>
where
    H: Fn(&'static Store, Request, Call) -> F,
    F: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let call = Call { request_id: request_id(&req), now_ms: crate::clock::now_ms() };
    let request_id = call.request_id.clone();
    // On the heap: a handler's future is large (several awaits deep), and a caller polling it on its own
    // stack (a test's `block_on`) must not overflow it. One allocation per request.
    let work = deadline::within(deadline::REQUEST_BUDGET, Box::pin(handler(store, req, call)));
    let (mut response, trips) = round_trips::counted_requests(work).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status();
    let replayed = response.headers().contains_key(crate::idempotency::REPLAYED_HEADER);
    let code = response.extensions().get::<ErrorCode>().map(|code| code.0);
    let created = response.extensions().get::<Created>().is_some();
    let outcome = outcome(status, code, replayed, created);
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    crate::telemetry::request(outcome, status.is_server_error(), latency_ms);
    let mut line = serde_json::json!({
        "level": if status.is_server_error() { "error" } else if status.is_client_error() { "warn" } else { "info" },
        "function": named.function,
        "vendor": named.vendor.as_str(),
        "route": named.route,
        "status": status.as_u16(),
        "outcome": outcome,
        "replayed": replayed,
        "latency_ms": latency_ms,
        "dynamodb_round_trips": trips.round_trips,
        "dynamodb_requests": trips.requests,
        "request_id": request_id,
    });
    if let Some(code) = code {
        line["error"] = serde_json::Value::from(code);
    }
    if let Some(tenant) = response.extensions().get::<TenantId>() {
        line["tenant"] = serde_json::Value::from(tenant.0.as_str());
    }
    if let Some(cause) = response.extensions().get::<ErrorCause>() {
        line["cause"] = serde_json::Value::from(cause.0.as_str());
    }
    println!("{line}");
    response
}

/// How the log line names an endpoint: its function (crate, binary), vendor and route.
#[derive(Debug, Clone, Copy)]
pub struct Named {
    pub function: &'static str,
    pub vendor: Vendor,
    pub route: &'static str,
}

/// Marks the answer of a create that created (the log line's and the metrics' `created`).
#[derive(Debug, Clone, Copy)]
pub struct Created;

/// The caller's scope (its tenant id: public, never a secret), for the log line.
#[derive(Debug, Clone)]
pub struct TenantId(pub String);

/// What became of a request, in one vocabulary for every vendor: `created` (an organization, [`Created`]),
/// `ok` (any other success: a read, an update), `replayed`, or the domain's error code (`cap_reached`,
/// `slug_taken`, `throttled`, `unauthenticated`, `forbidden`, `invalid`, `too_large`, `unavailable`, …).
pub fn outcome(
    status: StatusCode,
    code: Option<&'static str>,
    replayed: bool,
    created: bool,
) -> &'static str {
    match (code, replayed) {
        (_, true) => "replayed",
        (Some(code), false) => code,
        (None, false) if status.is_success() && created => "created",
        (None, false) if status.is_success() => "ok",
        (None, false) if status.is_server_error() => "unavailable",
        (None, false) => "refused",
    }
}

/// The domain error code a handler attaches to an error response, so the log line names it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl ErrorCode {
    /// The code of a refusal the vendor's envelope gives with `status` where no domain error named one
    /// (a body it cannot read, a header too large, …), in the same vocabulary.
    pub fn of_status(status: StatusCode) -> &'static str {
        match status.as_u16() {
            401 => "unauthenticated",
            403 => "forbidden",
            409 => "slug_taken",
            413 | 431 => "too_large",
            429 => "throttled",
            503 => "unavailable",
            _ => "invalid",
        }
    }
}

/// `reply` with the error code its log line names.
pub fn with_code(mut reply: Response<Body>, code: &'static str) -> Response<Body> {
    reply.extensions_mut().insert(ErrorCode(code));
    reply
}

/// Why a server-side failure happened, for the log line only (the client gets the vendor's 503).
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`); `None` outside API Gateway.
pub fn source_ip(req: &Request) -> Option<&str> {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref().filter(|ip| !ip.is_empty()),
        _ => None,
    }
}

/// API Gateway's request id when there is one, else the Lambda invocation's, else a fresh one.
fn request_id(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty()) {
            return id.to_owned();
        }
    }
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    crate::ids::random_hex(32)
}

/// A JSON response with `status` and `body`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .expect("status and header are valid")
}

/// Why a request body cannot be read as the endpoint's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyProblem {
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// A content type the endpoint does not read (the value as sent).
    UnsupportedType(String),
}

/// The body's kind by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
}

/// The request body as bytes, once its size and content type are known to be acceptable. A body without
/// a content type is read as JSON; `application/json` may carry parameters (`; charset=utf-8`).
pub fn body(req: &Request, accept_form: bool) -> Result<(&[u8], BodyKind), BodyProblem> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyProblem::TooLarge);
    }
    let kind = match req.headers().get("content-type") {
        None => BodyKind::Json,
        Some(value) => {
            let raw = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match essence.as_str() {
                "application/json" => BodyKind::Json,
                "application/x-www-form-urlencoded" if accept_form => BodyKind::Form,
                _ => return Err(BodyProblem::UnsupportedType(raw)),
            }
        }
    };
    Ok((bytes, kind))
}

/// The bearer token of an `Authorization` header, the scheme matched case-insensitively.
/// `None` when the header is absent, not UTF-8, of another scheme, or empty.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Marks a response whose request the rate window needs no more charging for: a committed create (its
/// transaction charged the window) or a refusal for the window itself (not counted).
#[derive(Debug, Clone, Copy)]
pub struct RateSettled;

/// The rate-limited part of a request, after authentication: a full window is refused with `too_many`;
/// otherwise `work` runs, and every answer not marked [`RateSettled`] is charged to the window, except a
/// 5xx: DynamoDB has just failed (waiting on it again would only delay the answer), and a server error is
/// not the caller's doing. With `headers`, every answer carries the vendor's rate-limit headers.
pub async fn metered<W>(
    store: &Store,
    rate: &RateWindow,
    headers: Option<&RateLimitHeaders>,
    too_many: impl FnOnce(&RateWindow) -> Response<Body>,
    work: W,
) -> Response<Body>
where
    W: Future<Output = Response<Body>>,
{
    let mut response = if rate.exceeded() {
        let reply = too_many(rate);
        // A vendor that blocks keeps the caller out for its block from the first refusal on.
        if let Some(block_s) = headers.map(|n| n.block_s).filter(|s| *s > 0 && !rate.blocked()) {
            let _ = store.block(rate, rate.now_s + block_s).await;
        }
        reply
    } else {
        work.await
    };
    if response.extensions().get::<RateSettled>().is_none() && !response.status().is_server_error() {
        // DynamoDB failing here changes no answer: the request was already decided.
        let _ = store.charge(rate).await;
    }
    if let Some(names) = headers {
        rate_limit_headers(&mut response, rate, names);
    }
    response
}

/// A committed create's answer: its transaction charged the rate window.
fn created_text(status: StatusCode, json: String) -> Response<Body> {
    let mut reply = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(json))
        .expect("status and header are valid");
    reply.extensions_mut().insert(RateSettled);
    reply.extensions_mut().insert(Created);
    reply
}

/// A request's `Idempotency-Key` (bound to its caller and to the request) and, when one is live, the
/// record of the create it already made.
#[derive(Debug, Default)]
pub struct Idempotency {
    pub key: Option<IdempotencyKey>,
    pub prior: Option<IdempotencyRecord>,
}

impl Idempotency {
    /// The first answer again when the key already has a record: `None` when there is nothing to replay,
    /// `Err` when the key was used for another request.
    pub fn replay(&self) -> Option<Result<Response<Body>, Error>> {
        let (key, record) = (self.key.as_ref()?, self.prior.as_ref()?);
        Some(replayed(key, record))
    }
}

/// The request's `Idempotency-Key`, bound to the caller's `scope` (see [`IdempotencyKey::new`]) and to
/// this request's path and body; `Ok(None)` when it sends none.
pub fn idempotency_key(
    req: &Request,
    vendor: Vendor,
    scope: &[&str],
) -> Result<Option<IdempotencyKey>, Error> {
    let Some(value) = req.headers().get(idempotency::HEADER) else { return Ok(None) };
    let key = value.to_str().map_err(|_| Error::Idempotency(IdempotencyProblem::Malformed))?;
    IdempotencyKey::new(vendor, key, scope, req.uri().path(), req.body().as_ref()).map(Some)
}

/// Authentication by the secrets presented ([`Store::authenticate_for`]) with the request's
/// `Idempotency-Key` bound to them, in one round trip. The key's own problem (malformed) comes second, for
/// the vendor to report after the credentials have been judged.
pub async fn authenticate(
    store: &Store,
    req: &Request,
    vendor: Vendor,
    secrets: &[&str],
) -> Result<(Authenticated, Result<Idempotency, Error>), Error> {
    let rate_key = crate::rate::key_of(vendor, secrets.first().copied().unwrap_or_default());
    authenticate_metered(store, req, vendor, secrets, &rate_key, None, None).await
}

/// [`authenticate`] metered against `rate_key` rather than the first secret's digest, reading the key's
/// block too for a vendor that blocks (`names.block_s` > 0), and with `org` that organization, all in one
/// round trip.
pub async fn authenticate_metered(
    store: &Store,
    req: &Request,
    vendor: Vendor,
    secrets: &[&str],
    rate_key: &str,
    names: Option<&RateLimitHeaders>,
    org: Option<(&TenantRef, &str)>,
) -> Result<(Authenticated, Result<Idempotency, Error>), Error> {
    let key = idempotency_key(req, vendor, secrets);
    let blocking = names.is_some_and(|n| n.block_s > 0);
    let idempotency = key.as_ref().ok().and_then(Option::as_ref);
    let mut found = store.authenticate_metered(vendor, secrets, rate_key, blocking, idempotency, org).await?;
    let prior = found.prior.take();
    Ok((found, key.map(|key| Idempotency { key, prior })))
}

/// The status of an `Idempotency-Key` problem, for every vendor's envelope.
pub fn idempotency_status(problem: IdempotencyProblem) -> StatusCode {
    StatusCode::from_u16(problem.status()).expect("the problems' statuses are valid")
}

fn replayed(key: &IdempotencyKey, record: &IdempotencyRecord) -> Result<Response<Body>, Error> {
    let answer = key.replay(record)?;
    Ok(Response::builder()
        .status(answer.status)
        .header("content-type", "application/json")
        .header(idempotency::REPLAYED_HEADER, "true")
        .body(Body::Text(answer.body))
        .expect("a stored status and a JSON body"))
}

/// The create, at most once per `Idempotency-Key`: with a key, the answer (`status`, `body`) is recorded,
/// sealed, by the create's own transaction. A duplicate that lost the race to its twin gets the twin's
/// answer, from the record its failed transaction returned: two round trips, and not charged again (the
/// twin's transaction charged the window for the request they both are). Any other failure is the
/// vendor's to word.
pub async fn create_once(
    store: &Store,
    mut new: NewOrg,
    key: Option<&IdempotencyKey>,
    status: StatusCode,
    body: &serde_json::Value,
) -> Result<Response<Body>, Error> {
    let text = body.to_string();
    if let Some(key) = key {
        new.idempotency = Some(key.record(status.as_u16(), &text, new.org.created_ms.div_euclid(1_000)));
    }
    match store.create_org_or_twin(&new).await {
        Ok(None) => Ok(created_text(status, text)),
        Ok(Some(record)) => {
            let key = key.expect("only a create with a key writes a record");
            let mut reply = replayed(key, &record)?;
            reply.extensions_mut().insert(RateSettled);
            Ok(reply)
        }
        // The record did not come back with the cancellation: read it.
        Err(Error::Idempotency(IdempotencyProblem::Concurrent)) => {
            twin_since(store, key).await?.ok_or(Error::Idempotency(IdempotencyProblem::Concurrent))
        }
        Err(err) => Err(err),
    }
}

/// An answer made from an organization: what an update or a delete gives, and records for its key.
pub trait Answer: Fn(&Org) -> (StatusCode, serde_json::Value) + Send + Sync {}
impl<F: Fn(&Org) -> (StatusCode, serde_json::Value) + Send + Sync> Answer for F {}

/// The record an update or a delete writes for the request's `Idempotency-Key`, in its own transaction:
/// `answer` for the org as changed, sealed. `None` without a key.
fn recorder<'a>(
    key: Option<&'a IdempotencyKey>,
    now_ms: i64,
    answer: &'a impl Answer,
) -> Option<impl Fn(&Org) -> IdempotencyRecord + Send + Sync + 'a> {
    let key = key?;
    Some(move |org: &Org| {
        let (status, body) = answer(org);
        key.record(status.as_u16(), &body.to_string(), now_ms.div_euclid(1_000))
    })
}

/// The answer of the `Idempotency-Key` twin that changed the org first, from its record.
fn twin(key: Option<&IdempotencyKey>, record: &IdempotencyRecord) -> Result<Response<Body>, Error> {
    replayed(key.ok_or(Error::Idempotency(IdempotencyProblem::Concurrent))?, record)
}

/// A delete at most once per `Idempotency-Key` ([`Store::delete_org_once`]): `Ok(Ok(answer))` once it is
/// deleted (or its twin's answer, when a duplicate lost the race), `Ok(Err(what))` for the vendor to
/// refuse (not found, still holds orgs).
pub async fn delete_once(
    store: &Store,
    tenant: &TenantRef,
    org_id: &str,
    key: Option<&IdempotencyKey>,
    now_ms: i64,
    answer: impl Answer,
) -> Result<Result<Response<Body>, Deleted>, Error> {
    let record = recorder(key, now_ms, &answer);
    match store.delete_org_once(tenant, org_id, record.as_ref().map(|r| r as Recorder)).await? {
        Deleted::Deleted { org, .. } => {
            let (status, body) = answer(&org);
            Ok(Ok(json_response(status, &body)))
        }
        Deleted::Twin(record) => twin(key, &record).map(Ok),
        Deleted::NotFound => twin_since(store, key).await.map(|found| found.ok_or(Deleted::NotFound)),
        other => Ok(Err(other)),
    }
}

/// An update at most once per `Idempotency-Key` ([`Store::update_org_once`]), as [`delete_once`]:
/// `Ok(Ok(answer))` for the updated org (or the twin's answer), `Ok(Err(what))` for the vendor to refuse.
pub async fn update_once(
    store: &Store,
    (tenant, slug_scope, org_id): (&TenantRef, &TenantRef, &str),
    change: impl Fn(&Org) -> OrgChange,
    key: Option<&IdempotencyKey>,
    now_ms: i64,
    answer: impl Answer,
) -> Result<Result<Response<Body>, Updated>, Error> {
    let record = recorder(key, now_ms, &answer);
    let record = record.as_ref().map(|r| r as Recorder);
    match store.update_org_once(tenant, slug_scope, org_id, change, record).await? {
        Updated::Updated(org) => {
            let (status, body) = answer(&org);
            Ok(Ok(json_response(status, &body)))
        }
        Updated::Twin(record) => twin(key, &record).map(Ok),
        Updated::NotFound => twin_since(store, key).await.map(|found| found.ok_or(Updated::NotFound)),
        other => Ok(Err(other)),
    }
}

/// The answer of the request's `Idempotency-Key` twin, from its record read now (one more round trip, on
/// rare paths only): a create whose cancellation did not bring the record back, or a change that found no
/// org because a twin deleted it after this request's authentication read. `None` when there is no record.
async fn twin_since(store: &Store, key: Option<&IdempotencyKey>) -> Result<Option<Response<Body>>, Error> {
    let Some(key) = key else { return Ok(None) };
    match store.idempotency_record(key).await? {
        Some(record) => twin(Some(key), &record).map(Some),
        None => Ok(None),
    }
}

/// A vendor's 429 answer made complete: `Retry-After` until the window ends (`RateWindow::reset_s`, or
/// `Error::Throttled`'s `retry_after_s` when the transaction found the window full), and not charged.
pub fn throttled(mut reply: Response<Body>, retry_after_s: u32) -> Response<Body> {
    reply.headers_mut().insert("retry-after", retry_after_s.into());
    reply.extensions_mut().insert(RateSettled);
    reply
}

/// The names a vendor gives its rate-limit headers, and any headers of fixed value that go with them.
pub struct RateLimitHeaders {
    pub limit: &'static str,
    pub remaining: &'static str,
    pub reset: &'static str,
    pub fixed: &'static [(&'static str, &'static str)],
    /// Seconds a caller stays refused after its first refusal, whatever the window (Cal.com's throttler:
    /// 60); 0 for vendors that only count windows.
    pub block_s: i64,
}

/// Rate-limit headers on an answer to an authenticated caller while limiting is on. `reset` counts seconds
/// until the window ends; nothing remains once a request was refused for the window.
fn rate_limit_headers(reply: &mut Response<Body>, rate: &RateWindow, names: &RateLimitHeaders) {
    if !rate.enabled() {
        return;
    }
    let remaining = if reply.status() == StatusCode::TOO_MANY_REQUESTS { 0 } else { rate.remaining() };
    let headers = reply.headers_mut();
    headers.insert(names.limit, rate.limit.into());
    headers.insert(names.remaining, remaining.into());
    headers.insert(names.reset, rate.reset_s().into());
    for (name, value) in names.fixed {
        headers.insert(*name, HeaderValue::from_static(value));
    }
}

/// A header's value, trimmed; `None` when absent, empty or not text.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    /// Classic Lambda (one request at a time) runs on one thread; Lambda Managed Instances, whose requests
    /// share the process, on the multi-thread scheduler.
    #[test]
    fn the_runtime_has_threads_only_for_concurrent_requests() {
        let flavor = |limit| runtime_for(limit).expect("a runtime").handle().runtime_flavor();
        for classic in [None, Some("1"), Some("0"), Some("many")] {
            assert_eq!(flavor(classic), RuntimeFlavor::CurrentThread, "{classic:?}");
        }
        assert_eq!(flavor(Some("8")), RuntimeFlavor::MultiThread);
    }
}
