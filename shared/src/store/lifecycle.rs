//! An organization's life after its create: its update (the slug claim moving with it) and its delete —
//! one read of what belongs to it, then one `TransactWriteItems` that removes it all and gives its slot of
//! the cap back, on condition that it still exists, so a second delete (or one racing the first) finds
//! nothing, and the counter never goes below the orgs stored.

use super::create::Cancellation;
use super::prelude::*;
use aws_sdk_dynamodb::types::Delete;

/// An organization's new name, slug and document.
#[derive(Debug, Clone)]
pub struct OrgChange {
    pub name: String,
    pub slug: Option<String>,
    pub doc: String,
}

/// What a change writes in its own transaction for the request's `Idempotency-Key`: the record of the
/// answer it gives, made from the organization as the change leaves it (as it was, for a delete).
pub type Recorder<'a> = &'a (dyn Fn(&Org) -> IdempotencyRecord + Send + Sync);

/// What became of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Updated(Org),
    /// No such organization in that scope.
    NotFound,
    /// The new slug is claimed by another organization of the scope: nothing changed.
    SlugTaken,
    /// A request with the same `Idempotency-Key` changed it first: its record, to answer as it did.
    Twin(IdempotencyRecord),
}

/// What became of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// Gone, with its slug claim, memberships, credentials and child scope; the tenant's counter after it,
    /// and the organization as it was.
    Deleted { org_count: u32, org: Box<Org> },
    /// No such organization in that scope (or already deleted).
    NotFound,
    /// Its own scope (a Datadog child, a Cal.com managed org) still holds organizations: nothing deleted.
    HasOrgs,
    /// A request with the same `Idempotency-Key` deleted it first: its record, to answer as it did.
    Twin(IdempotencyRecord),
}

impl Store {
    /// Changes organization `org_id` of `tenant`: `change` gives its new name, slug and document from the
    /// stored org. The org is read, then written back on condition that its document is still the one read
    /// (a concurrent change makes it read again, up to three times); a new slug's claim is taken in
    /// `slug_scope` and the old one released in the same transaction.
    pub async fn update_org(
        &self,
        tenant: &TenantRef,
        slug_scope: &TenantRef,
        org_id: &str,
        change: impl Fn(&Org) -> OrgChange,
    ) -> Result<Updated, Error> {
        self.update_org_once(tenant, slug_scope, org_id, change, None).await
    }

    /// [`Store::update_org`] with the `Idempotency-Key` record `record` makes of the updated org, written in
    /// the update's own transaction: a duplicate that lost to its twin gets [`Updated::Twin`].
    pub async fn update_org_once(
        &self,
        tenant: &TenantRef,
        slug_scope: &TenantRef,
        org_id: &str,
        change: impl Fn(&Org) -> OrgChange,
        record: Option<Recorder<'_>>,
    ) -> Result<Updated, Error> {
        for _ in 0..3 {
            let Some(org) = self.org(tenant, org_id).await? else { return Ok(Updated::NotFound) };
            let OrgChange { name, slug, doc } = change(&org);
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(org_key(tenant, org_id)))
                .condition_expression("attribute_exists(pk) AND doc = :old")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(&name))
                .expression_attribute_values(":doc", s(&doc))
                .expression_attribute_values(":old", s(&org.doc));
            update = match &slug {
                Some(slug) => update
                    .update_expression("SET #name = :name, doc = :doc, slug = :slug")
                    .expression_attribute_values(":slug", s(slug)),
                None => update.update_expression("SET #name = :name, doc = :doc REMOVE slug"),
            };
            let mut items = vec![TransactWriteItem::builder()
                .update(update.build().expect("update has its key"))
                .build()];
            let moved = slug != org.slug;
            let mut claim_index = None;
            if moved {
                if let Some(old) = &org.slug {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(slug_key(slug_scope, old)))
                        .build()
                        .expect("delete has its key");
                    items.push(TransactWriteItem::builder().delete(delete).build());
                }
                if let Some(new) = &slug {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(slug_item(slug_scope, new, tenant, org_id)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("put has its item");
                    items.push(TransactWriteItem::builder().put(put).build());
                    claim_index = Some(items.len() - 1);
                }
            }
            let updated = Org { name, slug, doc, ..org };
            let ours = record.map(|record| record(&updated));
            let record_index = ours.as_ref().map(|ours| {
                items.push(self.record_put(ours, &tenant_pk(tenant), org_id));
                items.len() - 1
            });
            let result =
                self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let err = match result {
                Ok(_) => return Ok(Updated::Updated(updated)),
                Err(err) => err,
            };
            let cancelled = Cancellation::of(&err)?;
            if let Some(twin) = cancelled.twin(record_index, ours.as_ref()) {
                return twin.map(Updated::Twin);
            }
            // The new claim: taken by another org.
            if claim_index.is_some_and(|i| cancelled.failed(i)) {
                return Ok(Updated::SlugTaken);
            }
            if !cancelled.failed(0) && !cancelled.conflict() {
                return Err(Error::Unavailable(format!("update cancelled: {}", cancelled.codes())));
            }
            // Changed (or deleted) since it was read: read it again.
        }
        Err(Error::Unavailable(format!("org {org_id} kept changing while it was updated")))
    }

    /// Deletes organization `org_id` of `tenant`: the org, its slug claim, its memberships, the credentials
    /// its create minted and its own scope (a child tenant, when empty), and the tenant's counter goes down,
    /// all in one transaction conditioned on the org existing. Two round trips: the org, its child scope,
    /// the tenant and the memberships are read first (at once).
    pub async fn delete_org(&self, tenant: &TenantRef, org_id: &str) -> Result<Deleted, Error> {
        self.delete_org_and(tenant, org_id, Vec::new(), None).await
    }

    /// [`Store::delete_org`] with the `Idempotency-Key` record `record` makes of the org, written in the
    /// delete's own transaction: a duplicate that lost to its twin gets [`Deleted::Twin`], not a 404.
    pub async fn delete_org_once(
        &self,
        tenant: &TenantRef,
        org_id: &str,
        record: Option<Recorder<'_>>,
    ) -> Result<Deleted, Error> {
        self.delete_org_and(tenant, org_id, Vec::new(), record).await
    }

    /// [`Store::delete_org`] for operators: an org created before its row listed the credentials its create
    /// minted has them found by a `Scan` (which no function may do) and deleted with it.
    pub async fn delete_org_scanning(&self, tenant: &TenantRef, org_id: &str) -> Result<Deleted, Error> {
        let legacy = match self.org_row_lists_credentials(tenant, org_id).await? {
            Some(false) => self.credential_keys_of(tenant.vendor, org_id).await?,
            _ => Vec::new(),
        };
        self.delete_org_and(tenant, org_id, legacy, None).await
    }

    /// Whether the org's row lists its credentials (`None`: no such org).
    async fn org_row_lists_credentials(
        &self,
        tenant: &TenantRef,
        org_id: &str,
    ) -> Result<Option<bool>, Error> {
        let item = self.get(org_key(tenant, org_id), true).await?;
        item.map(|item| row_of::<OrgRow>(&item, "org").map(|row| row.credentials.is_some())).transpose()
    }

    /// The delete, with `more_credentials` (found elsewhere) deleted too.
    async fn delete_org_and(
        &self,
        tenant: &TenantRef,
        org_id: &str,
        more_credentials: Vec<Item>,
        record: Option<Recorder<'_>>,
    ) -> Result<Deleted, Error> {
        let (org_key, child_key, tenant_key) =
            (org_key(tenant, org_id), tenant_key(&TenantRef::new(tenant.vendor, org_id)), tenant_key(tenant));
        let members_pk = org_pk(tenant.vendor, org_id);
        let members = self.query_prefix(&members_pk, "MEMBER#");
        let (found, members) = tokio::join!(
            self.batch_get(vec![org_key.clone(), child_key.clone(), tenant_key.clone()], true),
            members
        );
        let (found, members) = (found?, members?);
        let Some(org_item) = found_item(&found, &org_key) else { return Ok(Deleted::NotFound) };
        // The counter the transaction takes one from (read with the org, so the answer costs no third read).
        let org_count =
            found_item(&found, &tenant_key).map(tenant_from_item).transpose()?.map_or(0, |t| t.org_count);
        let row: OrgRow = row_of(org_item, "org")?;
        let org = row.org();
        // A child scope is the tenant named by the org's id that the org made (its `org_id` says so).
        let child = found_item(&found, &child_key)
            .filter(|item| get_s(item, "org_id").ok().as_deref() == Some(org_id));
        let mut credentials: Vec<Item> = row
            .credentials
            .iter()
            .flat_map(|digests| digests.iter())
            .map(|d| credential_key(tenant.vendor, d))
            .collect();
        credentials.extend(more_credentials);

        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(tenant_key))
            .update_expression("SET org_count = org_count - :one")
            .condition_expression("attribute_exists(pk) AND org_count > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .expect("counter update has its key and expression");
        let delete = |key: Item, condition: Option<&str>| {
            let builder = Delete::builder().table_name(&self.table).set_key(Some(key));
            let builder = match condition {
                Some(condition) => builder.condition_expression(condition),
                None => builder,
            };
            TransactWriteItem::builder()
                .delete(builder.build().expect("delete has its table and key"))
                .build()
        };
        let mut items = vec![
            TransactWriteItem::builder().update(counter).build(),
            delete(org_key, Some("attribute_exists(pk)")),
        ];
        let child_index = child.map(|_| {
            let update = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(child_key.clone()))
                .condition_expression("attribute_not_exists(pk) OR org_count = :zero")
                .expression_attribute_values(":zero", n(0))
                .build()
                .expect("delete has its table and key");
            items.push(TransactWriteItem::builder().delete(update).build());
            items.len() - 1
        });
        if let Some(slug) = &row.slug {
            let scope = row
                .slug_scope
                .as_deref()
                .map_or_else(|| legacy_slug_scope(tenant), |id| TenantRef::new(tenant.vendor, id));
            items.push(delete(slug_key(&scope, slug), None));
        }
        for member in &members {
            let principal = get_s(member, "principal")?;
            items.push(delete(member_key(tenant.vendor, org_id, &principal), None));
        }
        for key in credentials {
            items.push(delete(key, None));
        }
        let ours = record.map(|record| record(&org));
        let record_index = ours.as_ref().map(|ours| {
            items.push(self.record_put(ours, &tenant_pk(tenant), org_id));
            items.len() - 1
        });

        let token = ids::random_hex(32);
        for attempt in 1..=super::create::CONFLICT_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let err = match result {
                Ok(_) => break,
                Err(err) => err,
            };
            let cancelled = Cancellation::of(&err)?;
            if let Some(twin) = cancelled.twin(record_index, ours.as_ref()) {
                return twin.map(Deleted::Twin);
            }
            if cancelled.failed(1) {
                return Ok(Deleted::NotFound);
            }
            if child_index.is_some_and(|i| cancelled.failed(i)) {
                return Ok(Deleted::HasOrgs);
            }
            if cancelled.failed(0) {
                return Err(Error::Corrupt(format!("tenant {} counts no org but holds {org_id}", tenant.id)));
            }
            if !cancelled.conflict() || attempt == super::create::CONFLICT_ATTEMPTS {
                return Err(Error::Unavailable(format!("delete cancelled: {}", cancelled.codes())));
            }
            crate::telemetry::conflict_retried();
            tokio::time::sleep(super::create::jittered_backoff(attempt)).await;
        }
        // A concurrent create or delete may have moved it since the read: the count as of this delete.
        Ok(Deleted::Deleted { org_count: org_count.saturating_sub(1), org: Box::new(org) })
    }

    /// The keys of the credentials whose item names `org_id` as the org that minted them: a `Scan`, for
    /// orgs created before their row listed their credentials.
    async fn credential_keys_of(&self, vendor: Vendor, org_id: &str) -> Result<Vec<Item>, Error> {
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#type = :credential AND org_id = :org AND vendor = :vendor")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":credential", s("credential"))
            .expression_attribute_values(":org", s(org_id))
            .expression_attribute_values(":vendor", s(vendor.as_str()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(|e| unavailable("Scan", &e))?;
        Ok(items
            .into_iter()
            .map(|item| Item::from_iter(item.into_iter().filter(|(name, _)| name == "pk" || name == "sk")))
            .collect())
    }
}

/// The slug scope of an org whose row does not name it: the tenant, or for an account within an instance
/// (`<instance>/<user>`, Clerk) the instance, where Clerk's slugs are claimed.
fn legacy_slug_scope(tenant: &TenantRef) -> TenantRef {
    match tenant.id.split_once('/') {
        Some((instance, _)) => TenantRef::new(tenant.vendor, instance),
        None => tenant.clone(),
    }
}
