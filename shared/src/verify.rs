//! The table's invariants, checked over an [`Inventory`]: what `orgmint verify` and the tests report.

use std::collections::{HashMap, HashSet};

use crate::model::TenantRef;
use crate::store::Inventory;

/// Every invariant the inventory breaks, one sentence each; empty when the table is sound.
pub fn violations(inv: &Inventory) -> Vec<String> {
    let mut found = Vec::new();
    let mut orgs_per_tenant: HashMap<&TenantRef, u32> = HashMap::new();
    let mut org_keys: HashSet<(&TenantRef, &str)> = HashSet::new();
    for (tenant, org) in &inv.orgs {
        *orgs_per_tenant.entry(tenant).or_default() += 1;
        org_keys.insert((tenant, org.id.as_str()));
    }
    let tenants: HashSet<&TenantRef> = inv.tenants.iter().map(|t| &t.tenant).collect();
    for t in &inv.tenants {
        let stored = orgs_per_tenant.get(&t.tenant).copied().unwrap_or(0);
        if t.org_count != stored {
            found.push(format!(
                "{} {}: counter {} but {} orgs stored",
                t.tenant.vendor, t.tenant.id, t.org_count, stored
            ));
        }
        if stored > t.cap {
            found.push(format!(
                "{} {}: {} orgs over its cap of {}",
                t.tenant.vendor, t.tenant.id, stored, t.cap
            ));
        }
    }
    for (tenant, org) in &inv.orgs {
        if !tenants.contains(tenant) {
            found.push(format!("org {} belongs to missing tenant {} {}", org.id, tenant.vendor, tenant.id));
        }
    }
    let mut orgs_with_slug: HashMap<(&TenantRef, &str), u32> = HashMap::new();
    for (tenant, slug, org_id) in &inv.slugs {
        if !org_keys.contains(&(tenant, org_id.as_str())) {
            found.push(format!(
                "slug '{slug}' of {} {} claims missing org {org_id}",
                tenant.vendor, tenant.id
            ));
        }
        *orgs_with_slug.entry((tenant, org_id.as_str())).or_default() += 1;
    }
    for (tenant, org) in &inv.orgs {
        let claims = orgs_with_slug.get(&(tenant, org.id.as_str())).copied().unwrap_or(0);
        if org.slug.is_some() && claims != 1 {
            found.push(format!("org {} has slug {:?} but {claims} slug claims", org.id, org.slug));
        }
    }
    // A client is of an instance and of one of its users' accounts. (Its active organization may be gone:
    // a delete leaves it, and the session reads as the personal account.)
    for client in &inv.clients {
        let instance = TenantRef::new(client.vendor, client.instance.as_str());
        let account = TenantRef::new(client.vendor, format!("{}/{}", client.instance, client.user_id));
        if !tenants.contains(&instance) || !tenants.contains(&account) {
            found.push(format!("client {} of missing instance or user {}", client.client_id, account.id));
        }
    }
    for (tenant, org_id, member) in &inv.members {
        if !org_keys.contains(&(tenant, org_id.as_str())) {
            found.push(format!("member {} of missing org {org_id}", member.principal));
        }
    }
    for (credential, org_id) in &inv.credentials {
        if !tenants.contains(&credential.tenant) {
            found.push(format!(
                "{} credential of missing tenant {} {}",
                credential.kind, credential.tenant.vendor, credential.tenant.id
            ));
        }
        if let Some(org_id) = org_id {
            if !inv.orgs.iter().any(|(_, org)| &org.id == org_id) {
                found.push(format!("{} credential minted for missing org {org_id}", credential.kind));
            }
        }
    }
    // An idempotency record may outlive the org it answers for: a create's after the org's delete, and a
    // delete's by design. Both expire on their own (TTL).
    for (tenant, name) in &inv.secrets {
        if !tenants.contains(tenant) {
            found.push(format!("secret '{name}' of missing tenant {} {}", tenant.vendor, tenant.id));
        }
    }
    found.extend(inv.unknown.iter().map(|u| format!("unreadable item {u}")));
    found
}
