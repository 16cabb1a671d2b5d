//! The store over DynamoDB Local: the capped one-transaction create, slugs, credentials.

use orgmint::{
    clock, ids, secrets, AuthFailure, Credential, Denied, Error, Member, NewCredential, NewOrg, Org, Store,
    Tenant, TenantRef, Vendor,
};
use orgmint_tests::{assert_sound, store};

async fn tenant_with_cap(store: &Store, cap: u32) -> TenantRef {
    let tenant = TenantRef::new(Vendor::Datadog, format!("t-{}", ids::random_hex(8)));
    store.create_tenant(&Tenant::new(tenant.clone(), "Test", cap, clock::now_ms()), &[]).await.unwrap();
    tenant
}

fn credential(tenant: &TenantRef, expires_s: Option<i64>) -> Credential {
    Credential {
        tenant: tenant.clone(),
        kind: "api_key".into(),
        principal: "user-1".into(),
        role: "admin".into(),
        permissions: vec!["org_management".into()],
        plan: None,
        features: vec![],
        expires_s,
        rate_limit: 120,
        cap: 100,
        public_id: None,
        created_ms: clock::now_ms(),
    }
}

/// A create that writes every kind of item: org, slug claim, membership, a credential and a child tenant.
fn new_org(tenant: &TenantRef, slug: Option<&str>) -> (NewOrg, String) {
    let id = ids::random_hex(16);
    let secret = secrets::mint("k_", 32);
    let child = TenantRef::new(tenant.vendor, format!("child-{id}"));
    let new = NewOrg {
        tenant: tenant.clone(),
        slug_scope: None,
        org: Org {
            id: id.clone(),
            name: "Org".into(),
            slug: slug.map(str::to_owned),
            created_ms: 1,
            doc: "{}".into(),
        },
        members: vec![Member { principal: "user-1".into(), role: "admin".into() }],
        credentials: vec![NewCredential {
            digest: secrets::digest(&secret),
            credential: credential(&child, None),
        }],
        child_tenant: Some(Tenant::new(child, "Org", 100, 1)),
        rate: None,
        idempotency: None,
    };
    (new, secret)
}

async fn counts(store: &Store, tenant: &TenantRef) -> (u32, u32) {
    let counter = store.tenant(tenant).await.unwrap().unwrap().org_count;
    (counter, store.count_orgs(tenant).await.unwrap())
}

#[tokio::test]
async fn the_cap_holds_and_a_refused_create_writes_nothing() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 3).await;
    for i in 0..3 {
        store.create_org(&new_org(&tenant, Some(&format!("org-{i}"))).0).await.unwrap();
    }
    let (fourth, secret) = new_org(&tenant, Some("org-3"));
    assert_eq!(store.create_org(&fourth).await, Err(Error::CapReached { cap: 3 }));
    assert_eq!(counts(store, &tenant).await, (3, 3));
    // Nothing of the refused create: no credential, no child tenant, no member, no slug claim.
    assert_eq!(
        store.authenticate(Vendor::Datadog, &secret).await,
        Err(Error::Unauthenticated(AuthFailure::Unknown))
    );
    let inventory = store.inventory().await.unwrap();
    assert_eq!(inventory.tenants.len(), 1 + 3);
    assert_eq!(inventory.slugs.len(), 3);
    assert!(inventory.slugs.iter().all(|(_, slug, _)| slug != "org-3"));
    assert_eq!(inventory.members.len(), 3);
    assert_eq!(inventory.credentials.len(), 3);
    assert_sound(store).await;
}

#[tokio::test]
async fn cap_zero_allows_no_org() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 0).await;
    assert_eq!(store.create_org(&new_org(&tenant, None).0).await, Err(Error::CapReached { cap: 0 }));
    assert_eq!(counts(store, &tenant).await, (0, 0));
}

#[tokio::test]
async fn sixty_concurrent_creates_at_cap_25_create_exactly_25() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 25).await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (new, _) = new_org(&tenant, Some(&format!("slug-{i}")));
            tokio::spawn(async move { store.create_org(&new).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(Error::CapReached { cap: 25 }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 25);
    assert_eq!(counts(store, &tenant).await, (25, 25));
    let inventory = store.inventory().await.unwrap();
    assert_eq!(inventory.slugs.len(), 25);
    assert_eq!(inventory.members.len(), 25);
    assert_eq!(inventory.credentials.len(), 25);
    assert_eq!(inventory.tenants.len(), 26);
    assert_sound(store).await;
}

#[tokio::test]
async fn a_duplicate_slug_is_refused_and_writes_nothing() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 10).await;
    store.create_org(&new_org(&tenant, Some("acme")).0).await.unwrap();
    let (again, secret) = new_org(&tenant, Some("acme"));
    assert_eq!(store.create_org(&again).await, Err(Error::SlugTaken { slug: "acme".into() }));
    assert_eq!(counts(store, &tenant).await, (1, 1));
    assert!(store.authenticate(Vendor::Datadog, &secret).await.is_err());
    // The same slug in another tenant's scope is free.
    let other = tenant_with_cap(store, 10).await;
    store.create_org(&new_org(&other, Some("acme")).0).await.unwrap();
    assert_sound(store).await;
}

#[tokio::test]
async fn the_cap_wins_over_a_duplicate_slug() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 1).await;
    store.create_org(&new_org(&tenant, Some("acme")).0).await.unwrap();
    assert_eq!(store.create_org(&new_org(&tenant, Some("acme")).0).await, Err(Error::CapReached { cap: 1 }));
}

#[tokio::test]
async fn a_missing_tenant_is_not_in_scope() {
    let store = store().await;
    let ghost = TenantRef::new(Vendor::Devin, "no-such-tenant");
    assert_eq!(store.create_org(&new_org(&ghost, None).0).await, Err(Error::Forbidden(Denied::NotInScope)));
    assert!(store.inventory().await.unwrap().orgs.is_empty());
}

#[tokio::test]
async fn credentials_authenticate_until_the_second_they_expire() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 1).await;
    let now_s = clock::now_ms() / 1000;
    let (live, expired, never) = (secrets::mint("k_", 32), secrets::mint("k_", 32), secrets::mint("k_", 32));
    store
        .add_credentials(&[
            NewCredential {
                digest: secrets::digest(&live),
                credential: credential(&tenant, Some(now_s + 60)),
            },
            NewCredential { digest: secrets::digest(&expired), credential: credential(&tenant, Some(now_s)) },
            NewCredential { digest: secrets::digest(&never), credential: credential(&tenant, None) },
        ])
        .await
        .unwrap();
    let found = store.authenticate(Vendor::Datadog, &live).await.unwrap();
    assert_eq!(found.tenant, tenant);
    assert!(found.has_permission("org_management"));
    assert!(store.authenticate(Vendor::Datadog, &never).await.is_ok());
    assert_eq!(
        store.authenticate(Vendor::Datadog, &expired).await,
        Err(Error::Unauthenticated(AuthFailure::Expired))
    );
    assert_eq!(
        store.authenticate(Vendor::Datadog, "k_unknown").await,
        Err(Error::Unauthenticated(AuthFailure::Unknown))
    );
    // A credential of one vendor is unknown to every other.
    assert_eq!(
        store.authenticate(Vendor::Devin, &live).await,
        Err(Error::Unauthenticated(AuthFailure::Unknown))
    );
    // Only the digest is stored.
    let inventory = store.inventory().await.unwrap();
    let raw = format!("{inventory:?}");
    assert!(!raw.contains(&live) && !raw.contains(&never));
}

#[tokio::test]
async fn a_tenant_is_created_once() {
    let store = store().await;
    let tenant = TenantRef::new(Vendor::Devin, "once");
    let t = Tenant::new(tenant, "Once", 5, 1);
    store.create_tenant(&t, &[]).await.unwrap();
    assert!(matches!(store.create_tenant(&t, &[]).await, Err(Error::Invalid(_))));
    assert!(!store.create_table().await.unwrap(), "create_table is idempotent");
}

#[tokio::test]
async fn the_rate_window_is_charged_by_the_create_and_holds_under_concurrency() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 100).await;
    let secret = secrets::mint("k_", 32);
    let mut limited = credential(&tenant, None);
    limited.rate_limit = 5;
    store
        .add_credentials(&[NewCredential { digest: secrets::digest(&secret), credential: limited }])
        .await
        .unwrap();
    let found = store.authenticate_all(Vendor::Datadog, &[&secret]).await.unwrap();
    assert_eq!((found.rate.limit, found.rate.used), (5, 0));
    // Twelve creates at once against one window of five: exactly five get through.
    let rate = found.rate.clone();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (mut new, _) = new_org(&tenant, None);
            new.rate = Some(rate.clone());
            tokio::spawn(async move { store.create_org(&new).await })
        })
        .collect();
    let mut outcomes = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => outcomes.0 += 1,
            Err(Error::Throttled { retry_after_s }) => {
                assert!((1..=60).contains(&retry_after_s));
                outcomes.1 += 1
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // The window may have turned during the test; a new window lets more through, never fewer.
    let after = store.authenticate_all(Vendor::Datadog, &[&secret]).await.unwrap().rate;
    if after.window == rate.window {
        assert_eq!(outcomes, (5, 7));
        assert_eq!(after.used, 5);
        assert!(after.exceeded());
    }
    assert_eq!(counts(store, &tenant).await, (outcomes.0, outcomes.0));
    assert_sound(store).await;
}

#[tokio::test]
async fn charging_counts_requests_that_did_not_create() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 1).await;
    let secret = secrets::mint("k_", 32);
    store
        .add_credentials(&[NewCredential {
            digest: secrets::digest(&secret),
            credential: credential(&tenant, None),
        }])
        .await
        .unwrap();
    let before = store.authenticate_all(Vendor::Datadog, &[&secret]).await.unwrap().rate;
    store.charge(&before).await.unwrap();
    store.charge(&before).await.unwrap();
    let after = store.authenticate_all(Vendor::Datadog, &[&secret]).await.unwrap().rate;
    if after.window == before.window {
        assert_eq!(after.used, before.used + 2);
    }
    assert_eq!(after.limit, 120);
}

/// A freshly minted id that already exists is its own error (the caller mints again), not a 503's
/// "unavailable"; nothing of the second create is written.
#[tokio::test]
async fn an_existing_id_is_an_id_collision_and_writes_nothing() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 10).await;
    let (first, _) = new_org(&tenant, None);
    store.create_org(&first).await.unwrap();
    // The same child tenant (its key is global): what a second draw of the same id would write.
    let (mut second, _) = new_org(&tenant, None);
    second.child_tenant = first.child_tenant.clone();
    assert_eq!(store.create_org(&second).await, Err(Error::IdCollision));
    assert_eq!(counts(store, &tenant).await, (1, 1));
    assert_sound(store).await;
}

/// A stored item that lacks an attribute is reported as corrupt, naming the attribute, not as DynamoDB
/// being unavailable.
#[tokio::test]
async fn a_stored_item_missing_an_attribute_is_corrupt() {
    let store = store().await;
    let tenant = tenant_with_cap(store, 10).await;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{}#{}", tenant.vendor, tenant.id)),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("TENANT".into()))
        .update_expression("REMOVE cap")
        .send()
        .await
        .unwrap();
    match store.tenant(&tenant).await {
        Err(Error::Corrupt(detail)) => assert!(detail == "tenant item: missing field `cap`", "{detail}"),
        other => panic!("expected a corrupt item, got {other:?}"),
    }
}

/// DynamoDB Local (started by `make test` and `make dev` through scripts/bind-loopback.c) answers on
/// 127.0.0.1 and refuses connections to this machine's other addresses: nothing outside the machine reaches it.
#[test]
fn dynamodb_local_listens_on_loopback_only() {
    use std::net::{IpAddr, SocketAddr, TcpStream};
    use std::time::Duration;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("make test sets the endpoint");
    let port: u16 = endpoint.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).unwrap();
    let connect = |ip: IpAddr| TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(2));
    assert!(connect(IpAddr::from([127, 0, 0, 1])).is_ok(), "DynamoDB Local does not answer on loopback");
    let hostname = std::process::Command::new("hostname").arg("-I").output().expect("hostname -I");
    let others: Vec<IpAddr> = String::from_utf8_lossy(&hostname.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .filter(|ip: &IpAddr| !ip.is_loopback())
        .collect();
    if others.is_empty() {
        eprintln!("this machine has no address but loopback: nothing else to try");
    }
    for ip in others {
        assert!(connect(ip).is_err(), "DynamoDB Local answers on {ip}:{port}, beyond this machine");
    }
}
