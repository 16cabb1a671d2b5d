//! Counts the requests this process actually sends to DynamoDB on behalf of one request: every attempt,
//! the SDK's own retries included, so the per-request log line tells the truth about round trips.

use std::cell::Cell;
use std::future::Future;

use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

tokio::task_local! {
    static ROUND_TRIPS: Cell<u32>;
}

/// Runs `fut` and returns its output with the number of DynamoDB requests it sent. Scopes nest: an
/// enclosing `counted` counts what an inner one counted too.
pub async fn counted<F: Future>(fut: F) -> (F::Output, u32) {
    let (out, n) = ROUND_TRIPS
        .scope(Cell::new(0), async move {
            let out = fut.await;
            (out, ROUND_TRIPS.with(Cell::get))
        })
        .await;
    let _ = ROUND_TRIPS.try_with(|outer| outer.set(outer.get() + n));
    (out, n)
}

/// When the current attempt was handed to the transport, for its latency.
#[derive(Debug, Clone)]
struct Sent(Instant);

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor behind [`counted`], and the timer of every attempt's latency
/// ([`crate::telemetry::dynamodb_latency`]); installed on every client the store builds.
#[derive(Debug, Default)]
pub struct RoundTripCounter;

impl Intercept for RoundTripCounter {
    fn name(&self) -> &'static str {
        "RoundTripCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Outside `counted` (the CLI, init) there is nothing to count into.
        let _ = ROUND_TRIPS.try_with(|n| n.set(n.get() + 1));
        cfg.interceptor_state().store_put(Sent(Instant::now()));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Sent(at)) = cfg.load::<Sent>() {
            crate::telemetry::dynamodb_latency(at.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(())
    }
}
