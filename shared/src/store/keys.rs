//! The table's keys: which partition and sort key each item lives under.

use super::prelude::*;

pub(super) fn tenant_pk(tenant: &TenantRef) -> String {
    format!("TENANT#{}#{}", tenant.vendor, tenant.id)
}

/// The tenant a `TENANT#<vendor>#<tenant>` partition key names.
pub(super) fn tenant_of_pk(pk: &str) -> Result<TenantRef, Error> {
    let mut parts = pk.splitn(3, '#');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("TENANT"), Some(vendor), Some(id)) => {
            Ok(TenantRef::new(vendor.parse().map_err(|_| corrupt("pk"))?, id))
        }
        _ => Err(corrupt("pk")),
    }
}

pub(super) fn tenant_key(tenant: &TenantRef) -> Item {
    Item::from([("pk".to_owned(), s(tenant_pk(tenant))), ("sk".to_owned(), s("TENANT"))])
}

/// The partition of an organization's memberships.
pub(super) fn org_pk(vendor: Vendor, org_id: &str) -> String {
    format!("ORG#{vendor}#{org_id}")
}

/// Organization `org_id`, under its tenant's partition.
pub(super) fn org_key(tenant: &TenantRef, org_id: &str) -> Item {
    Item::from([("pk".to_owned(), s(tenant_pk(tenant))), ("sk".to_owned(), s(format!("ORG#{org_id}")))])
}

/// The claim of `slug` in its scope.
pub(super) fn slug_key(scope: &TenantRef, slug: &str) -> Item {
    Item::from([("pk".to_owned(), s(tenant_pk(scope))), ("sk".to_owned(), s(format!("SLUG#{slug}")))])
}

/// The membership of `principal` in org `org_id`.
pub(super) fn member_key(vendor: Vendor, org_id: &str, principal: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(org_pk(vendor, org_id))),
        ("sk".to_owned(), s(format!("MEMBER#{principal}"))),
    ])
}

/// Adds `key` to a `BatchGetItem`'s keys unless it is there already (BatchGetItem refuses a key twice).
pub(super) fn push_once(keys: &mut Vec<Item>, key: Item) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// The item under `key` among what a `BatchGetItem` found. Partition keys may carry digests of secrets:
/// compared in constant time (crate::secrets::equal).
pub(super) fn found_item<'a>(found: &'a [Item], key: &Item) -> Option<&'a Item> {
    let text = |item: &'a Item, name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    };
    let (pk, sk) = (key.get("pk"), key.get("sk"));
    found.iter().find(|i| {
        matches!((text(i, "pk"), pk), (Some(a), Some(AttributeValue::S(b))) if crate::secrets::equal(a, b))
            && i.get("sk") == sk
    })
}

/// A credential of `vendor`, under the digest of its secret: the vendor leads the key, which IAM limits each
/// function to.
pub(super) fn credential_key(vendor: Vendor, digest: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("CRED#{vendor}#{digest}"))), ("sk".to_owned(), s("CRED"))])
}

pub(super) fn secret_key(tenant: &TenantRef, name: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(format!("SECRET#{}#{}", tenant.vendor, tenant.id))),
        ("sk".to_owned(), s(format!("SECRET#{name}"))),
    ])
}

pub(super) fn idempotency_key_of(id: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("IDEM#{id}"))), ("sk".to_owned(), s("IDEM"))])
}

pub(super) fn idempotency_key(key: &IdempotencyKey) -> Item {
    idempotency_key_of(&key.id)
}

pub(super) fn rate_item_key(digest: &str, window: i64) -> Item {
    Item::from([("pk".to_owned(), s(format!("RATE#{digest}"))), ("sk".to_owned(), s(format!("W#{window}")))])
}

/// A rate key's block after a refusal (vendors that block), whatever the window.
pub(super) fn rate_block_key(key: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("RATE#{key}"))), ("sk".to_owned(), s("BLOCK"))])
}

/// Rate windows remove themselves (DynamoDB TTL) a window after they end.
pub(super) fn rate_expiry(window: i64) -> i64 {
    (window + 2) * rate::WINDOW_S
}

/// A signed-in client (browser or device) and its session.
pub(super) fn client_key(vendor: Vendor, client_id: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("CLIENT#{vendor}#{client_id}"))), ("sk".to_owned(), s("CLIENT"))])
}

/// A browser origin allowed by some tenant of `vendor` (CORS preflights name no tenant).
pub(super) fn origin_key(vendor: Vendor, origin: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("ORIGIN#{vendor}#{origin}"))), ("sk".to_owned(), s("ORIGIN"))])
}
