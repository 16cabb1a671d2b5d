//! A minimal Lambda Runtime API on loopback, and a function process started against it with the Lambda
//! environment: enough for `lambda_runtime` to init, long-poll `next`, post responses and errors.
//!
//! One thread per connection (the runtime keeps its connections alive; under
//! `AWS_LAMBDA_MAX_CONCURRENCY` each worker long-polls on its own).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::quota::Group;

const PREFIX: &str = "/2018-06-01/runtime";

#[derive(Default)]
struct State {
    /// Events not yet handed out: (request id, body).
    pending: VecDeque<(String, String)>,
    first_next: Option<Instant>,
    /// CPU time the process had used (all its threads) when it first asked for an event.
    init_cpu: Option<Duration>,
    /// When each response arrived, in arrival order.
    responses: Vec<Instant>,
    /// Invocation and init errors, as posted.
    errors: Vec<String>,
}

#[derive(Default)]
struct Shared {
    /// The function's pid, once spawned.
    pid: std::sync::atomic::AtomicU32,
    state: Mutex<State>,
    changed: Condvar,
}

/// What a request's log line says of it.
#[derive(Debug, Clone, Copy)]
pub struct LogLine {
    pub status: u16,
    pub replayed: bool,
    pub round_trips: Option<u32>,
}

/// A function process and its Runtime API.
pub struct Function {
    shared: Arc<Shared>,
    child: Child,
    pub spawned: Instant,
    /// `dynamodb_round_trips` of each request's log line that answered 2xx.
    pub round_trips: Arc<Mutex<Vec<u32>>>,
    /// Every request's log line, in order: what the replays are read from.
    pub lines: Arc<Mutex<Vec<LogLine>>>,
    stderr: Arc<Mutex<String>>,
    next_id: u64,
}

impl Function {
    /// Starts `binary` as Lambda would: a clean environment of Lambda's variables plus `env`.
    pub fn start(binary: &std::path::Path, name: &str, env: &[(String, String)]) -> Function {
        Function::launch(binary, &[], name, env, None)
    }

    /// [`Function::start`] with arguments, and inside a CPU quota group (Lambda's share for its memory
    /// size, which `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` then says) when one is given.
    pub fn launch(
        binary: &std::path::Path,
        args: &[String],
        name: &str,
        env: &[(String, String)],
        group: Option<&Group>,
    ) -> Function {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Runtime API");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared::default());
        let server = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = server.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        let mut command = Command::new(binary);
        let memory = group.map_or(128, |g| g.mb);
        command
            .args(args)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (mut child, spawned) = match group {
            Some(group) => group.spawn(command),
            None => {
                let spawned = Instant::now();
                command.spawn().map(|child| (child, spawned))
            }
        }
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        shared.pid.store(child.id(), std::sync::atomic::Ordering::Release);
        let round_trips = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let trips = round_trips.clone();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let all = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(log) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                let Some(status) = log["status"].as_u64() else { continue };
                let round_trips = log["dynamodb_round_trips"].as_u64().map(|n| n as u32);
                if let (true, Some(n)) = ((200..300).contains(&status), round_trips) {
                    trips.lock().unwrap().push(n);
                }
                let replayed = log["replayed"].as_bool().unwrap_or(false);
                all.lock().unwrap().push(LogLine { status: status as u16, replayed, round_trips });
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let err = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = pipe.read_to_string(&mut buf);
            err.lock().unwrap().push_str(&buf);
        });
        Function { shared, child, spawned, round_trips, lines, stderr, next_id: 0 }
    }

    /// Queues events for the function to take with `next`.
    pub fn invoke(&mut self, events: impl IntoIterator<Item = String>) {
        let mut state = self.shared.state.lock().unwrap();
        for body in events {
            self.next_id += 1;
            state.pending.push_back((format!("bench-{:08}", self.next_id), body));
        }
        self.shared.changed.notify_all();
    }

    /// Waits until `n` responses arrived in all; fails on an invocation error, an exit or a timeout.
    pub fn wait_responses(&mut self, n: usize, timeout: Duration) -> Vec<Instant> {
        self.wait_for(timeout, &format!("no {n} responses"), |state| {
            (state.responses.len() >= n).then(|| state.responses.clone())
        })
    }

    /// When the function first asked for an event (init done).
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.state.lock().unwrap().first_next
    }

    /// Waits until the function first asks for an event; fails on an error, an exit or a timeout.
    pub fn wait_init(&mut self, timeout: Duration) -> Instant {
        self.wait_for(timeout, "no `next`", |state| state.first_next)
    }

    /// Waits until `ready` finds in the state what it waits for; fails on an error posted, an exit or
    /// `timeout` (`what` names what did not come).
    fn wait_for<T>(&mut self, timeout: Duration, what: &str, ready: impl Fn(&State) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if !state.errors.is_empty() {
                let errors = state.errors.join("; ");
                drop(state);
                self.fail(&format!("posted an error: {errors}"));
            }
            if let Some(found) = ready(&state) {
                return found;
            }
            if Instant::now() > deadline {
                drop(state);
                self.fail(&format!("{what} within {timeout:?}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                drop(state);
                self.fail(&format!("exited ({status})"));
            }
            state = self.shared.changed.wait_timeout(state, Duration::from_millis(50)).unwrap().0;
        }
    }

    /// CPU time the process had used when it first asked for an event (init's CPU, whatever the quota).
    pub fn init_cpu(&self) -> Option<Duration> {
        self.shared.state.lock().unwrap().init_cpu
    }

    /// VmHWM of the process (its peak resident set), bytes.
    pub fn peak_rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status");
        kb * 1024
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        panic!("function {what}\nits stderr:\n{}", self.stderr.lock().unwrap());
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time of every thread of `pid` so far (`/proc/<pid>/task/*/schedstat`: nanoseconds on CPU).
fn cpu_time(pid: u32) -> Option<Duration> {
    if pid == 0 {
        return None;
    }
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

/// One connection: HTTP/1.1 requests until the runtime closes it.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let reply = route(shared, &method, &path, body);
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn route(shared: &Shared, method: &str, path: &str, body: Vec<u8>) -> String {
    let Some(rest) = path.strip_prefix(PREFIX) else { return reply(404, &[], "{}") };
    match (method, rest) {
        ("GET", "/invocation/next") => {
            let mut state = shared.state.lock().unwrap();
            if state.first_next.is_none() {
                state.first_next = Some(Instant::now());
                state.init_cpu = cpu_time(shared.pid.load(std::sync::atomic::Ordering::Acquire));
                shared.changed.notify_all();
            }
            let (id, event) = loop {
                if let Some(next) = state.pending.pop_front() {
                    break next;
                }
                state = shared.changed.wait(state).unwrap();
            };
            drop(state);
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 60_000;
            let headers = [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
                ),
                ("lambda-runtime-trace-id", format!("Root=1-00000000-{id:0>24};Sampled=0")),
            ];
            reply(200, &headers, &event)
        }
        ("POST", "/init/error") => {
            record_error(shared, format!("init: {}", String::from_utf8_lossy(&body)));
            reply(202, &[], r#"{"status":"OK"}"#)
        }
        ("POST", invocation) if invocation.ends_with("/response") => {
            let mut state = shared.state.lock().unwrap();
            state.responses.push(Instant::now());
            shared.changed.notify_all();
            drop(state);
            reply(202, &[], r#"{"status":"OK"}"#)
        }
        ("POST", invocation) if invocation.ends_with("/error") => {
            record_error(shared, String::from_utf8_lossy(&body).into_owned());
            reply(202, &[], r#"{"status":"OK"}"#)
        }
        _ => reply(404, &[], "{}"),
    }
}

fn record_error(shared: &Shared, error: String) {
    shared.state.lock().unwrap().errors.push(error);
    shared.changed.notify_all();
}

fn reply(status: u16, headers: &[(&str, String)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        if status < 300 { "OK" } else { "Not Found" },
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

/// Method, path and body of the next request; `None` at the end of the connection. Bodies come with a
/// content length or chunked.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse().ok()?;
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}
