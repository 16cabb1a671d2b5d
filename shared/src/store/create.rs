//! The capped create: one `TransactWriteItems`, its cancellation reasons mapped item by item, transaction
//! conflicts retried with jitter.

use super::prelude::*;

/// How often a create is tried again when DynamoDB reports a `TransactionConflict` (another transaction
/// touched the same tenant counter at the same moment). DynamoDB Local never reports one; the SDK does not
/// retry it.
pub(super) const CONFLICT_ATTEMPTS: u32 = 6;

/// No retry starts after this long: the whole request must end well within API Gateway's 29 s.
pub(super) const CONFLICT_DEADLINE: Duration = Duration::from_secs(4);

pub(super) enum Retry {
    No(Error),
    Conflict,
    /// A duplicate lost to its `Idempotency-Key` twin, whose record came back with the cancellation.
    Twin(IdempotencyRecord),
}

/// Where in a create's transaction the items are whose failure the caller must hear about.
pub(super) struct ItemIndexes {
    slug: Option<usize>,
    rate: Option<usize>,
    idempotency: Option<usize>,
}

/// Why DynamoDB cancelled a transaction, item by item: what a create, an update and a delete each read
/// before deciding what went wrong.
pub(super) struct Cancellation<'e>(&'e [CancellationReason]);

impl<'e> Cancellation<'e> {
    /// The reasons of a cancelled transaction, or the error to answer when it failed otherwise.
    pub(super) fn of<R>(err: &'e SdkError<TransactWriteItemsError, R>) -> Result<Self, Error> {
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                Ok(Cancellation(e.cancellation_reasons()))
            }
            _ => Err(unavailable("TransactWriteItems", err)),
        }
    }

    /// Whether item `i`'s condition failed.
    pub(super) fn failed(&self, i: usize) -> bool {
        self.0.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
    }

    /// Whether any item's condition failed.
    fn any_failed(&self) -> bool {
        self.0.iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
    }

    /// Item `i` as it was, where its failed condition returned it (`ALL_OLD`).
    fn item(&self, i: usize) -> Option<&'e Item> {
        self.0.get(i).and_then(|r| r.item())
    }

    /// Whether another transaction on the same items got in the way (worth retrying).
    pub(super) fn conflict(&self) -> bool {
        self.0.iter().any(|r| r.code() == Some("TransactionConflict"))
    }

    /// The codes of the items that failed (DynamoDB says `None` for the others), for a message.
    pub(super) fn codes(&self) -> String {
        self.0.iter().filter_map(|r| r.code()).filter(|c| *c != "None").collect::<Vec<_>>().join(",")
    }

    /// The record of the `Idempotency-Key` twin that committed first, when the put of `ours` (item `index`)
    /// failed: returned by the failed condition itself (`ALL_OLD`), so no read is needed to answer.
    /// `Some(Err(Concurrent))` when it did not come back.
    pub(super) fn twin(
        &self,
        index: Option<usize>,
        ours: Option<&IdempotencyRecord>,
    ) -> Option<Result<IdempotencyRecord, Error>> {
        let (index, ours) = (index?, ours?);
        self.failed(index).then(|| match self.item(index) {
            Some(item) => record_from_item(&ours.id, item),
            None => Err(Error::Idempotency(IdempotencyProblem::Concurrent)),
        })
    }
}

/// Maps the cancellation reasons, item by item, to what went wrong. A duplicate that lost to its
/// `Idempotency-Key` twin is told so first (its answer is the twin's, whatever else failed); then a full
/// rate window; then the cap, which wins over a duplicate slug when both fail.
pub(super) fn cancellation_to_error(cancelled: &Cancellation, indexes: &ItemIndexes, new: &NewOrg) -> Retry {
    match cancelled.twin(indexes.idempotency, new.idempotency.as_ref()) {
        Some(Ok(record)) => return Retry::Twin(record),
        Some(Err(err)) => return Retry::No(err),
        None => {}
    }
    if let (Some(i), Some(rate)) = (indexes.rate, &new.rate) {
        if cancelled.failed(i) {
            return Retry::No(Error::Throttled { retry_after_s: rate.reset_s() });
        }
    }
    if cancelled.failed(0) {
        return Retry::No(match cancelled.item(0) {
            // The tenant exists, so its counter is at the cap.
            Some(tenant) => Error::CapReached { cap: cap_of(tenant) },
            None => Error::Forbidden(Denied::NotInScope),
        });
    }
    if let (Some(i), Some(slug)) = (indexes.slug, &new.org.slug) {
        if cancelled.failed(i) {
            return Retry::No(Error::SlugTaken { slug: slug.clone() });
        }
    }
    if cancelled.conflict() {
        return Retry::Conflict;
    }
    // Any other item's condition is `attribute_not_exists`: a fresh id or secret digest that already exists.
    if cancelled.any_failed() {
        return Retry::No(Error::IdCollision);
    }
    Retry::No(Error::Unavailable(format!("transaction cancelled: {}", cancelled.codes())))
}

/// Full jitter over an exponential ceiling: 10 ms, 20 ms, 40 ms … capped at 320 ms.
pub(super) fn jittered_backoff(attempt: u32) -> Duration {
    let ceiling_ms = 10u64 << attempt.min(5);
    let r = u64::from(u16::from_le_bytes(ids::random_bytes::<2>()));
    Duration::from_millis(ceiling_ms * r / u64::from(u16::MAX) + 1)
}

impl Store {
    /// Creates an organization under its tenant's cap in one `TransactWriteItems`: the counter goes up
    /// only while `org_count < cap`, and the org, its slug claim, members, credentials and child tenant are
    /// written with it or not at all.
    ///
    /// `TransactionConflict` is retried with jittered backoff, with the same client request token and the
    /// same items, so that a retry can never create twice. A duplicate of a create with the same
    /// `Idempotency-Key` that committed first is [`IdempotencyProblem::Concurrent`]; see
    /// [`Store::create_org_or_twin`] for its record.
    pub async fn create_org(&self, new: &NewOrg) -> Result<(), Error> {
        match self.create_org_or_twin(new).await? {
            None => Ok(()),
            Some(_) => Err(Error::Idempotency(IdempotencyProblem::Concurrent)),
        }
    }

    /// [`Store::create_org`], or, when the create's `Idempotency-Key` record already exists (a twin
    /// committed first), that record: `Ok(Some(record))`, read by the failed transaction itself, so the
    /// duplicate is answered in the same two round trips.
    pub async fn create_org_or_twin(&self, new: &NewOrg) -> Result<Option<IdempotencyRecord>, Error> {
        let (items, indexes) = self.create_items(new);
        let token = ids::random_hex(32);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(None),
                Err(err) => err,
            };
            let outcome = match err.as_service_error() {
                // Our own earlier attempt with this token is still being applied.
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => Retry::Conflict,
                _ => match Cancellation::of(&err) {
                    Ok(cancelled) => cancellation_to_error(&cancelled, &indexes, new),
                    Err(err) => Retry::No(err),
                },
            };
            match outcome {
                Retry::No(err) => return Err(err),
                Retry::Twin(record) => return Ok(Some(record)),
                Retry::Conflict if attempt < CONFLICT_ATTEMPTS && started.elapsed() < CONFLICT_DEADLINE => {
                    crate::telemetry::conflict_retried();
                    tokio::time::sleep(jittered_backoff(attempt)).await;
                }
                Retry::Conflict => {
                    return Err(Error::Unavailable(format!("transaction conflict after {attempt} attempts")))
                }
            }
        }
    }

    /// The put of an `Idempotency-Key`'s record of the answer about org `org_id` of the tenant `tenant_pk`,
    /// for the transaction of the change it answers: it fails when the key already has a live record, which
    /// then comes back with the cancellation (`ALL_OLD`), so that the duplicate is answered without a read.
    pub(super) fn record_put(
        &self,
        record: &IdempotencyRecord,
        tenant_pk: &str,
        org_id: &str,
    ) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency_item(record, tenant_pk, org_id)))
            // An expired record that TTL has not removed yet no longer holds its key.
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(clock::now_ms().div_euclid(1_000)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("put has its table and item");
        TransactWriteItem::builder().put(put).build()
    }

    /// The transaction's items, in the order cancellation reasons refer to, with the indexes of the items
    /// whose failure means something to the caller.
    pub(super) fn create_items(&self, new: &NewOrg) -> (Vec<TransactWriteItem>, ItemIndexes) {
        let pk = tenant_pk(&new.tenant);
        let counter = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s("TENANT"))
            .update_expression("SET org_count = org_count + :one")
            .condition_expression("attribute_exists(pk) AND org_count < cap")
            .expression_attribute_values(":one", n(1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("counter update has its key and expression");
        let org = &new.org;
        let mut items =
            vec![TransactWriteItem::builder().update(counter).build(), put(&self.table, org_item(new))];
        let slug_index = org.slug.as_ref().map(|slug| {
            let scope = new.slug_scope.as_ref().unwrap_or(&new.tenant);
            items.push(put(&self.table, slug_item(scope, slug, &new.tenant, &org.id)));
            items.len() - 1
        });
        for member in &new.members {
            items.push(put(&self.table, member_item(&new.tenant, &org.id, member)));
        }
        for credential in &new.credentials {
            items.push(put(&self.table, credential_item(credential, Some(&org.id))));
        }
        if let Some(child) = &new.child_tenant {
            items.push(put(&self.table, child_tenant_item(child, &new.tenant, &org.id)));
        }
        let rate_index = new.rate.as_ref().filter(|r| r.enabled()).map(|rate| {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(rate_item_key(&rate.key, rate.window)))
                .update_expression("SET #type = :type, expires_at = :exp ADD n :one")
                .condition_expression("attribute_not_exists(n) OR n < :limit")
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":type", s("rate"))
                .expression_attribute_values(":exp", n(rate_expiry(rate.window)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(rate.limit))
                .build()
                .expect("rate update has its key and expression");
            items.push(TransactWriteItem::builder().update(update).build());
            items.len() - 1
        });
        let idempotency_index = new.idempotency.as_ref().map(|record| {
            items.push(self.record_put(record, &pk, &org.id));
            items.len() - 1
        });
        (items, ItemIndexes { slug: slug_index, rate: rate_index, idempotency: idempotency_index })
    }
}
