//! The domain's nouns. Vendor crates fill them; the store persists them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The four dialects orgmint speaks. Every key is namespaced by vendor, so a credential minted for one
/// vendor never authenticates at another's endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    Calcom,
    Datadog,
    Clerk,
    Devin,
}

impl Vendor {
    pub const ALL: [Vendor; 4] = [Vendor::Calcom, Vendor::Datadog, Vendor::Clerk, Vendor::Devin];

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Calcom => "calcom",
            Vendor::Datadog => "datadog",
            Vendor::Clerk => "clerk",
            Vendor::Devin => "devin",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Vendor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown vendor '{s}' (expected calcom, datadog, clerk or devin)"))
    }
}

/// The cap of a tenant that a create makes (a Cal.com or Datadog child): `ORGMINT_DEFAULT_CAP`, else 100.
pub fn default_cap() -> u32 {
    std::env::var("ORGMINT_DEFAULT_CAP").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

/// Names a tenant: the scope a cap applies to (a Cal.com manager org, a Datadog parent org, a Clerk user
/// account within an instance, a Devin enterprise).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantRef {
    pub vendor: Vendor,
    pub id: String,
}

impl TenantRef {
    pub fn new(vendor: Vendor, id: impl Into<String>) -> Self {
        TenantRef { vendor, id: id.into() }
    }
}

/// A tenant and its counter. `org_count` is only ever changed by the create transaction, together with
/// the organization it counts, so it always equals the number of stored organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub tenant: TenantRef,
    pub name: String,
    pub cap: u32,
    pub org_count: u32,
    /// Plan name where the vendor has plans (Cal.com), else `None`.
    pub plan: Option<String>,
    /// Feature flags the vendor checks (e.g. multi-organization, organizations enabled).
    pub features: Vec<String>,
    /// Requests per minute per credential; 0 turns limiting off.
    pub rate_limit: u32,
    /// Further public settings of the tenant, vendor-defined (e.g. a verification key, an issuer).
    /// Never secrets: see [`crate::Store::tenant_secret`] for those.
    pub attributes: BTreeMap<String, String>,
    pub created_ms: i64,
}

impl Tenant {
    pub fn new(tenant: TenantRef, name: impl Into<String>, cap: u32, created_ms: i64) -> Self {
        Tenant {
            tenant,
            name: name.into(),
            cap,
            org_count: 0,
            plan: None,
            features: Vec::new(),
            rate_limit: 120,
            attributes: BTreeMap::new(),
            created_ms,
        }
    }
}

/// What a secret grants. Stored under the secret's digest; everything authorization needs is here, so a
/// request is authenticated and authorized by one `GetItem`. The tenant's plan and features are copied in
/// when the credential is minted for that reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub tenant: TenantRef,
    /// What kind of secret this is, in the vendor's terms (e.g. `api_key`, `app_key`, `client_secret`).
    pub kind: String,
    /// Who acts with it (a user id, a handle).
    pub principal: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub plan: Option<String>,
    pub features: Vec<String>,
    /// Unix seconds after which it no longer authenticates; `None` never expires.
    pub expires_s: Option<i64>,
    pub rate_limit: u32,
    /// The cap of its tenant when it was issued: the tenants its creates make inherit it.
    pub cap: u32,
    /// A public identifier that goes with the secret (e.g. an OAuth client id), if any.
    pub public_id: Option<String>,
    pub created_ms: i64,
}

/// The tenant feature `--nested`: the orgs its creates make may create orgs of their own. Without it they
/// cannot, so that a tenant's cap bounds everything it can create.
pub const NESTED: &str = "nested";

impl Credential {
    /// The tenant an org created with this credential becomes (a Datadog child, a Cal.com managed org):
    /// the caller's cap, rate limit, plan and features. Without [`NESTED`] the vendor then takes away what
    /// lets it create (Datadog's multi-org feature, Cal.com's platform plan).
    pub fn child_tenant(&self, tenant: TenantRef, name: &str, now_ms: i64) -> Tenant {
        let mut child = Tenant::new(tenant, name, self.cap, now_ms);
        child.rate_limit = self.rate_limit;
        child.plan = self.plan.clone();
        child.features = self.features.clone();
        child
    }

    /// Whether the orgs this credential creates may create orgs of their own.
    pub fn nests(&self) -> bool {
        self.has_feature(NESTED)
    }

    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Expired from the second `expires_s` on: exact to the second, not to the day.
    pub fn is_expired_at(&self, now_s: i64) -> bool {
        self.expires_s.is_some_and(|at| now_s >= at)
    }
}

/// A credential about to be stored: the digest of its secret and what it grants. The secret itself is
/// never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub digest: String,
    pub credential: Credential,
}

/// An organization as stored. `doc` is the vendor's own rendering of it (JSON, without secrets), opaque
/// to the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub slug: Option<String>,
    pub created_ms: i64,
    pub doc: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub principal: String,
    pub role: String,
}

/// Everything one create writes, in one transaction: the counter, the org, its slug claim, its members,
/// the credentials minted for it, and — where the new org is itself a scope (Cal.com, Datadog) — its
/// tenant item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrg {
    pub tenant: TenantRef,
    pub org: Org,
    /// The scope the slug is unique in, when wider than `tenant` (e.g. every account of one instance);
    /// `None`: the tenant itself.
    pub slug_scope: Option<TenantRef>,
    pub members: Vec<Member>,
    pub credentials: Vec<NewCredential>,
    pub child_tenant: Option<Tenant>,
    /// The caller's rate window, charged by the same transaction on condition that it is not full.
    pub rate: Option<crate::rate::RateWindow>,
    /// The `Idempotency-Key` record of this create, written by the same transaction.
    pub idempotency: Option<crate::idempotency::IdempotencyRecord>,
}

/// A browser or device signed in to a tenant (Clerk's *client*), with its one session: whose it is, until
/// when, and the organization the session has active. orgmint signs users in from the CLI only, one
/// session per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSession {
    pub vendor: Vendor,
    pub client_id: String,
    /// The tenant signed in to (a Clerk instance).
    pub instance: String,
    pub user_id: String,
    pub session_id: String,
    /// `active` while signed in; anything else (`ended`, `removed`, `revoked`) is signed out.
    pub status: String,
    /// Unix milliseconds after which the session is over.
    pub expires_ms: i64,
    /// The organization the session has active; `None`: the personal account.
    pub active_org: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl ClientSession {
    pub const ACTIVE: &'static str = "active";

    /// Signed in at `now_ms`: active and not expired.
    pub fn is_active_at(&self, now_ms: i64) -> bool {
        self.status == Self::ACTIVE && now_ms < self.expires_ms
    }
}
