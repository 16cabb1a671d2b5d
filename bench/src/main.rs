//! `make bench`: orgmint's four functions against their floor, side by side in one run.
//!
//! - Cold start: each release binary started against a local Runtime API ([`runtime_api`]), exec → first
//!   `next` (init) and exec → first response (init + first create), interleaved with the SDK floor and a
//!   hello-world `lambda_runtime` binary; medians of `BENCH_STARTS` starts.
//! - Warm latency: each handler in-process, `BENCH_CREATES` creates over many tenants, each followed by the
//!   floor replaying the same DynamoDB requests through the SDK ([`inprocess`]).
//! - Throughput in-process at concurrency 1/8/32, contention on one tenant, and one process under
//!   `AWS_LAMBDA_MAX_CONCURRENCY` 8 and 32 (Lambda Managed Instances).
//! - Peak RSS after 100 and 1,000 invocations, zip sizes, DynamoDB round trips per create (log lines).
//! - Idempotent replays: concurrent duplicates and a later retry, their round trips ([`replays`]).
//! - The memory-size sweep ([`sweep`]): every binary and the Python/boto3 reference (`BENCH_PYTHON`)
//!   under Lambda's CPU share for 128 … 1,769 MB ([`quota`]), cold start, warm latency, cost per million
//!   creates, the cheapest size within the latency budget; `BENCH_QUOTA_STARTS` starts per size, each
//!   followed by `BENCH_QUOTA_WARM` warm creates. A plot: target/bench-sweep.svg.
//!
//! Environment: `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local), `BENCH_BIN_DIR` (release binaries),
//! `BENCH_ZIP_DIR` and `BENCH_ZIP_ARCH` (`cargo lambda build --output-format zip` output and its
//! architecture), `BENCH_STARTS`, `BENCH_CREATES`, `BENCH_INVOCATIONS`. Writes `target/bench.json`.

mod inprocess;
mod quota;
mod replays;
mod runtime_api;
mod svg;
mod sweep;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use orgmint::{ids, Store, Vendor};
use orgmint_cli::vendors::{self, Provisioned, TenantOptions};
use serde_json::{json, Value};

use inprocess::{Capture, Conflicts, Quiet};
use runtime_api::Function;

use orgmint_cli::registry::FUNCTIONS;
const FLOOR: &str = "sdk-floor";
const HELLO: &str = "hello-world";
/// Tenants per vendor the creates are spread over.
const TENANTS: usize = 16;
/// Clerk's: its scope is one user's account, and the create's answer lists every membership of the user
/// (the client it returns), so the account's size is part of what is measured. Spread over this many users,
/// the run's few thousand creates leave each with about 15 orgs, as a real user would have at most (the
/// default cap is 100); 16 accounts grew to ~190, past the default cap.
const CLERK_TENANTS: usize = 256;
/// Large enough never to be reached here.
const CAP: u32 = 1_000_000;
const CONCURRENCY: [usize; 3] = [1, 8, 32];
const PROCESS_CONCURRENCY: [usize; 2] = [8, 32];

struct Settings {
    root: PathBuf,
    bin_dir: PathBuf,
    zip_dir: PathBuf,
    zip_arch: String,
    starts: usize,
    creates: usize,
    invocations: usize,
    quota_starts: usize,
    quota_warm: usize,
    period_us: u64,
    /// The Python reference's interpreter (`.tools/bench-venv/bin/python`), if installed.
    python: Option<PathBuf>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let target =
            std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
        Settings {
            bin_dir: std::env::var("BENCH_BIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| target.join("release")),
            zip_dir: std::env::var("BENCH_ZIP_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| target.join("lambda")),
            zip_arch: std::env::var("BENCH_ZIP_ARCH").unwrap_or_else(|_| "arm64".into()),
            starts: env_or("BENCH_STARTS", 20),
            creates: env_or("BENCH_CREATES", 2000),
            invocations: env_or("BENCH_INVOCATIONS", 1000),
            quota_starts: env_or("BENCH_QUOTA_STARTS", 25),
            quota_warm: env_or("BENCH_QUOTA_WARM", 20),
            period_us: env_or("BENCH_CPU_PERIOD_US", 20_000),
            python: std::env::var("BENCH_PYTHON").ok().map(PathBuf::from).filter(|p| p.exists()),
            root,
        }
    }
}

/// The tenants of one vendor, and the requests that create an org as each of them.
struct Tenants {
    vendor: Vendor,
    provisioned: Vec<Provisioned>,
    template: Value,
}

impl Tenants {
    /// The vendor's success event from `events/`, aimed at tenant `i % n` and creating org `i` (unique name
    /// and slug, so that no create collides with another).
    fn event(&self, i: usize) -> Value {
        let p = &self.provisioned[i % self.provisioned.len()];
        let mut ev = self.template.clone();
        for (name, value) in &p.headers {
            ev["headers"][name.to_ascii_lowercase()] = value.clone();
        }
        orgmint_cli::events::aim(&mut ev, &p.path);
        if ev.get("pathParameters").is_some() {
            ev["pathParameters"]["orgId"] = json!(p.public_id);
        }
        ev["requestContext"]["requestId"] = json!(format!("bench-{i}"));
        let body = match self.vendor {
            Vendor::Devin => {
                json!({"display_name": format!("Bench {i}"), "acu_limit": 500, "add_creator_as_member": true})
                    .to_string()
            }
            Vendor::Datadog => json!({
                "name": format!("Bench {i}"),
                "billing": {"type": "parent_billing"},
                "subscription": {"type": "pro"},
            })
            .to_string(),
            Vendor::Calcom => json!({
                "name": format!("Bench {i}"),
                "slug": format!("bench-{i}"),
                "metadata": {"key": "value"},
                "apiKeyDaysValid": 60,
            })
            .to_string(),
            // API Gateway hands form bodies over base64-encoded.
            Vendor::Clerk => base64(format!("name=Bench%20{i}").as_bytes()),
        };
        ev["body"] = json!(body);
        ev
    }

    fn request(&self, i: usize) -> lambda_http::Request {
        lambda_http::request::from_str(&self.event(i).to_string()).expect("a valid API Gateway v2 event")
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

async fn provision(store: &Store, vendor: Vendor, n: usize) -> Tenants {
    let mut provisioned = Vec::new();
    for _ in 0..n {
        let options = TenantOptions {
            cap: CAP,
            rate_limit: Some(0),
            // Clerk's session tokens must outlive the run.
            key_ttl: (vendor == Vendor::Clerk).then_some(12 * 3600),
            ..TenantOptions::new(vendor)
        };
        provisioned.push(vendors::provision(store, &options).await.expect("provision a tenant"));
    }
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{vendor}-create-success.json"));
    let template =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the success event")).expect("JSON");
    Tenants { vendor, provisioned, template }
}

/// The `p`-quantile (nearest rank) of `values`; NaN when there are none.
fn quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn main() {
    let settings = Settings::from_env();
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "the benchmark runs against DynamoDB Local: run it with `make bench`"
    );
    // The commit the binaries were built from: read before the run, which takes minutes.
    let commit = commit(&settings.root);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a Tokio runtime");

    // ---- set-up: a table of its own, tenants of every vendor -----------------------------------------
    let base = rt.block_on(Store::from_env());
    let table = format!("bench-{}", ids::random_hex(8));
    let floor_table = format!("{table}-floor");
    let store = Store::new(base.client().clone(), &table);
    let tenants: Vec<Arc<Tenants>> = rt.block_on(async {
        store.create_table().await.expect("create the bench table");
        let mut all = Vec::new();
        for function in FUNCTIONS {
            let n = if function.vendor == Vendor::Clerk { CLERK_TENANTS } else { TENANTS };
            all.push(Arc::new(provision(&store, function.vendor, n).await));
        }
        all
    });
    eprintln!("bench: table {table}, {TENANTS} tenants per vendor ({CLERK_TENANTS} for Clerk)");
    let mut results: BTreeMap<&str, serde_json::Map<String, Value>> = BTreeMap::new();

    // ---- in-process: warm latency against the floor, throughput, contention --------------------------
    // First: it also warms DynamoDB Local. A fresh one (a new JVM) answers its first few hundred
    // transactions in tens of milliseconds, which the cold starts would otherwise measure.
    {
        let _quiet = Quiet::new();
        rt.block_on(in_process(&settings, &table, &floor_table, &tenants, &store, &mut results));
    }

    // ---- cold starts: every binary, interleaved ------------------------------------------------------
    let env = function_env(&table);
    let binaries: Vec<(&str, usize)> = FUNCTIONS
        .iter()
        .enumerate()
        .map(|(k, function)| (function.name, k))
        .chain([(FLOOR, 3), (HELLO, 3)])
        .collect();
    for (name, _) in &binaries {
        let path = settings.bin_dir.join(name);
        assert!(
            path.exists(),
            "{} is missing: build the release binaries first (make bench)",
            path.display()
        );
    }
    let mut init: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut first: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut created = 0usize;
    for round in 0..settings.starts {
        // A different order each round, so that no binary always follows the same one.
        for k in 0..binaries.len() {
            let (name, vendor) = binaries[(k + round) % binaries.len()];
            let mut f = Function::start(&settings.bin_dir.join(name), name, &env);
            created += 1;
            f.invoke([tenants[vendor].event(1_000_000 + created).to_string()]);
            let responses = f.wait_responses(1, Duration::from_secs(60));
            let ready = f.first_next().expect("asked for an event before answering it");
            init.entry(name).or_default().push(ms(ready - f.spawned));
            first.entry(name).or_default().push(ms(responses[0] - f.spawned));
        }
        eprint!("\rbench: cold starts {}/{}", round + 1, settings.starts);
    }
    eprintln!();
    for (name, _) in &binaries {
        let r = results.entry(name).or_default();
        r.insert("init_ms".into(), json!(round2(quantile(&init[name], 0.5))));
        r.insert("init_first_ms".into(), json!(round2(quantile(&first[name], 0.5))));
    }

    // ---- memory, round trips, one process under managed concurrency ----------------------------------
    for (name, vendor) in &binaries {
        let mut f = Function::start(&settings.bin_dir.join(name), name, &env);
        let base = 2_000_000 + 10_000 * vendor;
        f.invoke((0..100).map(|i| tenants[*vendor].event(base + i).to_string()));
        f.wait_responses(100, Duration::from_secs(120));
        let rss_100 = f.peak_rss();
        f.invoke((100..settings.invocations).map(|i| tenants[*vendor].event(base + i).to_string()));
        f.wait_responses(settings.invocations, Duration::from_secs(600));
        let rss_end = f.peak_rss();
        // The log lines are read on a thread of their own: the last may trail its response a little.
        let deadline = Instant::now() + Duration::from_secs(5);
        while f.round_trips.lock().unwrap().len() < settings.invocations && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let trips = f.round_trips.lock().unwrap().clone();
        let r = results.entry(name).or_default();
        r.insert("peak_rss_100_bytes".into(), json!(rss_100));
        r.insert("peak_rss_bytes".into(), json!(rss_end));
        if !name.ends_with("-world") && *name != FLOOR {
            assert_eq!(trips.len(), settings.invocations, "{name}: a log line with 2xx for every create");
            let mean = trips.iter().map(|&n| f64::from(n)).sum::<f64>() / trips.len() as f64;
            r.insert("round_trips_per_create".into(), json!(round2(mean)));
            r.insert("round_trips_max".into(), json!(trips.iter().max()));
        }
        eprintln!("bench: {name}: peak RSS {rss_100} B at 100, {rss_end} B at {}", settings.invocations);
    }
    for (name, vendor) in FUNCTIONS.iter().enumerate().map(|(k, function)| (function.name, k)) {
        let mut by_concurrency = serde_json::Map::new();
        for concurrency in PROCESS_CONCURRENCY {
            let mut env = env.clone();
            env.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), concurrency.to_string()));
            let mut f = Function::start(&settings.bin_dir.join(name), name, &env);
            let total = 40 * concurrency;
            let base = 3_000_000 + 100_000 * vendor + 10_000 * concurrency;
            // Warm the process (and each worker's connection) first.
            f.invoke((0..concurrency).map(|i| tenants[vendor].event(base + i).to_string()));
            f.wait_responses(concurrency, Duration::from_secs(60));
            let started = Instant::now();
            f.invoke((concurrency..concurrency + total).map(|i| tenants[vendor].event(base + i).to_string()));
            f.wait_responses(concurrency + total, Duration::from_secs(600));
            let rate = total as f64 / started.elapsed().as_secs_f64();
            by_concurrency.insert(concurrency.to_string(), json!(rate.round()));
        }
        results
            .entry(name)
            .or_default()
            .insert("process_creates_per_s".into(), Value::Object(by_concurrency));
    }

    // ---- idempotent replays ----------------------------------------------------------------------------
    let mut replays = serde_json::Map::new();
    for (vendor, function) in FUNCTIONS.iter().enumerate() {
        if !matches!(function.vendor, Vendor::Devin | Vendor::Datadog) {
            continue; // Cal.com's and Clerk's creates take no Idempotency-Key
        }
        let t = tenants[vendor].clone();
        let r = replays::measure(&settings.bin_dir.join(function.name), function.name, &env, 50, |i| {
            t.event(7_000_000 + i)
        });
        eprintln!("bench: {}: replays {r}", function.name);
        replays.insert(function.name.into(), r);
    }

    // ---- the memory-size sweep under Lambda's CPU share, with the Python reference --------------------
    // A fresh tenant per start, with one org created through the handler first: DynamoDB Local answers the
    // first reads of a brand-new account's partitions tens of milliseconds late (Clerk's create read
    // 100 ms slower on a new account than on the next), which real DynamoDB does not.
    let leaked: &'static Store = Box::leak(Box::new(store.clone()));
    let mut fresh = |vendor: usize| {
        rt.block_on(async {
            let t = provision(&store, FUNCTIONS[vendor].vendor, 1).await;
            let _quiet = Quiet::new();
            let _ = inprocess::handler(t.vendor, leaked, t.request(9_000_000)).await;
            t
        })
    };
    let (sweep, quota_note) = sweep::run(&settings, &env, &mut fresh);

    // ---- sizes -----------------------------------------------------------------------------------------
    let mut zips_missing = Vec::new();
    for (name, _) in &binaries {
        let zip = settings.zip_dir.join(name).join("bootstrap.zip");
        let size = std::fs::metadata(&zip).map(|m| m.len()).ok();
        if size.is_none() {
            zips_missing.push(zip.display().to_string());
        }
        results.entry(name).or_default().insert("zip_bytes".into(), json!(size));
    }

    // ---- ratios, the table and bench.json ------------------------------------------------------------
    let floor = results[FLOOR].clone();
    let hello = results[HELLO].clone();
    let f64_of = |r: &serde_json::Map<String, Value>, key: &str| {
        r.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
    };
    let mut functions = serde_json::Map::new();
    for name in FUNCTIONS.map(|function| function.name) {
        let r = results.get_mut(name).expect("results of each function");
        r.insert("floor_init_ms".into(), floor["init_ms"].clone());
        r.insert("floor_init_first_ms".into(), floor["init_first_ms"].clone());
        r.insert("hello_init_ms".into(), hello["init_ms"].clone());
        let ratio = |a: f64, b: f64| json!((a / b * 1000.0).round() / 1000.0);
        let (i, fi) = (f64_of(r, "init_ms"), f64_of(&floor, "init_ms"));
        let (f, ff) = (f64_of(r, "init_first_ms"), f64_of(&floor, "init_first_ms"));
        r.insert("cold_start_ratio".into(), ratio(i, fi));
        r.insert("first_ratio".into(), ratio(f, ff));
        let p50 = ratio(f64_of(r, "p50_ms"), f64_of(r, "floor_p50_ms"));
        let p99 = ratio(f64_of(r, "p99_ms"), f64_of(r, "floor_p99_ms"));
        r.insert("p50_ratio".into(), p50);
        r.insert("p99_ratio".into(), p99);
        functions.insert(name.into(), Value::Object(r.clone()));
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let report = json!({
        "commit": commit,
        "cores": cores,
        "starts": settings.starts,
        "creates": settings.creates,
        "invocations": settings.invocations,
        "zip_arch": settings.zip_arch,
        "functions": functions,
        "sdk_floor": results[FLOOR],
        "hello_world": results[HELLO],
        "replays": replays,
        "cpu_share": sweep,
    });
    print_table(&report, &zips_missing);
    replays::print(&report["replays"]);
    let analysis = sweep::analyse(&report["cpu_share"], &settings, quota_note.as_deref());
    let mut report = report;
    // The Python reference on its own too, beside the Rust function doing the same work.
    let sizes = &report["cpu_share"]["sizes"];
    report["python_reference"] = json!({
        "function": sweep::PYTHON,
        "full_core": sizes["full"][sweep::PYTHON],
        "128": sizes["128"][sweep::PYTHON],
        "over_rust": analysis["python_over_rust"],
    });
    report["cpu_share"]["analysis"] = analysis;
    let out = settings.root.join("target");
    std::fs::create_dir_all(&out).expect("target/");
    let path = out.join("bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON")).expect("write bench.json");
    println!("\nwritten to {}", path.canonicalize().unwrap_or(path).display());
    rt.block_on(async {
        for t in [&table, &floor_table] {
            let _ = store.client().delete_table().table_name(t.as_str()).send().await;
        }
    });
}

/// Lambda's environment for DynamoDB: region, credentials (as Lambda sets them, with a session token),
/// the endpoint and the table.
fn function_env(table: &str) -> Vec<(String, String)> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let region = var("AWS_REGION", "us-east-1");
    vec![
        ("AWS_REGION".into(), region.clone()),
        ("AWS_DEFAULT_REGION".into(), region),
        ("AWS_ACCESS_KEY_ID".into(), var("AWS_ACCESS_KEY_ID", "local")),
        ("AWS_SECRET_ACCESS_KEY".into(), var("AWS_SECRET_ACCESS_KEY", "local")),
        ("AWS_SESSION_TOKEN".into(), var("AWS_SESSION_TOKEN", "local")),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), var("AWS_ENDPOINT_URL_DYNAMODB", "")),
        ("ORGMINT_TABLE".into(), table.to_owned()),
    ]
}

async fn in_process(
    settings: &Settings,
    table: &str,
    floor_table: &str,
    tenants: &[Arc<Tenants>],
    store: &Store,
    results: &mut BTreeMap<&str, serde_json::Map<String, Value>>,
) {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let capture = Capture::default();
    let captured: &'static Store = Box::leak(Box::new(Store::new(
        Client::from_conf(Store::client_builder(&sdk).interceptor(capture.clone()).build()),
        table,
    )));
    let floor = Client::from_conf(Store::client_builder(&sdk).build());
    // The floor's table: the same tenants, so that its conditions hold exactly as the handler's do.
    let copy = Store::new(floor.clone(), floor_table);
    copy.create_table().await.expect("the floor's table");
    inprocess::copy_table(&floor, table, floor_table).await;

    // Warm latency: handler, then the floor replaying its requests, create after create.
    for (k, &orgmint_cli::registry::Function { name, vendor, .. }) in FUNCTIONS.iter().enumerate() {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let warmup = 20;
        for i in 0..settings.creates + warmup {
            let req = tenants[k].request(i);
            let started = Instant::now();
            let response = inprocess::handler(vendor, captured, req).await;
            let took = ms(started.elapsed());
            assert!(response.status().is_success(), "{name} create {i}: {}", response.status());
            let floor_took = inprocess::replay(&floor, floor_table, capture.take()).await;
            if i >= warmup {
                ours.push(took);
                theirs.push(floor_took);
            }
        }
        let r = results.entry(name).or_default();
        r.insert("p50_ms".into(), json!(round2(quantile(&ours, 0.5))));
        r.insert("p99_ms".into(), json!(round2(quantile(&ours, 0.99))));
        r.insert("floor_p50_ms".into(), json!(round2(quantile(&theirs, 0.5))));
        r.insert("floor_p99_ms".into(), json!(round2(quantile(&theirs, 0.99))));
    }

    // Throughput, one store shared by every task as in one Lambda process.
    let conflicts = Conflicts::default();
    let shared: &'static Store = Box::leak(Box::new(Store::new(
        Client::from_conf(Store::client_builder(&sdk).interceptor(conflicts.clone()).build()),
        table,
    )));
    for (k, &orgmint_cli::registry::Function { name, vendor, .. }) in FUNCTIONS.iter().enumerate() {
        let mut rates = serde_json::Map::new();
        for (level, concurrency) in CONCURRENCY.into_iter().enumerate() {
            let t = tenants[k].clone();
            let base = 5_000_000 + 100_000 * level;
            let request = Arc::new(move |i: usize| t.request(base + i));
            let rate = inprocess::throughput(vendor, shared, concurrency, 20 * 32, request).await;
            rates.insert(concurrency.to_string(), json!(rate.round()));
        }
        // Contention: one fresh tenant, 32 at once.
        let one = Arc::new(provision(store, vendor, 1).await);
        let (attempts, conflicted) = (&conflicts.attempts, &conflicts.conflicts);
        let before = (attempts.load(Ordering::Relaxed), conflicted.load(Ordering::Relaxed));
        let total = 20 * 32;
        let request = Arc::new(move |i: usize| one.request(6_000_000 + i));
        let rate = inprocess::throughput(vendor, shared, 32, total, request).await;
        let r = results.entry(name).or_default();
        r.insert("creates_per_s".into(), Value::Object(rates));
        r.insert(
            "contention".into(),
            json!({
                "concurrency": 32,
                "creates": total,
                "creates_per_s": rate.round(),
                "transaction_conflicts": conflicted.load(Ordering::Relaxed) - before.1,
                "retries": attempts.load(Ordering::Relaxed) - before.0 - total as u64,
            }),
        );
    }
}

/// The commit benchmarked, `-dirty` when the work tree differs from it.
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head}-dirty")
    } else {
        head
    }
}

fn print_table(report: &Value, zips_missing: &[String]) {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    println!(
        "orgmint bench — commit {}, {} cores, medians of {} cold starts, {} warm creates per function",
        report["commit"].as_str().unwrap_or("?"),
        report["cores"],
        report["starts"],
        report["creates"]
    );
    println!(
        "\n{:<38} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>6}",
        "cold start / warm create",
        "init ms",
        "×floor",
        "+1st ms",
        "×floor",
        "p50 ms",
        "×floor",
        "p99 ms",
        "×floor",
        "zip MB",
        "RSS@100",
        "RSS@1000",
        "trips"
    );
    let mib = |v: &Value| v.as_f64().map_or("-".into(), |b| format!("{:.1}M", b / 1048576.0));
    let mut rows: Vec<(String, Value)> =
        report["functions"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    rows.push((FLOOR.into(), report["sdk_floor"].clone()));
    rows.push((HELLO.into(), report["hello_world"].clone()));
    for (name, r) in &rows {
        let is_fn = r.get("cold_start_ratio").is_some();
        let cell = |key: &str, bar: f64| {
            if !is_fn {
                return "".to_owned();
            }
            let x = num(&r[key]);
            format!("{x:.2} {}", mark(x <= bar))
        };
        let zip = r["zip_bytes"].as_f64().map_or("n/a".into(), |b| {
            let mb = b / 1_000_000.0;
            if is_fn {
                format!("{mb:.2} {}", mark(mb <= 3.5))
            } else {
                format!("{mb:.2}")
            }
        });
        let opt = |key: &str| r.get(key).map_or("".to_owned(), |v| format!("{:.2}", num(v)));
        println!(
            "{:<38} {:>8.1} {:>9} {:>9.1} {:>9} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>6}",
            name,
            num(&r["init_ms"]),
            cell("cold_start_ratio", 1.2),
            num(&r["init_first_ms"]),
            cell("first_ratio", 1.3),
            opt("p50_ms"),
            cell("p50_ratio", 1.15),
            opt("p99_ms"),
            cell("p99_ratio", 1.5),
            zip,
            mib(&r["peak_rss_100_bytes"]),
            mib(&r["peak_rss_bytes"]),
            r.get("round_trips_per_create").map_or("".into(), |v| format!("{v}")),
        );
    }
    if let Some(r) = report["functions"].as_object().and_then(|f| f.values().next()) {
        println!(
            "\nwarm floor (same requests straight through the SDK): p50 / p99 per function in target/bench.json; \
             hello-world init {:.1} ms",
            num(&r["hello_init_ms"])
        );
    }
    println!(
        "\n{:<38} {:>8} {:>8} {:>8} {:>14} {:>14} {:>22}",
        "throughput (creates/s)",
        "c=1",
        "c=8",
        "c=32",
        "1 process c=8",
        "1 process c=32",
        "1 tenant c=32: conflicts/retries"
    );
    for (name, r) in report["functions"].as_object().unwrap() {
        let rate = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.0}"));
        let c = |key: &str| rate(&r["creates_per_s"][key]);
        let p = |key: &str| rate(&r["process_creates_per_s"][key]);
        let k = &r["contention"];
        println!(
            "{:<38} {:>8} {:>8} {:>8} {:>14} {:>14} {:>10} /s {} / {}",
            name,
            c("1"),
            c("8"),
            c("32"),
            p("8"),
            p("32"),
            rate(&k["creates_per_s"]),
            k["transaction_conflicts"],
            k["retries"]
        );
    }
    println!(
        "\nDynamoDB Local applies transactions one at a time and never cancels one with TransactionConflict, \
         so conflicts and retries here are 0 by construction; real DynamoDB can, and the store retries them."
    );
    println!("peak RSS bar: ≤ 16 MiB and flat from invocation 100 to the last; zips: {}", report["zip_arch"]);
    if report["zip_arch"] != "arm64" {
        println!(
            "\n!!! NO ARM64 BUILD: zip sizes are {} stand-ins, not what Lambda runs",
            report["zip_arch"]
        );
    }
    if !zips_missing.is_empty() {
        println!("\n!!! NO ZIP SIZES: {} missing (cargo lambda build failed?)", zips_missing.join(", "));
    }
}
