//! Idempotent replays, read from the functions' own log lines: pairs of the same create with the same
//! `Idempotency-Key` sent at once to one process serving two at a time (`AWS_LAMBDA_MAX_CONCURRENCY=2`),
//! so that both read no record and race; the loser must get its twin's answer from its own failed
//! transaction (`ReturnValuesOnConditionCheckFailure=ALL_OLD`): two round trips, never a 409. Then the
//! same create once more, after both answered: a replay from the record read with the credentials (one).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::runtime_api::Function;

pub fn measure(
    binary: &Path,
    name: &str,
    env: &[(String, String)],
    pairs: usize,
    mut event: impl FnMut(usize) -> Value,
) -> Value {
    let mut env = env.to_vec();
    env.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), "2".into()));
    let mut f = Function::start(binary, name, &env);
    let mut sent = 0;
    for i in 0..pairs {
        let mut ev = event(i);
        ev["headers"]["idempotency-key"] = json!(format!("bench-replay-{i}-{}", orgmint::ids::random_hex(4)));
        let ev = ev.to_string();
        f.invoke([ev.clone(), ev.clone()]);
        sent += 2;
        f.wait_responses(sent, Duration::from_secs(60));
        f.invoke([ev]);
        sent += 1;
        f.wait_responses(sent, Duration::from_secs(60));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while f.lines.lock().unwrap().len() < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let lines = f.lines.lock().unwrap().clone();
    let (mut created, mut replayed, mut conflicts, mut other) = (0, 0, 0, 0);
    let mut trips: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        match (line.status, line.replayed) {
            (200..=299, false) => created += 1,
            (200..=299, true) => {
                replayed += 1;
                let n = line.round_trips.map_or("?".to_owned(), |n| n.to_string());
                *trips.entry(n).or_default() += 1;
            }
            (409, _) => conflicts += 1,
            _ => other += 1,
        }
    }
    json!({
        "pairs": pairs,
        "requests": sent,
        "log_lines": lines.len(),
        "created": created,
        "replayed": replayed,
        "replayed_by_round_trips": trips,
        "status_409": conflicts,
        "other": other,
    })
}

/// The replays' table.
pub fn print(replays: &Value) {
    let Some(all) = replays.as_object() else { return };
    println!(
        "\n{:<38} {:>6} {:>8} {:>9} {:>32} {:>5}",
        "idempotent replays", "pairs", "created", "replayed", "replays by DynamoDB round trips", "409s"
    );
    for (name, r) in all {
        let trips = r["replayed_by_round_trips"]
            .as_object()
            .map(|t| t.iter().map(|(n, c)| format!("{c} in {n}")).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        println!(
            "{:<38} {:>6} {:>8} {:>9} {:>32} {:>5}",
            name, r["pairs"], r["created"], r["replayed"], trips, r["status_409"]
        );
    }
    println!(
        "each pair: the same create twice at once (one process serving two), then once more after both \
         answered; a duplicate that lost the race answers from its own failed transaction (2 round trips), \
         the later retry from the record read with the credentials (1)"
    );
}
