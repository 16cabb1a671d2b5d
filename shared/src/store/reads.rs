//! Operators' and tests' reads: a tenant, its secrets, its organizations and their members.

use super::prelude::*;

impl Store {
    pub async fn tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, Error> {
        self.get(tenant_key(tenant), true).await?.map(|item| tenant_from_item(&item)).transpose()
    }

    /// A secret stored with [`Store::create_tenant_with_secrets`]; `None` when there is none by that name.
    pub async fn tenant_secret(&self, tenant: &TenantRef, name: &str) -> Result<Option<String>, Error> {
        let item = self.get(secret_key(tenant, name), true).await?;
        item.map(|item| row_of::<SecretRow>(&item, "secret").map(|row| row.value.into_owned())).transpose()
    }

    /// One organization of `tenant`, read consistently.
    pub async fn org(&self, tenant: &TenantRef, org_id: &str) -> Result<Option<Org>, Error> {
        self.get(org_key(tenant, org_id), true).await?.map(|item| org_from_item(&item)).transpose()
    }

    /// The item under `key` (one `GetItem`); `None` when there is none.
    pub(super) async fn get(&self, key: Item, consistent: bool) -> Result<Option<Item>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        Ok(out.item)
    }

    /// The organizations stored in a tenant's scope, counted by one (paginated) `Query`.
    pub async fn count_orgs(&self, tenant: &TenantRef) -> Result<u32, Error> {
        // Select::Count would save only bytes on the wire: DynamoDB charges the same read either way.
        Ok(self.query_prefix(&tenant_pk(tenant), "ORG#").await?.len() as u32)
    }

    /// The organizations of a tenant, in id order.
    pub async fn orgs(&self, tenant: &TenantRef) -> Result<Vec<Org>, Error> {
        self.query_prefix(&tenant_pk(tenant), "ORG#").await?.iter().map(org_from_item).collect()
    }

    /// The members of an organization.
    pub async fn members(&self, vendor: Vendor, org_id: &str) -> Result<Vec<Member>, Error> {
        let items = self.query_prefix(&org_pk(vendor, org_id), "MEMBER#").await?;
        items.iter().map(member_from_item).collect()
    }

    /// The tenant of org `tenant` and the membership of `principal` in that org, in one consistent
    /// `BatchGetItem`: what a Cal.com key acting on another organization than its own needs.
    pub async fn tenant_and_member(
        &self,
        tenant: &TenantRef,
        principal: &str,
    ) -> Result<(Option<Tenant>, Option<Member>), Error> {
        let (tenant_key, member_key) = (tenant_key(tenant), member_key(tenant.vendor, &tenant.id, principal));
        let found = self.batch_get(vec![tenant_key.clone(), member_key.clone()], true).await?;
        Ok((
            found_item(&found, &tenant_key).map(tenant_from_item).transpose()?,
            found_item(&found, &member_key).map(member_from_item).transpose()?,
        ))
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, read consistently, all pages.
    pub(super) async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, Error> {
        self.query_partition(pk, Some(prefix)).await
    }

    /// Every item of partition `pk` (whose sort key starts with `prefix`, when given), read consistently,
    /// all pages.
    pub(super) async fn query_partition(&self, pk: &str, prefix: Option<&str>) -> Result<Vec<Item>, Error> {
        let query = self.client.query().table_name(&self.table).expression_attribute_values(":pk", s(pk));
        let query = match prefix {
            Some(prefix) => query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix)),
            None => query.key_condition_expression("pk = :pk"),
        };
        query
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(|e| unavailable("Query", &e))
    }
}
