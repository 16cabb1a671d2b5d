//! Fixtures for the end-to-end tests: a fresh table in DynamoDB Local per test, tenants provisioned as the
//! CLI provisions them, API Gateway v2 events from `events/`, and a plain HTTP client.

pub mod faults;
pub mod kms;
pub mod load;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use orgmint::{ids, Store, Vendor};
use orgmint_cli::vendors::{self, Provisioned, TenantOptions};
use serde_json::Value;

pub use orgmint_cli::vendors::TenantOptions as Options;

/// Taken by every heavy test (a `cargo lambda watch`, `make dev`, a load, a fault proxy) for its whole run:
/// on CI's 2 cores two of them at once starve DynamoDB Local into timeouts that say nothing about orgmint.
/// Light tests run beside the one heavy test.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// A store over a table of its own in DynamoDB Local, so tests run in parallel without seeing each other.
pub async fn store() -> &'static Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "the end-to-end tests run against DynamoDB Local: run them with `make test`"
    );
    let base = Store::from_env().await;
    let store = Store::new(base.client().clone(), format!("test-{}", ids::random_hex(12)));
    // Not asserting that it was new: under load the SDK may retry a CreateTable whose first attempt timed
    // out after DynamoDB Local applied it, and the retry then finds the table (48 random bits: not a clash).
    store.create_table().await.expect("create the test table");
    Box::leak(Box::new(store))
}

/// A tenant made exactly as `orgmint tenant create` makes it.
pub async fn tenant(store: &Store, options: &TenantOptions) -> Provisioned {
    vendors::provision(store, options).await.expect("provision a tenant")
}

/// The value of the tenant's `Authorization` header.
pub fn authorization(p: &Provisioned) -> String {
    p.headers["Authorization"].as_str().expect("an Authorization header").to_owned()
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An event of `events/` as JSON, to adjust before turning it into a request.
pub fn event(name: &str) -> Value {
    let path = root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("events are JSON")
}

/// The request the Lambda runtime would hand the function for this API Gateway v2 event.
pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// An event with its headers and body replaced.
pub fn with(mut event: Value, headers: &[(&str, Option<&str>)], body: Option<&str>) -> Value {
    for (name, value) in headers {
        match value {
            Some(v) => event["headers"][*name] = Value::from(*v),
            None => {
                event["headers"].as_object_mut().expect("headers").remove(*name);
            }
        }
    }
    if let Some(body) = body {
        event["body"] = Value::from(body);
    }
    event
}

/// Headers that carry credentials in some vendor's dialect: replaced by the tenant's own.
const CREDENTIAL_HEADERS: [&str; 6] =
    ["authorization", "cookie", "dd-api-key", "dd-application-key", "x-cal-client-id", "x-cal-secret-key"];

/// The vendor's success event aimed at a provisioned tenant: its path, its credentials and content type,
/// `extra` headers, and its sample body unless `body` is given.
pub fn tenant_event(p: &Provisioned, extra: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut ev = event(&format!("{}-create-success", p.tenant.tenant.vendor));
    let headers = ev["headers"].as_object_mut().expect("headers");
    headers.retain(|name, _| !CREDENTIAL_HEADERS.contains(&name.as_str()));
    for (name, value) in &p.headers {
        headers.insert(name.to_ascii_lowercase(), value.clone());
    }
    headers.insert("content-type".into(), Value::from(p.content_type));
    for (name, value) in extra {
        headers.insert(name.to_ascii_lowercase(), Value::from(*value));
    }
    orgmint_cli::events::aim(&mut ev, &p.path);
    if let Some(params) = ev.get_mut("pathParameters").and_then(Value::as_object_mut) {
        // Cal.com's `{orgId}`: the third segment of its path.
        if let Some(org_id) = p.path.split('/').nth(3) {
            params.insert("orgId".into(), Value::from(org_id));
        }
    }
    ev["body"] = Value::from(body.unwrap_or(&p.sample_body));
    ev["isBase64Encoded"] = Value::from(false);
    ev
}

/// The real handler of `vendor`'s function for an event.
pub async fn call(store: &'static Store, vendor: Vendor, event: &Value) -> Response<Body> {
    handle(vendor, store, request(event)).await
}

/// The message of an error answer in `vendor`'s envelope; `None` when the body is not that envelope.
pub fn error_message(vendor: Vendor, body: &Value) -> Option<String> {
    let text = match vendor {
        Vendor::Devin => body["detail"].as_str(),
        Vendor::Datadog => body["errors"][0].as_str(),
        Vendor::Calcom => body["error"]["message"].as_str().filter(|_| body["status"] == "error"),
        Vendor::Clerk => {
            body["errors"][0]["long_message"].as_str().filter(|_| body["clerk_trace_id"].is_string())
        }
    };
    text.map(str::to_owned)
}

/// The secret a successful create minted and shows once, where the vendor mints one.
pub fn minted_secret(vendor: Vendor, body: &Value) -> Option<String> {
    let secret = match vendor {
        Vendor::Datadog => body["api_key"]["key"].as_str(),
        Vendor::Calcom => body["data"]["apiKey"].as_str(),
        Vendor::Clerk | Vendor::Devin => None,
    };
    secret.map(str::to_owned)
}

pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

/// Fails with every broken invariant of the table.
pub async fn assert_sound(store: &Store) {
    let inventory = store.inventory().await.expect("scan the table");
    let violations = orgmint::verify::violations(&inventory);
    assert!(violations.is_empty(), "invariants broken: {violations:#?}");
}

/// A minimal HTTP/1.1 client: one request per connection. Returns status, lower-cased headers and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    http_bytes(port, method, path, headers, body.as_bytes())
}

/// [`http`] with a body of any bytes.
pub fn http_bytes(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // Generous: watch starts a function with `cargo run`, which waits for any other cargo holding its locks.
    stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    (status, headers, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// Runs the futures concurrently as tasks of the runtime; their outputs in the order given.
pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, f) in futures.into_iter().enumerate() {
        set.spawn(async move { (i, f.await) });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        out.push(done.expect("no task panics"));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

// ---- every vendor alike: callers, requests, handlers and error envelopes ----------------------------

/// A provisioned tenant as a client sees it: the path it creates at and exactly the headers it
/// authenticates with (what `orgmint tenant create --json` prints).
#[derive(Debug, Clone)]
pub struct Caller {
    pub vendor: Vendor,
    /// The tenant id users see (Clerk: the instance).
    pub tenant: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Cal.com: the platform OAuth client's pair (`x-cal-client-id`, `x-cal-secret-key`); else empty.
    pub platform: Vec<(String, String)>,
    /// A body that creates an organization, and its content type.
    pub body: String,
    pub content_type: String,
}

impl Caller {
    pub fn of(p: &Provisioned) -> Caller {
        Caller {
            vendor: p.tenant.tenant.vendor,
            tenant: p.public_id.clone(),
            path: p.path.clone(),
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            platform: p.extra.get("platform_headers").and_then(Value::as_object).map_or_else(Vec::new, |h| {
                h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
            }),
            body: p.sample_body.clone(),
            content_type: p.content_type.to_owned(),
        }
    }

    /// The secrets this caller can present (header values without a `Bearer ` scheme; not the public
    /// client id).
    pub fn secrets(&self) -> Vec<String> {
        self.headers
            .iter()
            .chain(&self.platform)
            .filter(|(k, _)| k != "x-cal-client-id")
            .map(|(_, v)| v.strip_prefix("Bearer ").unwrap_or(v).to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Its own headers, with `content-type`, for `http()`.
    pub fn http_headers(&self) -> Vec<(&str, &str)> {
        let mut headers: Vec<(&str, &str)> = vec![("content-type", self.content_type.as_str())];
        headers.extend(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        headers
    }
}

/// A tenant of `vendor` with rate limiting off and `cap`, as a caller.
pub async fn caller(store: &Store, vendor: Vendor, cap: u32) -> Caller {
    Caller::of(
        &tenant(store, &TenantOptions { cap, rate_limit: Some(0), ..TenantOptions::new(vendor) }).await,
    )
}

/// A request to `vendor`'s route at `path` (for Cal.com, `{orgId}` is read from it), built from the
/// vendor's success event with none of its credentials or content type: only `headers` (appended as
/// given, values as raw bytes; values no HTTP header may carry are skipped) and exactly `body`.
pub fn vendor_request(vendor: Vendor, path: &str, headers: &[(String, Vec<u8>)], body: &[u8]) -> Request {
    use lambda_http::http::{HeaderName, HeaderValue};
    let mut ev = event(&format!("{vendor}-create-success"));
    ev["body"] = Value::from("");
    ev["isBase64Encoded"] = Value::Bool(false);
    orgmint_cli::events::aim(&mut ev, path);
    if vendor == Vendor::Calcom {
        let org_id = path.split('/').nth(3).unwrap_or_default();
        ev["pathParameters"]["orgId"] = Value::from(org_id);
    }
    let kept = ["host", "user-agent", "accept"];
    ev["headers"].as_object_mut().expect("headers").retain(|name, _| kept.contains(&name.as_str()));
    let mut req = request(&ev);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value))
        {
            req.headers_mut().append(name, value);
        }
    }
    *req.body_mut() = if body.is_empty() { Body::Empty } else { Body::Binary(body.to_vec()) };
    req
}

/// The vendor's real handler, as the Lambda runtime calls it.
pub async fn handle(vendor: Vendor, store: &'static Store, req: Request) -> Response<Body> {
    orgmint_cli::registry::handler(vendor, store, req).await
}

/// What is wrong with an error answer of `vendor` (`status` ≥ 400), `None` when it is the vendor's
/// envelope: Devin `{"detail": "…" | [pydantic errors]}`, Datadog `{"errors": ["…"]}`, Cal.com
/// `{"status":"error","timestamp","path","error":{code,message,details}}` with the status's exception
/// name, Clerk `{"errors":[{code,message,long_message,meta}],"clerk_trace_id"}`.
pub fn envelope_problem(vendor: Vendor, status: u16, body: &[u8]) -> Option<String> {
    let Ok(reply) = serde_json::from_slice::<Value>(body) else {
        return Some(format!("{vendor} {status}: not JSON: {}", String::from_utf8_lossy(body)));
    };
    let fields = reply.as_object().map_or(0, |o| o.len());
    let ok = match vendor {
        Vendor::Devin => {
            fields == 1
                && match &reply["detail"] {
                    Value::String(_) => true,
                    Value::Array(entries) => {
                        status == 422
                            && !entries.is_empty()
                            && entries.iter().all(|e| {
                                e["type"].is_string()
                                    && e["msg"].is_string()
                                    && e["loc"]
                                        .as_array()
                                        .is_some_and(|loc| loc.first() == Some(&"body".into()))
                            })
                    }
                    _ => false,
                }
        }
        Vendor::Datadog => {
            fields == 1
                && reply["errors"].as_array().is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
        }
        Vendor::Calcom => {
            let exception = match status {
                400 => "BadRequestException",
                401 => "UnauthorizedException",
                403 => "ForbiddenException",
                404 => "NotFoundException",
                409 => "ConflictException",
                413 => "PayloadTooLargeException",
                429 => "ThrottlerException",
                431 => "RequestHeaderFieldsTooLargeException",
                503 => "ServiceUnavailableException",
                _ => "InternalServerErrorException",
            };
            reply["status"] == "error"
                && reply["timestamp"].is_string()
                && reply["path"].is_string()
                && reply["error"]["code"] == exception
                && reply["error"]["message"].is_string()
                && reply["error"].get("details").is_some()
        }
        Vendor::Clerk => {
            fields == 2
                && reply["clerk_trace_id"].is_string()
                && reply["errors"].as_array().is_some_and(|e| {
                    !e.is_empty()
                        && e.iter().all(|e| {
                            e["code"].is_string()
                                && e["message"].is_string()
                                && e["long_message"].is_string()
                                && e["meta"].is_object()
                        })
                })
        }
    };
    (!ok).then(|| format!("{vendor} {status}: not the vendor's error envelope: {reply}"))
}

// ---- over HTTP: cargo lambda watch, the CLI, and what the functions log ------------------------------

/// `cargo lambda watch` on a free port serving every route of the workspace's router, stopped by SIGTERM
/// (which also stops its function processes).
pub struct Watch {
    child: Child,
    pub port: u16,
    /// Where watch and the functions write their output (the functions' JSON log lines among it).
    pub log: PathBuf,
}

impl Watch {
    pub fn start(table: &str) -> Watch {
        Watch::start_with(table, &[])
    }

    /// [`Watch::start`] with more environment for watch and its functions.
    pub fn start_with(table: &str, env: &[(&str, &str)]) -> Watch {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("orgmint-watch-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("cargo")
            // --disable-cors: the functions answer CORS as each vendor does, not watch's own layer.
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "--concurrency",
                "8",
                "--disable-cors",
            ])
            .current_dir(root())
            .env("ORGMINT_TABLE", table)
            .envs(env.iter().copied())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("cargo lambda watch (make test installs cargo-lambda)");
        let mut watch = Watch { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = watch.child.try_wait() {
                panic!("cargo lambda watch exited: {status}");
            }
            assert!(Instant::now() < deadline, "cargo lambda watch did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        watch
    }

    /// Stops watch and its functions, and returns everything they wrote (the log file is removed).
    pub fn stop(mut self) -> String {
        self.terminate();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        log
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return; // already stopped
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The functions' JSON log lines (one per request) among watch's output, of `route` (all when `None`).
pub fn log_lines(log: &str, route: Option<&str>) -> Vec<Value> {
    log.lines()
        .filter_map(|l| l.find("{\"").map(|at| &l[at..]))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["route"].is_string() && route.is_none_or(|r| l["route"] == r))
        .collect()
}

/// Which of `secrets` (or their SHA-256 digests, as the table stores them) occur anywhere in `log`.
pub fn leaked<'s>(log: &str, secrets: &'s [String]) -> Vec<&'s str> {
    secrets
        .iter()
        .filter(|s| !s.is_empty() && (log.contains(s.as_str()) || log.contains(&orgmint::secrets::digest(s))))
        .map(String::as_str)
        .collect()
}

/// An HS256 JWT of `claims` keyed with `secret`: the algorithm-confusion forgery (a verifier that took the
/// instance's public PEM as an HMAC key would accept it).
pub fn hs256_token<C: serde::Serialize>(secret: &[u8], claims: &C) -> String {
    use aws_lc_rs::hmac;
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    orgmint_cli::jwt::encode(&header, claims, |signed| {
        Ok(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), signed).as_ref().to_vec())
    })
    .unwrap()
}

/// The `orgmint` binary that `make test` builds.
pub fn orgmint_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("debug").join("orgmint")
}

/// `orgmint ARGS --json` against `table`: its one JSON object.
pub fn orgmint(table: &str, args: &[&str]) -> Value {
    let out = Command::new(orgmint_binary())
        .args(args)
        .env("ORGMINT_TABLE", table)
        .output()
        .expect("the orgmint binary (make test builds it)");
    assert!(out.status.success(), "orgmint {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON object")
}
