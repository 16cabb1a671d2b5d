//! Provisioning: the table, tenants, their credentials and secrets.

use super::prelude::*;

impl Store {
    /// Creates a tenant with its first credentials, all or nothing. A tenant that exists already is refused.
    pub async fn create_tenant(&self, tenant: &Tenant, credentials: &[NewCredential]) -> Result<(), Error> {
        self.create_tenant_with_secrets(tenant, credentials, &[]).await
    }

    /// [`Store::create_tenant`], and secrets of the tenant (name, value) that only operators read back
    /// ([`Store::tenant_secret`]): all in one transaction.
    pub async fn create_tenant_with_secrets(
        &self,
        tenant: &Tenant,
        credentials: &[NewCredential],
        secrets: &[(&str, &str)],
    ) -> Result<(), Error> {
        let mut items = vec![put(&self.table, tenant_item(tenant))];
        items.extend(credentials.iter().map(|c| put(&self.table, credential_item(c, None))));
        items.extend(
            secrets.iter().map(|(name, value)| put(&self.table, secret_item(&tenant.tenant, name, value))),
        );
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(
            |e| match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(_)) => {
                    Error::Invalid(format!("tenant '{}' already exists", tenant.tenant.id))
                }
                _ => unavailable("TransactWriteItems", &e),
            },
        )?;
        Ok(())
    }

    /// Adds credentials to an existing tenant (e.g. a second user's key).
    pub async fn add_credentials(&self, credentials: &[NewCredential]) -> Result<(), Error> {
        let items = credentials.iter().map(|c| put(&self.table, credential_item(c, None))).collect();
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| unavailable("TransactWriteItems", &e))?;
        Ok(())
    }

    /// Creates the table if it is missing, with TTL on `expires_at`. Returns whether it was created.
    pub async fn create_table(&self) -> Result<bool, Error> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key element")
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(false),
            Err(e) => return Err(unavailable("CreateTable", &e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .expect("ttl specification"),
            )
            .send()
            .await
            .map_err(|e| unavailable("UpdateTimeToLive", &e))?;
        Ok(true)
    }
}
