//! `TransactionConflict` is retried by the store. DynamoDB Local runs writes one at a time and never reports a
//! conflict, so an SDK interceptor makes the first attempts of a create fail as DynamoDB would: the request
//! is pointed at a table that does not exist (so nothing is written) and its answer is replaced by a
//! `TransactionCanceledException` whose reasons say `TransactionConflict`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use orgmint::{clock, ids, round_trips, Error, Member, NewOrg, Org, Store, Tenant, TenantRef, Vendor};
use orgmint_tests::{assert_sound, store};

#[derive(Debug)]
struct ConflictInjector {
    /// How many more creates to fail with a conflict.
    remaining: Arc<AtomicU32>,
    /// How many `TransactWriteItems` calls were seen.
    seen: Arc<AtomicU32>,
}

#[derive(Debug, Clone)]
struct Injected;

impl Storable for Injected {
    type Storer = StoreReplace<Self>;
}

impl Intercept for ConflictInjector {
    fn name(&self) -> &'static str {
        "ConflictInjector"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = context.input_mut().downcast_mut::<TransactWriteItemsInput>() else {
            return Ok(());
        };
        self.seen.fetch_add(1, Ordering::SeqCst);
        let inject =
            self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if inject {
            for item in input.transact_items.iter_mut().flatten() {
                if let Some(put) = item.put.as_mut() {
                    put.table_name = "no-such-table".into();
                }
                if let Some(update) = item.update.as_mut() {
                    update.table_name = "no-such-table".into();
                }
            }
            cfg.interceptor_state().store_put(Injected);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Injected>().is_none() {
            return Ok(());
        }
        let response = context.response_mut();
        *response.status_mut() = StatusCode::try_from(400u16).expect("a status");
        response.headers_mut().remove("x-amzn-errortype");
        *response.body_mut() = SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#,
        );
        Ok(())
    }
}

/// A store on the same table whose first `conflicts` creates meet a conflict.
async fn conflicted(base: &Store, conflicts: u32) -> (Store, Arc<AtomicU32>) {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let seen = Arc::new(AtomicU32::new(0));
    let injector = ConflictInjector { remaining: Arc::new(AtomicU32::new(conflicts)), seen: seen.clone() };
    let client =
        aws_sdk_dynamodb::Client::from_conf(Store::client_builder(&sdk).interceptor(injector).build());
    (Store::new(client, base.table()), seen)
}

async fn tenant(store: &Store) -> TenantRef {
    let tenant = TenantRef::new(Vendor::Devin, format!("t-{}", ids::random_hex(8)));
    store.create_tenant(&Tenant::new(tenant.clone(), "Test", 5, clock::now_ms()), &[]).await.unwrap();
    tenant
}

fn new_org(tenant: &TenantRef) -> NewOrg {
    NewOrg {
        tenant: tenant.clone(),
        slug_scope: None,
        org: Org {
            id: ids::random_hex(16),
            name: "Org".into(),
            slug: Some("org".into()),
            created_ms: 1,
            doc: "{}".into(),
        },
        members: vec![Member { principal: "user-1".into(), role: "admin".into() }],
        credentials: vec![],
        child_tenant: None,
        rate: None,
        idempotency: None,
    }
}

#[tokio::test]
async fn conflicts_are_retried_and_the_org_is_created_once() {
    let base = store().await;
    let tenant = tenant(base).await;
    let (store, seen) = conflicted(base, 2).await;
    let (result, trips) = round_trips::counted(store.create_org(&new_org(&tenant))).await;
    assert_eq!(result, Ok(()));
    assert_eq!(seen.load(Ordering::SeqCst), 3, "two conflicts, then the write");
    assert_eq!(trips, 3);
    assert_eq!(base.tenant(&tenant).await.unwrap().unwrap().org_count, 1);
    assert_eq!(base.count_orgs(&tenant).await.unwrap(), 1);
    assert_sound(base).await;
}

#[tokio::test]
async fn endless_conflicts_end_in_unavailable_within_bounds_and_write_nothing() {
    let base = store().await;
    let tenant = tenant(base).await;
    let (store, seen) = conflicted(base, u32::MAX).await;
    let started = Instant::now();
    let result = store.create_org(&new_org(&tenant)).await;
    assert!(matches!(result, Err(Error::Unavailable(ref why)) if why.contains("conflict")), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(seen.load(Ordering::SeqCst) >= 2);
    assert_eq!(base.count_orgs(&tenant).await.unwrap(), 0);
    assert_eq!(base.tenant(&tenant).await.unwrap().unwrap().org_count, 0);
    assert_sound(base).await;
}
