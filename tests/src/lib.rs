//! Fixtures for the end-to-end tests: a fresh table in DynamoDB Local per test, tenants provisioned as the
//! CLI provisions them, API Gateway v2 events from `events/`, and a plain HTTP client.

pub mod faults;
pub mod load;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use lambda_http::{Body, Request, Response};
use orgmint::{ids, Store};
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
