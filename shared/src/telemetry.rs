//! The functions' CloudWatch metrics, recorded through the `metrics` facade: a no-op where no recorder is
//! installed (the CLI, the tests); `orgmint::lambda::run` installs the Embedded Metric Format recorder and
//! flushes one EMF document to stdout after each request. Dimensions are the function and the vendor only,
//! never a tenant (a dimension per tenant would be a metric per tenant).

use metrics::{counter, histogram};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "orgmint";

/// Organizations created.
pub const CREATES: &str = "Creates";
/// Creates refused at a scope's cap.
pub const CAP_REACHED: &str = "CapReached";
/// Creates refused for a slug already taken.
pub const SLUG_TAKEN: &str = "SlugTaken";
/// Requests refused by a rate limit.
pub const THROTTLED: &str = "Throttled";
/// Answers replayed for an `Idempotency-Key`.
pub const REPLAYS: &str = "Replays";
/// Answers that were the vendor's 5xx (DynamoDB unavailable or failing).
pub const SERVER_ERRORS: &str = "ServerErrors";
/// `TransactionConflict`s the store retried.
pub const CONFLICTS_RETRIED: &str = "ConflictsRetried";
/// Milliseconds of each DynamoDB request (each attempt), from send to answer.
pub const DYNAMODB_LATENCY: &str = "DynamoDbLatency";
/// Milliseconds of each request, as the function served it.
pub const LATENCY: &str = "Latency";

/// Counts what became of a request (its outcome in the log line's vocabulary) and records its latency.
pub fn request(outcome: &str, server_error: bool, latency_ms: f64) {
    let name = match outcome {
        "created" => Some(CREATES),
        "cap_reached" => Some(CAP_REACHED),
        "slug_taken" => Some(SLUG_TAKEN),
        "throttled" => Some(THROTTLED),
        "replayed" => Some(REPLAYS),
        _ => None,
    };
    if let Some(name) = name {
        counter!(name).increment(1);
    }
    if server_error {
        counter!(SERVER_ERRORS).increment(1);
    }
    histogram!(LATENCY).record(latency_ms);
}

/// A `TransactionConflict` the store is about to retry.
pub fn conflict_retried() {
    counter!(CONFLICTS_RETRIED).increment(1);
}

/// One DynamoDB request's time.
pub fn dynamodb_latency(ms: f64) {
    histogram!(DYNAMODB_LATENCY).record(ms);
}

/// Declares the units, for the recorder to put in each EMF document.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    for name in [CREATES, CAP_REACHED, SLUG_TAKEN, THROTTLED, REPLAYS, SERVER_ERRORS, CONFLICTS_RETRIED] {
        describe_counter!(name, Unit::Count, "");
    }
    describe_histogram!(DYNAMODB_LATENCY, Unit::Milliseconds, "");
    describe_histogram!(LATENCY, Unit::Milliseconds, "");
}
