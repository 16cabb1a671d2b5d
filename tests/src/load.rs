//! Many creates at once through the four vendors' real handlers, and what must hold afterwards: every
//! answer in its vendor's envelope, every create stored once, every 5xx stored whole or not at all, every
//! counter equal to its orgs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::{Body, Response};
use orgmint::store::Inventory;
use orgmint::{Store, TenantRef, Vendor};
use orgmint_cli::vendors::{clerk, Provisioned, TenantOptions};
use serde_json::{json, Value};

use crate::{event, request};

/// One tenant of one vendor, and how to ask its vendor's handler for a create.
pub struct Caller {
    pub vendor: Vendor,
    pub provisioned: Provisioned,
}

impl Caller {
    /// A tenant provisioned as `orgmint tenant create` does it.
    pub async fn new(store: &Store, options: &TenantOptions) -> Caller {
        Caller { vendor: options.vendor, provisioned: crate::tenant(store, options).await }
    }

    /// The scope whose counter the creates go up: the tenant, for Clerk the user's account.
    pub fn scope(&self) -> TenantRef {
        let p = &self.provisioned;
        match self.vendor {
            Vendor::Clerk => TenantRef::new(
                Vendor::Clerk,
                clerk::account_scope(&p.public_id, p.extra["user_id"].as_str().expect("a user")),
            ),
            _ => p.tenant.tenant.clone(),
        }
    }

    /// The API Gateway v2 event of a create named `name`: the vendor's success event with the tenant's
    /// path and headers and a JSON body.
    pub fn event(&self, name: &str) -> Value {
        let p = &self.provisioned;
        let (sample, body) = match self.vendor {
            Vendor::Devin => ("devin-create-success", json!({ "display_name": name })),
            Vendor::Datadog => (
                "datadog-create-success",
                json!({ "name": name, "billing": {"type": "parent_billing"}, "subscription": {"type": "pro"} }),
            ),
            Vendor::Calcom => ("calcom-create-success", json!({ "name": name })),
            Vendor::Clerk => ("clerk-create-success", json!({ "name": name })),
        };
        let mut ev = event(sample);
        let headers = ev["headers"].as_object_mut().expect("headers");
        headers.retain(|k, _| !k.starts_with("dd-") && k != "authorization");
        for (name, value) in &p.headers {
            headers.insert(name.to_ascii_lowercase(), value.clone());
        }
        headers.insert("content-type".into(), "application/json".into());
        orgmint_cli::events::aim(&mut ev, &p.path);
        if self.vendor == Vendor::Calcom {
            ev["pathParameters"]["orgId"] = json!(p.public_id);
        }
        ev["body"] = json!(body.to_string());
        ev["isBase64Encoded"] = json!(false);
        ev
    }

    /// Creates an organization named `name` through the vendor's real handler.
    pub async fn create(&self, store: &'static Store, name: &str) -> Response<Body> {
        let req = request(&self.event(name));
        orgmint_cli::registry::handler(self.vendor, store, req).await
    }
}

/// Whether `body` is the vendor's own answer for "storage unavailable, retry".
pub fn is_unavailable_envelope(vendor: Vendor, body: &Value) -> bool {
    match vendor {
        Vendor::Devin => body["detail"].is_string(),
        Vendor::Datadog => body["errors"][0].is_string(),
        Vendor::Calcom => body["status"] == "error" && body["error"]["code"] == "ServiceUnavailableException",
        Vendor::Clerk => body["errors"][0]["code"] == "internal_clerk_error",
    }
}

/// One answered create.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Index into the callers.
    pub caller: usize,
    pub name: String,
    pub status: u16,
    pub body: Value,
    pub latency: Duration,
}

impl Outcome {
    /// The org was created (Cal.com answers 201, the others 200).
    pub fn created(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Runs creates on `workers` concurrent tasks until `next` returns `None`; `next` names the caller
/// (an index into `callers`) and the org of each create. A worker pauses 20 ms after a 5xx, as a client
/// backs off.
pub async fn drive(
    store: &'static Store,
    callers: &Arc<Vec<Caller>>,
    workers: usize,
    next: Arc<dyn Fn() -> Option<usize> + Send + Sync>,
) -> Vec<Outcome> {
    let serial = Arc::new(AtomicUsize::new(0));
    let tag = orgmint::ids::random_hex(4);
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (callers, next, serial, tag) = (callers.clone(), next.clone(), serial.clone(), tag.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while let Some(caller) = next() {
                    // Unique, and at most 32 characters (Datadog's limit).
                    let name = format!("Load {tag} {}", serial.fetch_add(1, Ordering::SeqCst));
                    let started = Instant::now();
                    let response = callers[caller].create(store, &name).await;
                    let latency = started.elapsed();
                    let status = response.status().as_u16();
                    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
                    outcomes.push(Outcome { caller, name, status, body, latency });
                    if status >= 500 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.expect("a worker panicked"));
    }
    outcomes
}

/// `count` jobs, dealt round-robin over `callers` callers.
pub fn jobs(count: usize, callers: usize) -> Arc<dyn Fn() -> Option<usize> + Send + Sync> {
    let taken = AtomicUsize::new(0);
    Arc::new(move || {
        let i = taken.fetch_add(1, Ordering::SeqCst);
        (i < count).then_some(i % callers)
    })
}

/// The latency at quantile `q` (0..=1) of the outcomes.
pub fn quantile(outcomes: &[Outcome], q: f64) -> Duration {
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort();
    let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
    latencies.get(i).copied().unwrap_or_default()
}

/// Counts of answers by status, for messages.
pub fn statuses(outcomes: &[Outcome]) -> Vec<(u16, usize)> {
    let mut by: HashMap<u16, usize> = HashMap::new();
    for o in outcomes {
        *by.entry(o.status).or_default() += 1;
    }
    let mut by: Vec<_> = by.into_iter().collect();
    by.sort();
    by
}

/// What refers to an org besides itself: (members, slug claims, credentials minted for it).
fn shape(inv: &Inventory, org_id: &str) -> (usize, usize, usize) {
    (
        inv.members.iter().filter(|(_, id, _)| id == org_id).count(),
        inv.slugs.iter().filter(|(_, _, id)| id == org_id).count(),
        inv.credentials.iter().filter(|(_, id)| id.as_deref() == Some(org_id)).count(),
    )
}

/// After the creates of `outcomes`: the table's invariants hold (`orgmint::verify`); every create answered
/// exactly once in its caller's scope (and all alike per vendor); every 5xx is stored whole (as its vendor's 200s are) or not at all
/// — a timeout does not mean nothing was written; nothing else was stored. Returns how many orgs each
/// caller's scope holds.
pub async fn assert_outcomes(store: &Store, callers: &[Caller], outcomes: &[Outcome]) -> Vec<usize> {
    let inv = store.inventory().await.expect("scan the table");
    let violations = orgmint::verify::violations(&inv);
    assert!(violations.is_empty(), "invariants broken: {violations:#?}");
    let mut by_name: HashMap<&str, Vec<(&TenantRef, &str)>> = HashMap::new();
    for (tenant, org) in &inv.orgs {
        by_name.entry(org.name.as_str()).or_default().push((tenant, org.id.as_str()));
    }
    let mut shapes: HashMap<Vendor, (usize, usize, usize)> = HashMap::new();
    for o in outcomes.iter().filter(|o| o.created()) {
        let caller = &callers[o.caller];
        let stored = by_name.get(o.name.as_str()).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            stored.len(),
            1,
            "{} answered {} for '{}' but {} orgs are stored",
            caller.vendor,
            o.status,
            o.name,
            stored.len()
        );
        assert_eq!(stored[0].0, &caller.scope(), "'{}' stored in another scope", o.name);
        let seen = shape(&inv, stored[0].1);
        assert_eq!(
            *shapes.entry(caller.vendor).or_insert(seen),
            seen,
            "{} orgs differ in shape",
            caller.vendor
        );
    }
    let mut half = Vec::new();
    for o in outcomes.iter().filter(|o| !o.created()) {
        let caller = &callers[o.caller];
        let stored = by_name.get(o.name.as_str()).map(Vec::as_slice).unwrap_or_default();
        if o.status < 500 {
            assert!(
                stored.is_empty(),
                "{} answered {} for '{}' yet stored it",
                caller.vendor,
                o.status,
                o.name
            );
            continue;
        }
        assert!(stored.len() <= 1, "'{}' stored {} times", o.name, stored.len());
        if let Some((tenant, id)) = stored.first() {
            assert_eq!(*tenant, &caller.scope(), "'{}' stored in another scope", o.name);
            let whole = shapes.get(&caller.vendor).copied();
            if whole.is_some_and(|whole| whole != shape(&inv, id)) {
                half.push(o.name.clone());
            }
        }
    }
    assert!(half.is_empty(), "answered 5xx and stored in part: {half:?}");
    let names: std::collections::HashSet<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    let strays: Vec<&str> = by_name.keys().filter(|n| !names.contains(*n)).copied().collect();
    assert!(strays.is_empty(), "orgs stored that no create asked for: {strays:?}");
    callers
        .iter()
        .map(|c| {
            let scope = c.scope();
            inv.orgs.iter().filter(|(t, _)| *t == scope).count()
        })
        .collect()
}

/// Runs the real `orgmint verify --json` (the binary `make test` builds) on `table` and fails unless it
/// finds every invariant holding and exits 0.
pub fn assert_verified_by_cli(table: &str) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::root().join("target"), std::path::PathBuf::from);
    let out = std::process::Command::new(target.join("debug").join("orgmint"))
        .args(["verify", "--json"])
        .env("ORGMINT_TABLE", table)
        .output()
        .expect("the orgmint binary (make test builds it)");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success() && report["ok"] == true,
        "orgmint verify: {report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens `n` connections to DynamoDB in the store's client pool (`n` concurrent `Store::prime` calls), as
/// `n` Lambda environments each prime their own connection during init (`orgmint::lambda::run`): a burst
/// through one shared client would otherwise open all its connections at once, a storm production never
/// sees.
pub async fn warm_connections(store: &'static Store, n: usize) {
    let primes: Vec<_> = (0..n).map(|_| tokio::spawn(store.prime(Vendor::Devin))).collect();
    for prime in primes {
        prime.await.expect("prime");
    }
}
