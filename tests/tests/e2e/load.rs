//! Load through the four vendors' real handlers over DynamoDB Local: many tenants at once, and one tenant
//! stormed far past its cap. Exactly the cap on every tenant, zero 5xx, `orgmint verify` clean.
//!
//! DynamoDB Local runs writes one at a time (~150–200 creates/s on a small machine): these tests measure
//! correctness under concurrency, not scale. They print p50/p99 and creates/s.

use std::sync::Arc;
use std::time::Instant;

use orgmint::{Store, Vendor};
use orgmint_tests::load::{self, assert_outcomes, assert_verified_by_cli, drive, Caller, Outcome};
use orgmint_tests::{heavy, store, Options};

/// Checks that every answer is a create or the vendor's 403 at the cap, and prints the numbers.
fn report(name: &str, callers: &[Caller], outcomes: &[Outcome], seconds: f64) {
    for o in outcomes {
        assert!(
            o.created() || o.status == 403,
            "{name}: {} answered {} {}",
            callers[o.caller].vendor,
            o.status,
            o.body
        );
    }
    let created = outcomes.iter().filter(|o| o.created()).count();
    println!(
        "{name}: {} requests in {seconds:.1} s ({:.0} req/s, {:.0} creates/s), statuses {:?}, p50 {:?}, p99 {:?}, max {:?}",
        outcomes.len(),
        outcomes.len() as f64 / seconds,
        created as f64 / seconds,
        load::statuses(outcomes),
        load::quantile(outcomes, 0.5),
        load::quantile(outcomes, 0.99),
        load::quantile(outcomes, 1.0),
    );
}

async fn tenants(store: &Store, per_vendor: usize, cap: u32) -> Arc<Vec<Caller>> {
    let mut callers = Vec::new();
    for _ in 0..per_vendor {
        for vendor in Vendor::ALL {
            // Rate limiting on (every transaction writes the window) but never reached.
            callers.push(
                Caller::new(store, &Options { cap, rate_limit: Some(100_000), ..Options::new(vendor) }).await,
            );
        }
    }
    Arc::new(callers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_creates_over_forty_tenants_fill_each_to_its_cap() {
    let _heavy = heavy().await;
    let store = store().await;
    // 50 creates for each of 40 tenants (10 per vendor) with a cap of 45: 5 refusals each.
    let callers = tenants(store, 10, 45).await;
    load::warm_connections(store, 32).await;
    let started = Instant::now();
    let outcomes = drive(store, &callers, 32, load::jobs(2_000, callers.len())).await;
    report("2000 creates, 40 tenants, concurrency 32", &callers, &outcomes, started.elapsed().as_secs_f64());
    assert_eq!(outcomes.len(), 2_000);
    let stored = assert_outcomes(store, &callers, &outcomes).await;
    assert_eq!(stored, vec![45; 40], "every tenant holds exactly its cap");
    assert_verified_by_cli(store.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_concurrent_creates_on_one_tenant_stop_at_its_cap() {
    const IN_FLIGHT: usize = 64;
    let _heavy = heavy().await;
    for vendor in Vendor::ALL {
        // A table each, for `orgmint verify` to judge each burst alone.
        let store = store().await;
        let callers = Arc::new(vec![
            Caller::new(store, &Options { cap: 100, rate_limit: Some(100_000), ..Options::new(vendor) })
                .await,
        ]);
        // 300 creates at once, 64 in flight (as under a function's concurrency limit): DynamoDB Local runs
        // writes one at a time, and with all 300 in flight on 2 cores its queue outgrew the SDK's 2 s attempt
        // timeout — the emulator's limit, not DynamoDB's. The cap's exactness is the same either way.
        load::warm_connections(store, IN_FLIGHT).await;
        let started = Instant::now();
        let outcomes = drive(store, &callers, IN_FLIGHT, load::jobs(300, 1)).await;
        report(
            &format!("{vendor}: 300 concurrent creates, cap 100"),
            &callers,
            &outcomes,
            started.elapsed().as_secs_f64(),
        );
        let stored = assert_outcomes(store, &callers, &outcomes).await;
        assert_eq!(stored, vec![100], "{vendor}: exactly the cap");
        assert_eq!(outcomes.iter().filter(|o| o.status == 403).count(), 200, "{vendor}");
        assert_verified_by_cli(store.table());
    }
}
