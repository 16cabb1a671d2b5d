//! The memory-size sweep: every binary (and the Python reference) started again and again under Lambda's
//! CPU share for each memory size ([`crate::quota`]), cold start and warm latency at each, and from them the
//! cost per million creates and the cheapest size within the latency budget.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::quota::{Group, Quotas};
use crate::runtime_api::Function;

/// The memory sizes measured (MB): Lambda's smallest, powers of two, and one vCPU.
pub const SIZES: [u32; 5] = [128, 256, 512, 1024, 1769];

/// Lambda's published price, arm64, US East (N. Virginia), first tier (the first 7.5 billion GB-s a
/// month): <https://aws.amazon.com/lambda/pricing/>, read 2026-12-06. Duration is billed per 1 ms, rounded
/// up, and since 2025-08-01 includes the init phase of on-demand functions.
pub const USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The same page: requests, $0.20 per million, both architectures.
pub const USD_PER_MILLION_REQUESTS: f64 = 0.20;

/// The latency budget the memory size is chosen within (README, Performance), for every function: a warm
/// create within 50 ms at p90 and a cold one (init + first create) within 250 ms at the median. An org
/// create is a click in a vendor's dashboard or a call of its control plane: API Gateway adds 10–30 ms and
/// real DynamoDB 3–8 ms per round trip, and the whole stays under a third of a second even cold.
pub const BUDGET_WARM_P90_MS: f64 = 50.0;
pub const BUDGET_COLD_P50_MS: f64 = 250.0;

/// One thing started: a function's release binary, the floor, hello world or the Python reference.
pub struct Subject {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Index of the vendor whose events it answers.
    pub vendor: usize,
    /// Only at full core and 128 MB (the Python reference: seconds per start at 128 MB).
    pub ends_only: bool,
}

/// p10, median and p90 of some samples.
pub fn spread(samples: &[f64]) -> Value {
    let q = |p| round2(crate::quantile(samples, p));
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    json!({"p10": q(0.1), "p50": q(0.5), "p90": q(0.9), "mean": round2(mean), "n": samples.len()})
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Default)]
struct Samples {
    init: Vec<f64>,
    first: Vec<f64>,
    init_cpu: Vec<f64>,
    warm: Vec<f64>,
    rss: u64,
}

/// `size` `None`: no quota (the whole core, as the rest of the bench runs).
pub fn measure(
    subjects: &[Subject],
    quotas: Option<&mut Quotas>,
    starts: usize,
    warm: usize,
    event: &mut dyn FnMut(usize, bool) -> String,
) -> Value {
    let mut out = serde_json::Map::new();
    let mut sizes: Vec<Option<u32>> = vec![None];
    let mut groups: BTreeMap<u32, Group> = BTreeMap::new();
    let settle = quotas.as_ref().map_or(Duration::ZERO, |q| q.settle());
    if let Some(quotas) = quotas {
        for mb in SIZES {
            match quotas.group(mb) {
                Ok(group) => {
                    groups.insert(mb, group);
                    sizes.push(Some(mb));
                }
                Err(e) => eprintln!("bench: no {mb} MB group ({e}): that size is skipped"),
            }
        }
    }
    for size in sizes {
        let label = size.map_or("full".to_owned(), |mb| mb.to_string());
        let here: Vec<&Subject> =
            subjects.iter().filter(|s| !s.ends_only || matches!(size, None | Some(128))).collect();
        let mut samples: Vec<Samples> = here.iter().map(|_| Samples::default()).collect();
        let group = size.and_then(|mb| groups.get(&mb));
        for round in 0..starts {
            // A different order each round, so that no subject always follows the same one.
            for k in 0..here.len() {
                let i = (k + round) % here.len();
                let s = here[i];
                // The fresh tenant first: provisioning it (and its warm-up create) must not run inside the
                // start it is for, whose init + first create it would otherwise lengthen.
                let first = event(s.vendor, true);
                std::thread::sleep(settle);
                let mut f = Function::launch(&s.program, &s.args, &s.name, &s.env, group);
                f.invoke([first]);
                let responses = f.wait_responses(1, Duration::from_secs(120));
                let ready = f.first_next().expect("asked for an event before answering it");
                let sample = &mut samples[i];
                sample.init.push(crate::ms(ready - f.spawned));
                sample.first.push(crate::ms(responses[0] - f.spawned));
                if let Some(cpu) = f.init_cpu() {
                    sample.init_cpu.push(crate::ms(cpu));
                }
                for n in 1..=warm {
                    let sent = Instant::now();
                    f.invoke([event(s.vendor, false)]);
                    let responses = f.wait_responses(n + 1, Duration::from_secs(60));
                    sample.warm.push(crate::ms(responses[n] - sent));
                }
                sample.rss = sample.rss.max(f.peak_rss());
            }
            eprint!("\rbench: {label:>4} MB: starts {}/{starts}   ", round + 1);
        }
        eprintln!();
        let mut at = serde_json::Map::new();
        for (s, sample) in here.iter().zip(&samples) {
            let mut r = json!({
                "init_ms": spread(&sample.init),
                "init_first_ms": spread(&sample.first),
                "init_cpu_ms": spread(&sample.init_cpu),
                "warm_ms": spread(&sample.warm),
                "peak_rss_bytes": sample.rss,
            });
            if let Some(mb) = size {
                // Billed per invocation, each rounded up to the millisecond.
                let billed_ms =
                    sample.warm.iter().map(|ms| ms.ceil()).sum::<f64>() / sample.warm.len() as f64;
                let gb_s = f64::from(mb) / 1024.0 * billed_ms / 1000.0;
                r["billed_ms"] = json!(round2(billed_ms));
                let usd = 1e6 * gb_s * USD_PER_GB_SECOND + USD_PER_MILLION_REQUESTS;
                r["usd_per_million"] = json!((usd * 10_000.0).round() / 10_000.0);
            }
            at.insert(s.name.clone(), r);
        }
        out.insert(label, Value::Object(at));
    }
    Value::Object(out)
}

/// The Python reference's name in the tables and bench.json.
pub const PYTHON: &str = "python-boto3-devin";

/// Every binary and the Python reference, under each size's quota (or only at full core, with the reason,
/// when no quota can be set).
/// `provision(vendor)`: a fresh tenant of the vendor's. Each start gets one, so that every start creates
/// in a new account as a new user's first creates would (Clerk's answer lists the account's orgs, which
/// would otherwise grow with the run).
pub fn run(
    settings: &crate::Settings,
    env: &[(String, String)],
    provision: &mut dyn FnMut(usize) -> crate::Tenants,
) -> (Value, Option<String>) {
    let binary = |name: &str, vendor: usize| Subject {
        name: name.to_owned(),
        program: settings.bin_dir.join(name),
        args: Vec::new(),
        env: env.to_vec(),
        vendor,
        ends_only: false,
    };
    let mut subjects: Vec<Subject> =
        crate::FUNCTIONS.iter().enumerate().map(|(k, f)| binary(f.name, k)).collect();
    subjects.push(binary(crate::FLOOR, 3));
    subjects.push(binary(crate::HELLO, 3));
    let devin = crate::FUNCTIONS.iter().position(|f| f.vendor == orgmint::Vendor::Devin).expect("Devin");
    match &settings.python {
        Some(python) => {
            let dir = settings.root.join("bench/python").display().to_string();
            let mut env = env.to_vec();
            env.extend([
                ("PYTHONPATH".to_owned(), dir.clone()),
                ("LAMBDA_TASK_ROOT".to_owned(), dir),
                // Lambda's code directory is read-only: no bytecode cache for the handler there either.
                ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
            ]);
            subjects.push(Subject {
                name: PYTHON.to_owned(),
                program: python.clone(),
                args: ["-m", "awslambdaric", "devin_create.handler"].map(String::from).to_vec(),
                env,
                vendor: devin,
                ends_only: true,
            });
        }
        None => {
            eprintln!("bench: BENCH_PYTHON not set or missing: no Python reference (make bench installs it)")
        }
    }
    let mut quotas = match crate::quota::Quotas::new(settings.period_us) {
        Ok(quotas) => Some(quotas),
        Err(why) => {
            eprintln!("\n!!! no CPU quota can be set ({why}): the memory-size sweep is skipped\n");
            None
        }
    };
    let note = quotas.is_none().then(|| "no CPU quota could be set".to_owned());
    let mut created = 0usize;
    let mut current: Option<crate::Tenants> = None;
    let mut event = |vendor: usize, fresh: bool| {
        if fresh || current.is_none() {
            current = Some(provision(vendor));
        }
        created += 1;
        current.as_ref().expect("a tenant").event(created).to_string()
    };
    let sizes = measure(&subjects, quotas.as_mut(), settings.quota_starts, settings.quota_warm, &mut event);
    let first_random = first_random(settings, quotas.as_mut());
    let steps = quota_steps(settings, quotas.as_mut(), env);
    let mut out = json!({
        "starts": settings.quota_starts,
        "warm_per_start": settings.quota_warm,
        "sizes": sizes,
        "aws_lc_first_random": first_random,
        "quota_steps_128": steps,
        "price": {
            "usd_per_gb_second": USD_PER_GB_SECOND,
            "usd_per_million_requests": USD_PER_MILLION_REQUESTS,
            "source": "https://aws.amazon.com/lambda/pricing/ (arm64, us-east-1, first tier), read 2026-12-06",
        },
    });
    match &quotas {
        Some(q) => {
            out["mechanism"] = json!(q.describe());
            out["period_us"] = json!(q.period_us());
            out["quota_us"] = SIZES.iter().map(|&mb| (mb.to_string(), json!(q.quota_us(mb)))).collect();
        }
        None => out["mechanism"] = json!(note),
    }
    (out, note)
}

/// CPU burnt before the first `next` by `cpu-burn` in the steps' calibration, microseconds.
const BURNS_US: [u64; 9] = [1_000, 1_500, 2_000, 2_500, 3_000, 3_500, 4_000, 4_500, 5_000];

/// How init's wall time follows its CPU time under the 128 MB quota: `cpu-burn` started with each amount
/// of [`BURNS_US`], 15 times each, as the sweep starts a function (eight idle periods before each). The
/// bar "init ≤ 2 × hello world's" is read against it: a median moves by whole periods.
fn quota_steps(settings: &crate::Settings, quotas: Option<&mut Quotas>, env: &[(String, String)]) -> Value {
    let binary = settings.bin_dir.join("cpu-burn");
    let Some(quotas) = quotas else { return Value::Null };
    let (Ok(group), true) = (quotas.group(128), binary.exists()) else { return Value::Null };
    let settle = quotas.settle();
    let mut out = serde_json::Map::new();
    for burn in BURNS_US {
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            std::thread::sleep(settle);
            let mut f = Function::launch(&binary, &[burn.to_string()], "cpu-burn", env, Some(&group));
            let ready = f.wait_init(Duration::from_secs(10));
            wall.push(crate::ms(ready - f.spawned));
            if let Some(used) = f.init_cpu() {
                cpu.push(crate::ms(used));
            }
        }
        out.insert(
            format!("{:.1}", burn as f64 / 1000.0),
            json!({"init_ms": spread(&wall), "init_cpu_ms": spread(&cpu)}),
        );
    }
    Value::Object(out)
}

/// aws-lc's first random draw in a fresh process (`first-random`), at full core and at each size: what the
/// first TLS handshake of a cold start pays on top of everything measured here, where DynamoDB Local is
/// plain HTTP. Medians of 9 processes, microseconds.
fn first_random(settings: &crate::Settings, mut quotas: Option<&mut Quotas>) -> Value {
    let binary = settings.bin_dir.join("first-random");
    if !binary.exists() {
        return Value::Null;
    }
    let mut out = serde_json::Map::new();
    let mut sizes: Vec<Option<u32>> = vec![None];
    if quotas.is_some() {
        sizes.extend(SIZES.map(Some));
    }
    for size in sizes {
        let group = match (size, quotas.as_deref_mut()) {
            (Some(mb), Some(q)) => q.group(mb).ok(),
            _ => None,
        };
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            let mut command = std::process::Command::new(&binary);
            command.stdout(std::process::Stdio::piped());
            let child = match &group {
                Some(g) => g.spawn(command).map(|(child, _)| child),
                None => command.spawn(),
            };
            let Ok(output) = child.and_then(|c| c.wait_with_output()) else { continue };
            let Ok(line) = serde_json::from_slice::<Value>(&output.stdout) else { continue };
            wall.push(f(&line["first_wall_us"]));
            cpu.push(f(&line["first_cpu_us"]));
        }
        let label = size.map_or("full".to_owned(), |mb| mb.to_string());
        out.insert(label, json!({"first_draw_wall_us": spread(&wall), "first_draw_cpu_us": spread(&cpu)}));
    }
    Value::Object(out)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The tables of the sweep, the bars at 128 MB, the Python headline and the size chosen; writes the plot.
pub fn analyse(share: &Value, settings: &crate::Settings, note: Option<&str>) -> Value {
    let sizes = &share["sizes"];
    let mut analysis = serde_json::Map::new();
    println!(
        "\nCPU share sweep — {}; {} starts per size, {} warm creates after each; median (p10–p90)",
        share["mechanism"].as_str().unwrap_or("?"),
        share["starts"],
        share["warm_per_start"]
    );
    if let Some(note) = note {
        println!("!!! {note}: only the full-core row is measured, the sweep is SKIPPED");
    }
    let cell = |r: &Value, key: &str| {
        let s = &r[key];
        format!("{:.1} ({:.1}–{:.1})", f(&s["p50"]), f(&s["p10"]), f(&s["p90"]))
    };
    let labels: Vec<String> = sizes.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    // Full core first, then the sizes in ascending order.
    let mut ordered: Vec<&String> = labels.iter().filter(|l| *l == "full").collect();
    let mut numeric: Vec<&String> = labels.iter().filter(|l| *l != "full").collect();
    numeric.sort_by_key(|l| l.parse::<u32>().unwrap_or(0));
    ordered.extend(numeric);
    for label in &ordered {
        println!(
            "\n{:<38} {:>20} {:>22} {:>9} {:>20} {:>8} {:>9}",
            format!("{label} MB").replace("full MB", "full core (no quota)"),
            "init ms",
            "init + 1st ms",
            "init CPU",
            "warm ms",
            "RSS",
            "$/1M"
        );
        for (name, r) in sizes[label.as_str()].as_object().into_iter().flatten() {
            println!(
                "{:<38} {:>20} {:>22} {:>9.1} {:>20} {:>7.1}M {:>9}",
                name,
                cell(r, "init_ms"),
                cell(r, "init_first_ms"),
                f(&r["init_cpu_ms"]["p50"]),
                cell(r, "warm_ms"),
                f(&r["peak_rss_bytes"]) / 1048576.0,
                r.get("usd_per_million").map_or("".into(), |v| format!("{:.3}", f(v))),
            );
        }
    }

    if let Some(draws) = share["aws_lc_first_random"].as_object() {
        let order = std::iter::once("full".to_owned()).chain(SIZES.map(|mb| mb.to_string()));
        let row: Vec<String> = order
            .filter_map(|size| draws.get(&size).map(|d| (size, d)))
            .map(|(size, d)| {
                format!(
                    "{size}: {:.1} ms ({:.1} ms CPU)",
                    f(&d["first_draw_wall_us"]["p50"]) / 1000.0,
                    f(&d["first_draw_cpu_us"]["p50"]) / 1000.0
                )
            })
            .collect();
        println!(
            "\naws-lc's first random draw in a fresh process (the first TLS handshake's; not in the rows above, \
             DynamoDB Local is plain HTTP), median: {}",
            row.join(", ")
        );
    }

    // The quota's steps: the CPU an init may use and still answer within one period of its start.
    if let Some(steps) = share["quota_steps_128"].as_object() {
        let period_ms = f(&share["period_us"]) / 1000.0;
        let row: Vec<String> = steps
            .values()
            .map(|s| format!("{:.1} → {:.1}", f(&s["init_cpu_ms"]["p50"]), f(&s["init_ms"]["p50"])))
            .collect();
        let first_step = steps
            .values()
            .filter(|s| f(&s["init_ms"]["p50"]) < period_ms)
            .map(|s| f(&s["init_cpu_ms"]["p50"]))
            .fold(f64::NAN, f64::max);
        println!("\nthe 128 MB quota's steps (cpu-burn: init CPU ms → median init ms): {}", row.join(", "));
        println!("an init of up to {first_step:.1} ms of CPU answers within one period ({period_ms:.0} ms) of its start");
        analysis.insert("first_step_cpu_ms_128".into(), json!(first_step));
    }

    // Bars at the 128 MB share: init ≤ 2 × hello world's, init + first create ≤ 1.3 × the floor's.
    let at128 = &sizes["128"];
    if at128.is_object() {
        let at = |name: &str, key: &str, stat: &str| f(&at128[name][key][stat]);
        let (hello, floor) = (at(crate::HELLO, "init_ms", "p50"), at(crate::FLOOR, "init_first_ms", "p50"));
        let mut bars = serde_json::Map::new();
        println!("\nbars at the 128 MB share: init ≤ 2 × hello world's ({hello:.1} ms), init + 1st ≤ 1.3 × the floor's ({floor:.1} ms)");
        println!("(medians; a quota makes wall times come in steps of its period, so the means and the init CPU beside them)");
        let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
        for function in crate::FUNCTIONS {
            let name = function.name;
            let (i, fi) = (at(name, "init_ms", "p50") / hello, at(name, "init_first_ms", "p50") / floor);
            let mean = at(name, "init_ms", "mean") / at(crate::HELLO, "init_ms", "mean");
            let cpu = at(name, "init_cpu_ms", "p50") / at(crate::HELLO, "init_cpu_ms", "p50");
            let ok = |x: f64, bar: f64| if x <= bar { "✓" } else { "✗" };
            println!(
                "{name:<38} init {i:.2} × hello {} (mean {mean:.2} ×, CPU {cpu:.2} ×)   init + 1st {fi:.2} × floor {}",
                ok(i, 2.0),
                ok(fi, 1.3)
            );
            bars.insert(
                name.into(),
                json!({"init_x_hello": round3(i), "init_mean_x_hello": round3(mean), "init_cpu_x_hello": round3(cpu),
                       "init_first_x_floor": round3(fi), "ok": i <= 2.0 && fi <= 1.3}),
            );
        }
        analysis.insert("bars_128mb".into(), Value::Object(bars));
    }

    // The headline: the Python reference against the Rust function doing the same work.
    let devin = "devin-create-enterprise-organization";
    let mut python = serde_json::Map::new();
    for label in ["full", "128"] {
        let (py, rs) = (&sizes[label][PYTHON], &sizes[label][devin]);
        if !py.is_object() || !rs.is_object() {
            continue;
        }
        let x = |key: &str| (f(&py[key]["p50"]) / f(&rs[key]["p50"]) * 10.0).round() / 10.0;
        let rss = (f(&py["peak_rss_bytes"]) / f(&rs["peak_rss_bytes"]) * 10.0).round() / 10.0;
        let entry = json!({"init_x": x("init_ms"), "init_first_x": x("init_first_ms"), "warm_p50_x": x("warm_ms"), "rss_x": rss});
        println!(
            "Python/boto3 ÷ Rust ({devin}) at {}: init {}×, init + 1st {}×, warm p50 {}×, peak RSS {}×",
            if label == "full" { "full core".to_owned() } else { format!("{label} MB") },
            entry["init_x"],
            entry["init_first_x"],
            entry["warm_p50_x"],
            entry["rss_x"]
        );
        python.insert(label.into(), entry);
    }
    analysis.insert("python_over_rust".into(), Value::Object(python));

    // Cost per million creates at each size, and the cheapest size within the budget for every function.
    let mut costs: Vec<(u32, f64, bool)> = Vec::new();
    println!(
        "\ncost per million warm creates (USD, arm64 us-east-1: ${USD_PER_GB_SECOND}/GB-s, ${USD_PER_MILLION_REQUESTS}/1M requests); \
         budget: warm p90 ≤ {BUDGET_WARM_P90_MS} ms and init + 1st p50 ≤ {BUDGET_COLD_P50_MS} ms"
    );
    println!("{:<38} {}", "function", SIZES.map(|mb| format!("{mb:>12} MB")).join(""));
    for function in crate::FUNCTIONS {
        let row: Vec<String> = SIZES
            .iter()
            .map(|mb| {
                let r = &sizes[mb.to_string()][function.name];
                let within = f(&r["warm_ms"]["p90"]) <= BUDGET_WARM_P90_MS
                    && f(&r["init_first_ms"]["p50"]) <= BUDGET_COLD_P50_MS;
                format!("{:>12.3} {}", f(&r["usd_per_million"]), if within { "✓" } else { "✗" })
            })
            .collect();
        println!("{:<38} {}", function.name, row.join("  "));
    }
    for mb in SIZES {
        let at = &sizes[mb.to_string()];
        if !at.is_object() {
            continue;
        }
        let total: f64 = crate::FUNCTIONS.iter().map(|fun| f(&at[fun.name]["usd_per_million"])).sum();
        let within = crate::FUNCTIONS.iter().all(|fun| {
            f(&at[fun.name]["warm_ms"]["p90"]) <= BUDGET_WARM_P90_MS
                && f(&at[fun.name]["init_first_ms"]["p50"]) <= BUDGET_COLD_P50_MS
        });
        costs.push((mb, total, within));
    }
    let chosen = costs.iter().filter(|c| c.2).min_by(|a, b| a.1.total_cmp(&b.1)).map(|c| c.0);
    let template = template_memory(&settings.root);
    match chosen {
        Some(mb) => println!(
            "cheapest size within the budget for every function: {mb} MB; infra/template.yaml MemorySize: {} {}",
            template.map_or("?".into(), |t| t.to_string()),
            if template == Some(mb) { "✓" } else { "✗ (set it to the chosen size)" }
        ),
        None if !costs.is_empty() => println!("no size meets the budget for every function"),
        None => {}
    }
    analysis.insert(
        "memory_size".into(),
        json!({
            "budget": {"warm_p90_ms": BUDGET_WARM_P90_MS, "init_first_p50_ms": BUDGET_COLD_P50_MS},
            "usd_per_million_all_four": costs.iter().map(|c| (c.0.to_string(), json!((c.1 * 10_000.0).round() / 10_000.0))).collect::<serde_json::Map<_, _>>(),
            "within_budget": costs.iter().map(|c| (c.0.to_string(), json!(c.2))).collect::<serde_json::Map<_, _>>(),
            "chosen_mb": chosen,
            "template_mb": template,
        }),
    );
    if !costs.is_empty() {
        let path = settings.root.join("target/bench-sweep.svg");
        std::fs::create_dir_all(settings.root.join("target")).expect("target/");
        std::fs::write(&path, crate::svg::plot(sizes)).expect("write the plot");
        println!("plot: {}", path.display());
    }
    Value::Object(analysis)
}

/// `MemorySize` of the template's `Globals` (the first one in the file).
fn template_memory(root: &std::path::Path) -> Option<u32> {
    let template = std::fs::read_to_string(root.join("infra/template.yaml")).ok()?;
    template.lines().find_map(|l| l.trim().strip_prefix("MemorySize:")).and_then(|v| v.trim().parse().ok())
}
