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

/// The membership of `principal` in org `org_id`.
pub(super) fn member_key(vendor: Vendor, org_id: &str, principal: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(format!("ORG#{vendor}#{org_id}"))),
        ("sk".to_owned(), s(format!("MEMBER#{principal}"))),
    ])
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
