//! The whole table, for `orgmint verify` and the tests.

use super::prelude::*;

/// Every item of the table, typed. Read by a full `Scan`: for audits, never on a request path.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub tenants: Vec<Tenant>,
    /// Each org with the tenant whose scope holds it.
    pub orgs: Vec<(TenantRef, Org)>,
    /// Slug claims: the claimed org's tenant, slug, the org that claimed it.
    pub slugs: Vec<(TenantRef, String, String)>,
    /// Tenants' secrets, by name (never their values).
    pub secrets: Vec<(TenantRef, String)>,
    /// Memberships: the org's tenant, org id, member.
    pub members: Vec<(TenantRef, String, Member)>,
    /// Credentials, with the org whose create minted them (if any).
    pub credentials: Vec<(Credential, Option<String>)>,
    /// Idempotency records: the tenant and org of the create each answered.
    pub idempotency: Vec<(TenantRef, String)>,
    /// Signed-in clients and their sessions.
    pub clients: Vec<ClientSession>,
    /// Browser origins some tenant allows.
    pub origins: Vec<(Vendor, String)>,
    /// Items of no known type (or unreadable), by key.
    pub unknown: Vec<String>,
}

impl Inventory {
    fn add(&mut self, item: &Item) -> Result<(), Error> {
        // Orgs and slug claims live under their tenant's partition: TENANT#<vendor>#<tenant>.
        let scope = || tenant_of_pk(&get_s(item, "pk")?);
        match get_s(item, "type")?.as_str() {
            "tenant" => self.tenants.push(tenant_from_item(item)?),
            "org" => self.orgs.push((scope()?, org_from_item(item)?)),
            "slug" => {
                let slug = get_s(item, "sk")?.trim_start_matches("SLUG#").to_owned();
                let row: SlugRow = row_of(item, "slug")?;
                let scope = scope()?;
                // Claims in a wider scope name the org's own tenant.
                let tenant = row.tenant.map_or(scope.clone(), |id| TenantRef::new(scope.vendor, id));
                self.slugs.push((tenant, slug, row.org_id.into_owned()));
            }
            "member" => {
                let pk = get_s(item, "pk")?;
                let vendor: Vendor =
                    pk.split('#').nth(1).unwrap_or_default().parse().map_err(|_| corrupt("pk"))?;
                let row: MemberRow = row_of(item, "member")?;
                self.members.push((
                    TenantRef::new(vendor, row.tenant.as_ref()),
                    row.org_id.into_owned(),
                    Member { principal: row.principal.into_owned(), role: row.role.into_owned() },
                ));
            }
            "credential" => self.credentials.push(credential_from_item(item)?),
            "secret" => {
                let row: SecretRow = row_of(item, "secret")?;
                let vendor = row.vendor.parse().map_err(|_| corrupt("vendor"))?;
                self.secrets.push((TenantRef::new(vendor, row.tenant.as_ref()), row.name.into_owned()))
            }
            "client" => self.clients.push(client_from_item(item)?),
            "origin" => {
                let row: OriginRow = row_of(item, "origin")?;
                let vendor = get_s(item, "pk")?
                    .split('#')
                    .nth(1)
                    .unwrap_or_default()
                    .parse()
                    .map_err(|_| corrupt("pk"))?;
                self.origins.push((vendor, row.origin.into_owned()));
            }
            // Rate windows count requests; they hold no invariant of their own.
            "rate" => {}
            "idempotency" => {
                let row: IdempotencyRow = row_of(item, "idempotency")?;
                self.idempotency.push((tenant_of_pk(&row.tenant)?, row.org_id.into_owned()))
            }
            other => return Err(Error::Invalid(format!("unknown item type '{other}'"))),
        }
        Ok(())
    }
}

impl Store {
    pub async fn inventory(&self) -> Result<Inventory, Error> {
        let mut inventory = Inventory::default();
        let mut items =
            self.client.scan().table_name(&self.table).consistent_read(true).into_paginator().items().send();
        while let Some(item) = items.next().await {
            let item = item.map_err(|e| unavailable("Scan", &e))?;
            if let Err(e) = inventory.add(&item) {
                let key = format!(
                    "{}/{}",
                    get_s(&item, "pk").unwrap_or_default(),
                    get_s(&item, "sk").unwrap_or_default()
                );
                inventory.unknown.push(format!("{key}: {e}"));
            }
        }
        Ok(inventory)
    }
}
