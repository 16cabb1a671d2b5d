//! Items to and from attribute maps. Each kind of item is a row struct below: its attribute names and
//! types are declared once and converted by `serde_dynamo`; keys come from `keys.rs`, and every item also
//! carries `type` (its kind, which `orgmint verify` reads).

use super::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::borrow::Cow;

type Text<'a> = Cow<'a, str>;
type Texts<'a> = Cow<'a, [String]>;

/// A tenant: the cap scope, its counter and its settings. A child tenant (a Datadog child org, a Cal.com
/// managed org) also names its parent and the org that made it.
#[derive(Serialize, Deserialize)]
struct TenantRow<'a> {
    vendor: Text<'a>,
    tenant: Text<'a>,
    name: Text<'a>,
    cap: u32,
    org_count: u32,
    #[serde(default)]
    features: Texts<'a>,
    #[serde(default)]
    rate_limit: u32,
    created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    attributes: Cow<'a, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_id: Option<Text<'a>>,
}

/// A credential, stored under the digest of its secret (never the secret), with the org whose create
/// minted it, if any.
#[derive(Serialize, Deserialize)]
struct CredentialRow<'a> {
    vendor: Text<'a>,
    tenant: Text<'a>,
    kind: Text<'a>,
    principal: Text<'a>,
    role: Text<'a>,
    #[serde(default)]
    permissions: Texts<'a>,
    #[serde(default)]
    features: Texts<'a>,
    #[serde(default)]
    rate_limit: u32,
    /// Absent from credentials issued before children inherited their parent's cap.
    #[serde(default = "crate::model::default_cap")]
    cap: u32,
    created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_s: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_id: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_id: Option<Text<'a>>,
}

/// An organization, under its tenant's partition; `doc` is the vendor's own rendering of it. What its
/// delete must remove besides it is named here: the scope its slug is claimed in (when wider than the
/// tenant) and the digests of the credentials its create minted (absent from orgs created before deletes
/// existed).
#[derive(Serialize, Deserialize)]
pub(super) struct OrgRow<'a> {
    pub org_id: Text<'a>,
    pub name: Text<'a>,
    pub created_ms: i64,
    pub doc: Text<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug_scope: Option<Text<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Texts<'a>>,
}

/// A slug claim in its scope. `tenant` is the org's own tenant, which the scope may be wider than.
#[derive(Serialize, Deserialize)]
pub(super) struct SlugRow<'a> {
    pub org_id: Text<'a>,
    #[serde(default)]
    pub tenant: Option<Text<'a>>,
}

/// A member of an organization.
#[derive(Serialize, Deserialize)]
pub(super) struct MemberRow<'a> {
    pub tenant: Text<'a>,
    pub org_id: Text<'a>,
    pub principal: Text<'a>,
    pub role: Text<'a>,
}

/// A tenant's secret, in a partition no request path reads.
#[derive(Serialize, Deserialize)]
pub(super) struct SecretRow<'a> {
    pub vendor: Text<'a>,
    pub tenant: Text<'a>,
    pub name: Text<'a>,
    pub value: Text<'a>,
}

/// An idempotency record: the first answer, sealed, and what it answered for (so that `verify` can tell
/// an orphan). DynamoDB's TTL removes it after `expires_at`.
#[derive(Serialize, Deserialize)]
pub(super) struct IdempotencyRow<'a> {
    pub fingerprint: Text<'a>,
    #[serde(with = "bytes")]
    pub sealed: Cow<'a, [u8]>,
    #[serde(rename = "expires_at")]
    pub expires_s: i64,
    /// The partition key of the org's tenant.
    pub tenant: Text<'a>,
    pub org_id: Text<'a>,
}

/// A rate window's counter (written by an update expression, read here).
#[derive(Deserialize)]
struct RateRow {
    #[serde(default)]
    n: u32,
}

/// A rate key's block.
#[derive(Deserialize)]
struct BlockRow {
    #[serde(default)]
    until: i64,
}

/// The end of a block item (0 when it reads as none).
pub(super) fn block_until(item: &Item) -> i64 {
    row_of::<BlockRow>(item, "rate").map_or(0, |row| row.until)
}

/// What the `CapReached` cancellation returns of the tenant.
#[derive(Deserialize)]
struct CapRow {
    cap: u32,
}

/// The item holding `row` under `key`, of type `kind`.
pub(super) fn item_of<R: Serialize>(key: Item, kind: &str, row: &R) -> Item {
    // Rows are strings, integers, string lists and string maps, which always serialize.
    let mut item: Item = serde_dynamo::to_item(row).expect("rows serialize to attribute maps");
    item.extend(key);
    item.insert("type".to_owned(), s(kind));
    item
}

/// The row `item` holds; an item that does not read as one is corrupt (the error names the attribute).
pub(super) fn row_of<R: DeserializeOwned>(item: &Item, kind: &str) -> Result<R, Error> {
    serde_dynamo::from_item(item.clone()).map_err(|e| Error::Corrupt(format!("{kind} item: {e}")))
}

pub(super) fn secret_item(tenant: &TenantRef, name: &str, value: &str) -> Item {
    let row = SecretRow {
        vendor: tenant.vendor.as_str().into(),
        tenant: tenant.id.as_str().into(),
        name: name.into(),
        value: value.into(),
    };
    item_of(secret_key(tenant, name), "secret", &row)
}

/// The record of `key` among `found`, unless it has expired (TTL removes items late).
pub(super) fn live_record(
    found: &[Item],
    key: Option<&IdempotencyKey>,
    now_s: i64,
) -> Result<Option<IdempotencyRecord>, Error> {
    let Some(key) = key else { return Ok(None) };
    let Some(item) = found_item(found, &idempotency_key(key)) else { return Ok(None) };
    let record = record_from_item(&key.id, item)?;
    Ok((record.expires_s > now_s).then_some(record))
}

pub(super) fn idempotency_item(record: &IdempotencyRecord, tenant_pk: &str, org_id: &str) -> Item {
    let row = IdempotencyRow {
        fingerprint: record.fingerprint.as_str().into(),
        sealed: record.sealed.as_slice().into(),
        expires_s: record.expires_s,
        tenant: tenant_pk.into(),
        org_id: org_id.into(),
    };
    item_of(idempotency_key_of(&record.id), "idempotency", &row)
}

/// The idempotency record `id` stored as `item`.
pub(super) fn record_from_item(id: &str, item: &Item) -> Result<IdempotencyRecord, Error> {
    let row: IdempotencyRow = row_of(item, "idempotency")?;
    Ok(IdempotencyRecord {
        id: id.to_owned(),
        fingerprint: row.fingerprint.into_owned(),
        sealed: row.sealed.into_owned(),
        expires_s: row.expires_s,
    })
}

/// The count of a rate window item (0 when it reads as none).
pub(super) fn rate_count(item: &Item) -> u32 {
    row_of::<RateRow>(item, "rate").map_or(0, |row| row.n)
}

/// The cap of a tenant item returned by a failed condition.
pub(super) fn cap_of(item: &Item) -> u32 {
    row_of::<CapRow>(item, "tenant").map_or(0, |row| row.cap)
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

/// A string attribute of any item (keys and `type`, which no row declares).
pub(super) fn get_s(item: &Item, name: &str) -> Result<String, Error> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(name)),
    }
}

fn vendor(name: &str) -> Result<Vendor, Error> {
    name.parse().map_err(|_| corrupt("vendor"))
}

pub(super) fn tenant_item(tenant: &Tenant) -> Item {
    item_of(tenant_key(&tenant.tenant), "tenant", &tenant_row(tenant))
}

/// A child tenant, made by the create of org `org_id` in tenant `parent`.
pub(super) fn child_tenant_item(child: &Tenant, parent: &TenantRef, org_id: &str) -> Item {
    let row = TenantRow {
        parent: Some(parent.id.as_str().into()),
        org_id: Some(org_id.into()),
        ..tenant_row(child)
    };
    item_of(tenant_key(&child.tenant), "tenant", &row)
}

fn tenant_row(tenant: &Tenant) -> TenantRow<'_> {
    TenantRow {
        vendor: tenant.tenant.vendor.as_str().into(),
        tenant: tenant.tenant.id.as_str().into(),
        name: tenant.name.as_str().into(),
        cap: tenant.cap,
        org_count: tenant.org_count,
        features: tenant.features.as_slice().into(),
        rate_limit: tenant.rate_limit,
        created_ms: tenant.created_ms,
        plan: tenant.plan.as_deref().map(Cow::Borrowed),
        attributes: Cow::Borrowed(&tenant.attributes),
        parent: None,
        org_id: None,
    }
}

pub(super) fn tenant_from_item(item: &Item) -> Result<Tenant, Error> {
    let row: TenantRow = row_of(item, "tenant")?;
    Ok(Tenant {
        tenant: TenantRef::new(vendor(&row.vendor)?, row.tenant),
        name: row.name.into_owned(),
        cap: row.cap,
        org_count: row.org_count,
        plan: row.plan.map(Cow::into_owned),
        features: row.features.into_owned(),
        rate_limit: row.rate_limit,
        attributes: row.attributes.into_owned(),
        created_ms: row.created_ms,
    })
}

pub(super) fn credential_item(new: &NewCredential, org_id: Option<&str>) -> Item {
    let c = &new.credential;
    let row = CredentialRow {
        vendor: c.tenant.vendor.as_str().into(),
        tenant: c.tenant.id.as_str().into(),
        kind: c.kind.as_str().into(),
        principal: c.principal.as_str().into(),
        role: c.role.as_str().into(),
        permissions: c.permissions.as_slice().into(),
        features: c.features.as_slice().into(),
        rate_limit: c.rate_limit,
        cap: c.cap,
        created_ms: c.created_ms,
        plan: c.plan.as_deref().map(Cow::Borrowed),
        expires_s: c.expires_s,
        public_id: c.public_id.as_deref().map(Cow::Borrowed),
        org_id: org_id.map(Cow::Borrowed),
    };
    item_of(credential_key(c.tenant.vendor, &new.digest), "credential", &row)
}

/// The credential stored as `item`, and the org whose create minted it (if any).
pub(super) fn credential_from_item(item: &Item) -> Result<(Credential, Option<String>), Error> {
    let row: CredentialRow = row_of(item, "credential")?;
    let credential = Credential {
        tenant: TenantRef::new(vendor(&row.vendor)?, row.tenant),
        kind: row.kind.into_owned(),
        principal: row.principal.into_owned(),
        role: row.role.into_owned(),
        permissions: row.permissions.into_owned(),
        plan: row.plan.map(Cow::into_owned),
        features: row.features.into_owned(),
        expires_s: row.expires_s,
        rate_limit: row.rate_limit,
        cap: row.cap,
        public_id: row.public_id.map(Cow::into_owned),
        created_ms: row.created_ms,
    };
    Ok((credential, row.org_id.map(Cow::into_owned)))
}

/// The item of `new`'s organization.
pub(super) fn org_item(new: &NewOrg) -> Item {
    let org = &new.org;
    let row = OrgRow {
        org_id: org.id.as_str().into(),
        name: org.name.as_str().into(),
        created_ms: org.created_ms,
        doc: org.doc.as_str().into(),
        slug: org.slug.as_deref().map(Cow::Borrowed),
        slug_scope: new.slug_scope.as_ref().map(|scope| scope.id.as_str().into()),
        credentials: Some(new.credentials.iter().map(|c| c.digest.clone()).collect::<Vec<_>>().into()),
    };
    item_of(org_key(&new.tenant, &org.id), "org", &row)
}

pub(super) fn org_from_item(item: &Item) -> Result<Org, Error> {
    row_of::<OrgRow>(item, "org").map(|row| row.org())
}

impl OrgRow<'_> {
    /// The organization this row stores.
    pub(super) fn org(&self) -> Org {
        Org {
            id: self.org_id.to_string(),
            name: self.name.to_string(),
            slug: self.slug.as_deref().map(str::to_owned),
            created_ms: self.created_ms,
            doc: self.doc.to_string(),
        }
    }
}

/// The claim of `slug` in `scope` by org `org_id` of `tenant`.
pub(super) fn slug_item(scope: &TenantRef, slug: &str, tenant: &TenantRef, org_id: &str) -> Item {
    item_of(
        slug_key(scope, slug),
        "slug",
        &SlugRow { org_id: org_id.into(), tenant: Some(tenant.id.as_str().into()) },
    )
}

pub(super) fn member_item(tenant: &TenantRef, org_id: &str, member: &Member) -> Item {
    let key = member_key(tenant.vendor, org_id, &member.principal);
    let row = MemberRow {
        tenant: tenant.id.as_str().into(),
        org_id: org_id.into(),
        principal: member.principal.as_str().into(),
        role: member.role.as_str().into(),
    };
    item_of(key, "member", &row)
}

pub(super) fn member_from_item(item: &Item) -> Result<Member, Error> {
    let row: MemberRow = row_of(item, "member")?;
    Ok(Member { principal: row.principal.into_owned(), role: row.role.into_owned() })
}

/// Byte strings as DynamoDB binary (`B`) attributes; serde's default would make a list of numbers.
mod bytes {
    use serde::{de, Deserializer, Serializer};
    use std::borrow::Cow;

    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    pub fn deserialize<'de, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Cow<'a, [u8]>, D::Error> {
        struct Bytes;
        impl de::Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a binary attribute")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_byte_buf(Bytes).map(Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        let mut t = Tenant::new(TenantRef::new(Vendor::Calcom, "t1"), "Acme", 7, 1_700_000_000_000);
        t.org_count = 3;
        t.plan = Some("ENTERPRISE".into());
        t.features = vec!["orgs".into()];
        t.rate_limit = 120;
        t.attributes.insert("issuer".into(), "https://x".into());
        t
    }

    #[test]
    fn a_tenant_reads_back_as_it_was_written_with_the_attribute_names_of_the_table() {
        let item = tenant_item(&tenant());
        assert_eq!(item.get("type"), Some(&s("tenant")));
        assert_eq!(item.get("pk"), Some(&s("TENANT#calcom#t1")));
        assert_eq!(item.get("cap"), Some(&n(7)));
        assert_eq!(item.get("features"), Some(&AttributeValue::L(vec![s("orgs")])));
        assert!(!item.contains_key("parent"), "absent options are absent, not NULL");
        assert_eq!(tenant_from_item(&item).unwrap(), tenant());
    }

    #[test]
    fn a_credential_and_its_org_read_back() {
        let c = Credential {
            tenant: TenantRef::new(Vendor::Datadog, "p"),
            kind: "api_key".into(),
            principal: "u".into(),
            role: "admin".into(),
            permissions: vec!["org_management".into()],
            plan: None,
            features: Vec::new(),
            expires_s: Some(99),
            rate_limit: 0,
            cap: 3,
            public_id: Some("pub".into()),
            created_ms: 1,
        };
        let new = NewCredential { credential: c.clone(), digest: "d".into() };
        let item = credential_item(&new, Some("o1"));
        assert_eq!(item.get("expires_s"), Some(&n(99)));
        assert_eq!(credential_from_item(&item).unwrap(), (c, Some("o1".to_owned())));
    }

    #[test]
    fn the_sealed_answer_is_a_binary_attribute() {
        let record = IdempotencyRecord {
            id: "r".into(),
            fingerprint: "f".into(),
            sealed: vec![0, 1, 255],
            expires_s: 5,
        };
        let item = idempotency_item(&record, "TENANT#devin#t", "o");
        assert_eq!(item.get("sealed"), Some(&AttributeValue::B(vec![0, 1, 255].into())));
        assert_eq!(item.get(TTL_ATTRIBUTE), Some(&n(5)));
        assert_eq!(record_from_item("r", &item).unwrap(), record);
    }

    #[test]
    fn an_item_missing_or_mistyping_an_attribute_is_corrupt_and_named() {
        let mut item = tenant_item(&tenant());
        item.insert("cap".into(), s("seven"));
        let Err(Error::Corrupt(detail)) = tenant_from_item(&item) else {
            panic!("a string cap must not read")
        };
        assert!(detail.starts_with("tenant item"), "{detail}");
        item.remove("cap");
        let Err(Error::Corrupt(detail)) = tenant_from_item(&item) else {
            panic!("a missing cap must not read")
        };
        assert!(detail.contains("cap"), "{detail}");
    }
}

/// A signed-in client and its one session.
#[derive(Serialize, Deserialize)]
struct ClientRow<'a> {
    vendor: Text<'a>,
    client_id: Text<'a>,
    instance: Text<'a>,
    user_id: Text<'a>,
    session_id: Text<'a>,
    status: Text<'a>,
    expires_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_org: Option<Text<'a>>,
    created_ms: i64,
    updated_ms: i64,
}

pub(super) fn client_item(client: &ClientSession) -> Item {
    let row = ClientRow {
        vendor: client.vendor.as_str().into(),
        client_id: client.client_id.as_str().into(),
        instance: client.instance.as_str().into(),
        user_id: client.user_id.as_str().into(),
        session_id: client.session_id.as_str().into(),
        status: client.status.as_str().into(),
        expires_ms: client.expires_ms,
        active_org: client.active_org.as_deref().map(Cow::Borrowed),
        created_ms: client.created_ms,
        updated_ms: client.updated_ms,
    };
    item_of(client_key(client.vendor, &client.client_id), "client", &row)
}

pub(super) fn client_from_item(item: &Item) -> Result<ClientSession, Error> {
    let row: ClientRow = row_of(item, "client")?;
    Ok(ClientSession {
        vendor: vendor(&row.vendor)?,
        client_id: row.client_id.into_owned(),
        instance: row.instance.into_owned(),
        user_id: row.user_id.into_owned(),
        session_id: row.session_id.into_owned(),
        status: row.status.into_owned(),
        expires_ms: row.expires_ms,
        active_org: row.active_org.map(Cow::into_owned),
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

/// A browser origin and the tenants that allow it.
#[derive(Serialize, Deserialize)]
pub(super) struct OriginRow<'a> {
    pub origin: Text<'a>,
}

pub(super) fn origin_item(vendor: Vendor, origin: &str) -> Item {
    item_of(origin_key(vendor, origin), "origin", &OriginRow { origin: origin.into() })
}
