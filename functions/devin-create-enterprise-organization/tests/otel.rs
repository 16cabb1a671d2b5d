//! Traces (feature `otel`): one invocation through the function's own `main` (`orgmint::pipeline::main`),
//! served by a fake Lambda Runtime API, with DynamoDB unreachable (a 503), sends its spans to a fake OTLP
//! collector before the runtime asks for the next event: a `POST /v1/traces` (http/protobuf) holding the
//! invocation's span in the X-Ray trace of its trace header, and the SDK's span of the DynamoDB call.
//!
//! `cargo test -p devin-create-enterprise-organization --features otel --test otel`
#![cfg(feature = "otel")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use devin_create_enterprise_organization::Devin;

const TRACE_ID: &str = "5759e988bd862e3fe1be46a994272793";
const PARENT_ID: &str = "53995c3f42cd8ad8";
const EVENT: &str = include_str!("../../../events/devin-create-success.json");

struct Received {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// What a fake server answers: status, extra headers and body; `None` holds the request unanswered.
type Answer = Option<(u16, Vec<(String, String)>, Vec<u8>)>;

/// Which fake server saw a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    RuntimeApi,
    Collector,
}

/// An HTTP/1.1 server on a loopback port, one thread per connection (keep-alive), bodies by
/// `Content-Length` (as hyper sends them); every request is reported on `seen` before it is answered, so
/// that the reports of both servers are in the order the function sent the requests.
fn serve(server: Server, answer: fn(&Received) -> Answer, seen: Sender<(Server, Received)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while let Some(request) = read_request(&mut reader) {
                    let reply = answer(&request);
                    let _ = seen.send((server, request));
                    let Some((status, headers, body)) = reply else {
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    };
                    let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                    for (name, value) in headers {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str("\r\n");
                    if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received { method, path, body })
}

/// The Lambda Runtime API: one invocation (with an X-Ray trace header, sampled), its response accepted,
/// and the next `next` held, as Lambda holds it while no request comes.
fn runtime_api(request: &Received) -> Answer {
    if request.path.ends_with("/invocation/next") {
        if NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 60_000;
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("lambda-runtime-aws-request-id", "invocation-1".to_owned()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:devin-create-enterprise-organization"
                        .to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    format!("Root=1-{}-{};Parent={PARENT_ID};Sampled=1", &TRACE_ID[..8], &TRACE_ID[8..]),
                ),
            ];
            let headers = headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
            return Some((200, headers, EVENT.as_bytes().to_vec()));
        }
        return None;
    }
    Some((202, vec![], b"{\"status\":\"OK\"}".to_vec()))
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The ADOT collector's OTLP/HTTP receiver: every export accepted.
fn collector(_: &Received) -> Answer {
    Some((200, vec![("content-type".to_owned(), "application/x-protobuf".to_owned())], vec![]))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The next request either fake server saw, within what is left of `until`.
fn next(seen: &Receiver<(Server, Received)>, until: Instant, what: &str) -> (Server, Received) {
    let left = until.saturating_duration_since(Instant::now());
    seen.recv_timeout(left).unwrap_or_else(|_| panic!("no {what} within the time allowed"))
}

#[test]
fn an_invocation_sends_its_spans_to_the_collector_before_the_next_event() {
    let (seen, requests) = mpsc::channel();
    let api = serve(Server::RuntimeApi, runtime_api, seen.clone());
    let otlp = serve(Server::Collector, collector, seen);
    // DynamoDB: a port nothing listens on.
    let dynamodb = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for (name, value) in [
        ("AWS_LAMBDA_RUNTIME_API", api),
        ("AWS_LAMBDA_FUNCTION_NAME", "devin-create-enterprise-organization".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", format!("http://{dynamodb}")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("ORGMINT_TABLE", "orgmint-otel-test".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}")),
    ] {
        std::env::set_var(name, value);
    }
    for name in ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_LAMBDA_MAX_CONCURRENCY", "OTEL_SERVICE_NAME"] {
        std::env::remove_var(name);
    }
    std::thread::spawn(|| orgmint::pipeline::main::<Devin>());

    let until = Instant::now() + Duration::from_secs(60);
    // The init's priming GetItem may be exported first, alone (the SDK's batch exports on its own schedule).
    let mut exported = Vec::new();
    let mut api_request = || loop {
        match next(&requests, until, "request to the Runtime API") {
            (Server::RuntimeApi, request) => return request,
            (Server::Collector, export) => exported.push(export),
        }
    };
    // The invocation is fetched and answered (DynamoDB is unreachable: 503) …
    let first = api_request();
    assert!(first.path.ends_with("/invocation/next"), "{}", first.path);
    let response = api_request();
    assert_eq!(response.method, "POST");
    assert!(response.path.ends_with("/invocation/invocation-1/response"), "{}", response.path);
    assert!(contains(&response.body, b"\"statusCode\":503"), "{}", String::from_utf8_lossy(&response.body));
    // … and its spans are exported before the runtime asks for the next event.
    let after = api_request();
    assert!(after.path.ends_with("/invocation/next"), "{}", after.path);
    assert!(!exported.is_empty(), "nothing was exported before the next event");
    let mut body = Vec::new();
    for export in &exported {
        assert_eq!((export.method.as_str(), export.path.as_str()), ("POST", "/v1/traces"));
        body.extend_from_slice(&export.body);
    }
    for (what, bytes) in [
        (
            "the invocation's span (named after the function)",
            b"devin-create-enterprise-organization".to_vec(),
        ),
        ("its faas.invocation_id", b"invocation-1".to_vec()),
        ("the X-Ray trace id", hex(TRACE_ID)),
        ("the X-Ray parent id", hex(PARENT_ID)),
        ("the SDK's span of the authentication's DynamoDB call", b"DynamoDB.BatchGetItem".to_vec()),
    ] {
        assert!(contains(&body, &bytes), "{what} is not in the exports");
    }
    // The invocation's span, the runtime's within it and the DynamoDB call's are all of the X-Ray trace.
    let in_trace = body.windows(16).filter(|window| *window == hex(TRACE_ID).as_slice()).count();
    assert!(in_trace >= 3, "{in_trace} spans in the X-Ray trace");
}
