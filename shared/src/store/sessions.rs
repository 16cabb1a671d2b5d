//! Signed-in clients (Clerk's Frontend API authenticates a browser or device, not a user): what a
//! client's request reads in one round trip, the organization its session makes active, and the browser
//! origins tenants allow.

use super::prelude::*;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;

/// The keys a signed-in client's request reads, all named by its (signed) client token.
pub struct SignInKeys<'a> {
    pub instance: &'a TenantRef,
    /// The user's account: the cap's scope.
    pub account: &'a TenantRef,
    pub client_id: &'a str,
    pub rate_key: Option<&'a str>,
    pub idempotency: Option<&'a IdempotencyKey>,
    /// Also the account's organizations (the user's memberships), read by a `Query` of the account's
    /// partition that runs beside the `BatchGetItem`.
    pub with_orgs: bool,
}

/// What [`Store::signed_in`] found; each item `None` when it does not exist.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub instance: Option<Tenant>,
    pub client: Option<ClientSession>,
    pub account: Option<Tenant>,
    /// The account's organizations in id order (empty unless [`SignInKeys::with_orgs`]).
    pub orgs: Vec<Org>,
    pub rate_used: u32,
    pub prior: Option<IdempotencyRecord>,
}

impl Store {
    /// The instance, the client, the account (with its organizations when asked), the rate window's count
    /// and the `Idempotency-Key` record, read consistently: one `BatchGetItem`, and with the organizations
    /// one `Query` of the account's partition at the same time (it returns the account item too).
    pub async fn signed_in(&self, keys: &SignInKeys<'_>, now_s: i64) -> Result<SignedIn, Error> {
        let vendor = keys.instance.vendor;
        let (instance_key, client_key, account_key) =
            (tenant_key(keys.instance), client_key(vendor, keys.client_id), tenant_key(keys.account));
        let mut batch = vec![instance_key.clone(), client_key.clone()];
        if !keys.with_orgs {
            push_once(&mut batch, account_key.clone());
        }
        let window_key = keys.rate_key.map(|key| rate_item_key(key, now_s.div_euclid(rate::WINDOW_S)));
        batch.extend(window_key.clone());
        batch.extend(keys.idempotency.map(idempotency_key));
        let partition = async {
            match keys.with_orgs {
                true => self.query_partition(&tenant_pk(keys.account), None).await.map(Some),
                false => Ok(None),
            }
        };
        let (found, partition) = tokio::join!(self.batch_get(batch, true), partition);
        let (found, partition) = (found?, partition?);
        let (account, orgs) = match &partition {
            Some(items) => {
                let account = items.iter().find(|i| i.get("sk") == Some(&s("TENANT")));
                let orgs = items
                    .iter()
                    .filter(|i| matches!(i.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with("ORG#")));
                (
                    account.map(tenant_from_item).transpose()?,
                    orgs.map(org_from_item).collect::<Result<_, _>>()?,
                )
            }
            None => (found_item(&found, &account_key).map(tenant_from_item).transpose()?, Vec::new()),
        };
        Ok(SignedIn {
            instance: found_item(&found, &instance_key).map(tenant_from_item).transpose()?,
            client: found_item(&found, &client_key).map(client_from_item).transpose()?,
            account,
            orgs,
            rate_used: window_key.and_then(|key| found_item(&found, &key)).map_or(0, rate_count),
            prior: live_record(&found, keys.idempotency, now_s)?,
        })
    }

    /// Signs a client in (the CLI's `clerk session`): a fresh client id never overwrites another.
    pub async fn create_client_session(&self, client: &ClientSession) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(client)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| unavailable("PutItem", &e))?;
        Ok(())
    }

    /// Makes `org` (`None`: the personal account) the active organization of the client's session
    /// `session_id`, on condition that the session is the client's and signed in at `now_ms`: one
    /// `UpdateItem`, which returns the client as it now is. `Ok(None)` when the condition failed.
    pub async fn set_active_org(
        &self,
        vendor: Vendor,
        client_id: &str,
        session_id: &str,
        org: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<ClientSession>, Error> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(vendor, client_id)))
            .condition_expression(
                "attribute_exists(pk) AND session_id = :sid AND #status = :active AND expires_ms > :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":active", s(ClientSession::ACTIVE))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew);
        let update = match org {
            Some(org) => update
                .update_expression("SET active_org = :org, updated_ms = :now")
                .expression_attribute_values(":org", s(org)),
            None => update.update_expression("SET updated_ms = :now REMOVE active_org"),
        };
        match update.send().await {
            Ok(out) => out.attributes.map(|item| client_from_item(&item)).transpose(),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(unavailable("UpdateItem", &err)),
        }
    }

    /// Records that some tenant of `vendor` allows the browser origin `origin` (answered preflights).
    pub async fn allow_origin(&self, vendor: Vendor, origin: &str) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(origin_item(vendor, origin)))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", &e))?;
        Ok(())
    }

    /// Whether some tenant of `vendor` allows the browser origin `origin`: one `GetItem`.
    pub async fn origin_allowed(&self, vendor: Vendor, origin: &str) -> Result<bool, Error> {
        Ok(self.get(origin_key(vendor, origin), false).await?.is_some())
    }
}
