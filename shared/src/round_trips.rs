//! Counts the round trips to DynamoDB this process makes on behalf of one request: every attempt, the SDK's
//! own retries included, so the per-request log line tells the truth. Requests in flight at the same time
//! (a `BatchGetItem` and a `Query` sent together) are one round trip of latency: [`counted`] gives round
//! trips, [`counted_requests`] both figures.

use std::cell::Cell;
use std::future::Future;

use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// What one request sent to DynamoDB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trips {
    /// Waits for DynamoDB: a request sent while none was in flight starts one.
    pub round_trips: u32,
    /// Every request (attempt) sent.
    pub requests: u32,
    in_flight: u32,
}

tokio::task_local! {
    static ROUND_TRIPS: Cell<Trips>;
}

/// Runs `fut` and returns its output with the number of DynamoDB round trips it made. Scopes nest: an
/// enclosing `counted` counts what an inner one counted too.
pub async fn counted<F: Future>(fut: F) -> (F::Output, u32) {
    let (out, trips) = counted_requests(fut).await;
    (out, trips.round_trips)
}

/// [`counted`], with the requests sent as well.
pub async fn counted_requests<F: Future>(fut: F) -> (F::Output, Trips) {
    let (out, trips) = ROUND_TRIPS
        .scope(Cell::new(Trips::default()), async move {
            let out = fut.await;
            (out, ROUND_TRIPS.with(Cell::get))
        })
        .await;
    let _ = ROUND_TRIPS.try_with(|outer| {
        let mut sum = outer.get();
        sum.round_trips += trips.round_trips;
        sum.requests += trips.requests;
        outer.set(sum);
    });
    (out, trips)
}

/// The attempt was counted as in flight (so that its end is counted once, whatever way it ends).
#[derive(Debug, Clone)]
struct InFlight;

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
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
        let counted = ROUND_TRIPS.try_with(|cell| {
            let mut trips = cell.get();
            trips.round_trips += u32::from(trips.in_flight == 0);
            trips.requests += 1;
            trips.in_flight += 1;
            cell.set(trips);
        });
        if counted.is_ok() {
            cfg.interceptor_state().store_put(InFlight);
        }
        cfg.interceptor_state().store_put(Sent(Instant::now()));
        Ok(())
    }

    /// Every attempt ends here, answered or not: it is no longer in flight.
    fn read_after_attempt(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<InFlight>().is_some() {
            cfg.interceptor_state().unset::<InFlight>();
            let _ = ROUND_TRIPS.try_with(|cell| {
                let mut trips = cell.get();
                trips.in_flight = trips.in_flight.saturating_sub(1);
                cell.set(trips);
            });
        }
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
