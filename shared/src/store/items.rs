//! Items to and from attribute maps: the attribute names and types of each kind of item.

use super::prelude::*;

pub(super) fn secret_item(tenant: &TenantRef, name: &str, value: &str) -> Item {
    let mut item = secret_key(tenant, name);
    item.insert("type".to_owned(), s("secret"));
    item.insert("vendor".to_owned(), s(tenant.vendor.as_str()));
    item.insert("tenant".to_owned(), s(&tenant.id));
    item.insert("name".to_owned(), s(name));
    item.insert("value".to_owned(), s(value));
    item
}

/// The record of `key` among `found`, unless it has expired (TTL removes items late).
pub(super) fn live_record(
    found: &[Item],
    key: Option<&IdempotencyKey>,
    now_s: i64,
) -> Result<Option<IdempotencyRecord>, Error> {
    let Some(key) = key else { return Ok(None) };
    let pk = format!("IDEM#{}", key.id);
    let Some(item) = found.iter().find(|i| matches!(i.get("pk"), Some(AttributeValue::S(v)) if *v == pk))
    else {
        return Ok(None);
    };
    let record = record_from_item(&key.id, item)?;
    Ok((record.expires_s > now_s).then_some(record))
}

/// The idempotency record `id` stored as `item`.
pub(super) fn record_from_item(id: &str, item: &Item) -> Result<IdempotencyRecord, Error> {
    Ok(IdempotencyRecord {
        id: id.to_owned(),
        fingerprint: get_s(item, "fingerprint")?,
        sealed: match item.get("sealed") {
            Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
            _ => return Err(corrupt("sealed")),
        },
        expires_s: get_n(item, TTL_ATTRIBUTE)?,
    })
}

pub(super) fn put(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("put has its table and item");
    TransactWriteItem::builder().put(put).build()
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

pub(super) fn get_s(item: &Item, name: &str) -> Result<String, Error> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(name)),
    }
}

pub(super) fn get_opt_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub(super) fn get_n(item: &Item, name: &str) -> Result<i64, Error> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

pub(super) fn get_list(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn vendor_of(item: &Item) -> Result<Vendor, Error> {
    get_s(item, "vendor")?.parse().map_err(|_| corrupt("vendor"))
}

pub(super) fn tenant_item(tenant: &Tenant) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(tenant_pk(&tenant.tenant))),
        ("sk".to_owned(), s("TENANT")),
        ("type".to_owned(), s("tenant")),
        ("vendor".to_owned(), s(tenant.tenant.vendor.as_str())),
        ("tenant".to_owned(), s(&tenant.tenant.id)),
        ("name".to_owned(), s(&tenant.name)),
        ("cap".to_owned(), n(tenant.cap)),
        ("org_count".to_owned(), n(tenant.org_count)),
        ("features".to_owned(), list(&tenant.features)),
        ("rate_limit".to_owned(), n(tenant.rate_limit)),
        ("created_ms".to_owned(), n(tenant.created_ms)),
    ]);
    if let Some(plan) = &tenant.plan {
        item.insert("plan".to_owned(), s(plan));
    }
    if !tenant.attributes.is_empty() {
        let map = tenant.attributes.iter().map(|(k, v)| (k.clone(), s(v))).collect();
        item.insert("attributes".to_owned(), AttributeValue::M(map));
    }
    item
}

pub(super) fn tenant_from_item(item: &Item) -> Result<Tenant, Error> {
    Ok(Tenant {
        tenant: TenantRef::new(vendor_of(item)?, get_s(item, "tenant")?),
        name: get_s(item, "name")?,
        cap: get_n(item, "cap")? as u32,
        org_count: get_n(item, "org_count")? as u32,
        plan: get_opt_s(item, "plan"),
        features: get_list(item, "features"),
        rate_limit: get_n(item, "rate_limit").unwrap_or(0) as u32,
        attributes: match item.get("attributes") {
            Some(AttributeValue::M(map)) => map
                .iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(v) => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        },
        created_ms: get_n(item, "created_ms")?,
    })
}

pub(super) fn credential_item(new: &NewCredential, org_id: Option<&str>) -> Item {
    let c = &new.credential;
    let mut item = Item::from([
        ("pk".to_owned(), s(format!("CRED#{}", new.digest))),
        ("sk".to_owned(), s("CRED")),
        ("type".to_owned(), s("credential")),
        ("vendor".to_owned(), s(c.tenant.vendor.as_str())),
        ("tenant".to_owned(), s(&c.tenant.id)),
        ("kind".to_owned(), s(&c.kind)),
        ("principal".to_owned(), s(&c.principal)),
        ("role".to_owned(), s(&c.role)),
        ("permissions".to_owned(), list(&c.permissions)),
        ("features".to_owned(), list(&c.features)),
        ("rate_limit".to_owned(), n(c.rate_limit)),
        ("created_ms".to_owned(), n(c.created_ms)),
    ]);
    if let Some(plan) = &c.plan {
        item.insert("plan".to_owned(), s(plan));
    }
    if let Some(at) = c.expires_s {
        item.insert("expires_s".to_owned(), n(at));
    }
    if let Some(public_id) = &c.public_id {
        item.insert("public_id".to_owned(), s(public_id));
    }
    if let Some(org_id) = org_id {
        item.insert("org_id".to_owned(), s(org_id));
    }
    item
}

pub(super) fn credential_from_item(item: &Item) -> Result<Credential, Error> {
    Ok(Credential {
        tenant: TenantRef::new(vendor_of(item)?, get_s(item, "tenant")?),
        kind: get_s(item, "kind")?,
        principal: get_s(item, "principal")?,
        role: get_s(item, "role")?,
        permissions: get_list(item, "permissions"),
        plan: get_opt_s(item, "plan"),
        features: get_list(item, "features"),
        expires_s: get_n(item, "expires_s").ok(),
        rate_limit: get_n(item, "rate_limit").unwrap_or(0) as u32,
        public_id: get_opt_s(item, "public_id"),
        created_ms: get_n(item, "created_ms")?,
    })
}

pub(super) fn org_from_item(item: &Item) -> Result<Org, Error> {
    Ok(Org {
        id: get_s(item, "org_id")?,
        name: get_s(item, "name")?,
        slug: get_opt_s(item, "slug"),
        created_ms: get_n(item, "created_ms")?,
        doc: get_s(item, "doc")?,
    })
}
