//! The in-process half of the benchmark: each vendor's handler called directly over DynamoDB Local (warm
//! latency, throughput, contention), and beside it the floor replaying the very DynamoDB requests the
//! handler just sent, straight through the SDK.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsInput};
use aws_sdk_dynamodb::types::WriteRequest;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use lambda_http::Request;
use orgmint::{ids, Store, Vendor};

/// Each vendor's real handler (the pipeline behind `lambda::serve`: request id, round trips, log line).
pub use orgmint_cli::registry::handler;

/// A request the handler sent, as the SDK received it.
#[derive(Debug, Clone)]
pub enum Captured {
    Get(BatchGetItemInput),
    Write(TransactWriteItemsInput),
    /// Clerk's create reads the account's orgs with a Query beside its BatchGetItem.
    /// Boxed: a `QueryInput` is five times the size of the other variants.
    Query(Box<QueryInput>),
    Other(String),
}

/// Records every operation's input (once per operation, not per attempt), for the floor to replay.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Capture {
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "BenchCapture"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let captured = if let Some(get) = input.downcast_ref::<BatchGetItemInput>() {
            Captured::Get(get.clone())
        } else if let Some(write) = input.downcast_ref::<TransactWriteItemsInput>() {
            Captured::Write(write.clone())
        } else if let Some(query) = input.downcast_ref::<QueryInput>() {
            Captured::Query(Box::new(query.clone()))
        } else {
            Captured::Other(cfg.load::<Metadata>().map_or("?".into(), |m| m.name().to_owned()))
        };
        self.0.lock().unwrap().push(captured);
        Ok(())
    }
}

/// Counts `TransactWriteItems` attempts and the `TransactionConflict` cancellations among them.
#[derive(Debug, Clone, Default)]
pub struct Conflicts {
    pub attempts: Arc<AtomicU64>,
    pub conflicts: Arc<AtomicU64>,
}

impl Intercept for Conflicts {
    fn name(&self) -> &'static str {
        "BenchConflicts"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().is_some_and(|m| m.name() == "TransactWriteItems") {
            self.attempts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Err(err) = context.output_or_error() else { return Ok(()) };
        let op = err.as_operation_error().and_then(|e| e.downcast_ref::<TransactWriteItemsError>());
        if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = op {
            if e.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict")) {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Copies every item of table `from` into table `to` (the floor's table starts as the handler's does).
pub async fn copy_table(client: &Client, from: &str, to: &str) {
    let mut start = None;
    loop {
        let out = client.scan().table_name(from).set_exclusive_start_key(start).send().await.expect("scan");
        let puts: Vec<WriteRequest> = out
            .items()
            .iter()
            .map(|item| {
                let put = aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(item.clone())).build();
                WriteRequest::builder().put_request(put.expect("item")).build()
            })
            .collect();
        for chunk in puts.chunks(25) {
            let mut pending = HashMap::from([(to.to_owned(), chunk.to_vec())]);
            while !pending.is_empty() {
                let out = client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .expect("batch write");
                pending = out.unprocessed_items.unwrap_or_default();
                pending.retain(|_, v| !v.is_empty());
            }
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return,
        }
    }
}

/// Sends `captured` again through `client`, against `table`, with a fresh client request token: the floor's
/// one create. Reads the handler sent together (a BatchGetItem and a Query) go together. Returns its time
/// in milliseconds.
pub async fn replay(client: &Client, table: &str, captured: Vec<Captured>) -> f64 {
    let started = Instant::now();
    let mut reads = tokio::task::JoinSet::new();
    for request in captured {
        if !matches!(request, Captured::Get(_) | Captured::Query(_)) {
            while reads.join_next().await.is_some() {}
        }
        match request {
            Captured::Get(mut get) => {
                let keys = get.request_items.take().unwrap_or_default().into_values();
                let items = keys.map(|k| (table.to_owned(), k)).collect();
                let send = client.batch_get_item().set_request_items(Some(items)).send();
                reads.spawn(async move {
                    send.await.expect("floor BatchGetItem");
                });
            }
            Captured::Query(query) => {
                let query = *query;
                let send = client
                    .query()
                    .table_name(table)
                    .set_index_name(query.index_name)
                    .set_key_condition_expression(query.key_condition_expression)
                    .set_filter_expression(query.filter_expression)
                    .set_projection_expression(query.projection_expression)
                    .set_expression_attribute_names(query.expression_attribute_names)
                    .set_expression_attribute_values(query.expression_attribute_values)
                    .set_consistent_read(query.consistent_read)
                    .set_limit(query.limit)
                    .set_scan_index_forward(query.scan_index_forward)
                    .set_exclusive_start_key(query.exclusive_start_key)
                    .send();
                reads.spawn(async move {
                    send.await.expect("floor Query");
                });
            }
            Captured::Write(mut write) => {
                let mut items = write.transact_items.take().unwrap_or_default();
                for item in &mut items {
                    if let Some(put) = &mut item.put {
                        put.table_name = table.to_owned();
                    }
                    if let Some(update) = &mut item.update {
                        update.table_name = table.to_owned();
                    }
                    if let Some(delete) = &mut item.delete {
                        delete.table_name = table.to_owned();
                    }
                    if let Some(check) = &mut item.condition_check {
                        check.table_name = table.to_owned();
                    }
                }
                client
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .client_request_token(ids::random_hex(32))
                    .send()
                    .await
                    .expect("floor TransactWriteItems");
            }
            Captured::Other(name) => panic!("the handler sent {name}, which the floor does not replay"),
        }
    }
    while reads.join_next().await.is_some() {}
    started.elapsed().as_secs_f64() * 1000.0
}

/// Creates per second with `concurrency` tasks sharing `total` creates; `request(i)` makes the i-th.
pub async fn throughput(
    vendor: Vendor,
    store: &'static Store,
    concurrency: usize,
    total: usize,
    request: Arc<dyn Fn(usize) -> Request + Send + Sync>,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, request) = (next.clone(), request.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    let response = handler(vendor, store, request(i)).await;
                    assert!(response.status().is_success(), "{vendor} create {i}: {}", response.status());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a create task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Sends this process's stdout to /dev/null while alive: the handlers print one log line per request,
/// which belongs to their cost but not to the benchmark's table.
pub struct Quiet(i32);

impl Quiet {
    pub fn new() -> Quiet {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let _ = std::io::stdout().flush();
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
        // SAFETY: plain descriptor calls on fd 1 and descriptors this function owns.
        unsafe {
            let saved = libc::dup(1);
            libc::dup2(null.as_raw_fd(), 1);
            Quiet(saved)
        }
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: restores the descriptor saved in `new`.
        unsafe {
            libc::dup2(self.0, 1);
            libc::close(self.0);
        }
    }
}
