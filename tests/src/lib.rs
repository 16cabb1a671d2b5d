//! Fixtures for the end-to-end tests: a fresh table in DynamoDB Local per test, tenants provisioned as the
//! CLI provisions them, API Gateway v2 events from `events/`, and a plain HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use lambda_http::{Body, Request, Response};
use orgmint::{ids, Store, Vendor};
use orgmint_cli::vendors::{self, Provisioned, TenantOptions};
use serde_json::Value;

pub use orgmint_cli::vendors::TenantOptions as Options;

/// A store over a table of its own in DynamoDB Local, so tests run in parallel without seeing each other.
pub async fn store() -> &'static Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "the end-to-end tests run against DynamoDB Local: run them with `make test`"
    );
    let base = Store::from_env().await;
    let store = Store::new(base.client().clone(), format!("test-{}", ids::random_hex(12)));
    assert!(store.create_table().await.expect("create the test table"));
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
    ev["rawPath"] = Value::from(p.path.as_str());
    ev["requestContext"]["http"]["path"] = Value::from(p.path.as_str());
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

/// The real handler of `vendor`'s function, as the Lambda runtime calls it.
pub async fn call(store: &'static Store, vendor: Vendor, event: &Value) -> Response<Body> {
    let req = request(event);
    match vendor {
        Vendor::Calcom => calcom_create_managed_organization::handler(store, req).await,
        Vendor::Clerk => clerk_create_organization::handler(store, req).await,
        Vendor::Datadog => datadog_create_child_org::handler(store, req).await,
        Vendor::Devin => devin_create_enterprise_organization::handler(store, req).await,
    }
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
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
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
