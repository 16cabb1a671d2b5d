//! The DynamoDB store: the one place that knows the table's keys, attribute names, conditions and
//! transactions.
//!
//! One table, string keys `pk`/`sk`, TTL attribute `expires_at`:
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | tenant (the cap scope and its counter) | `TENANT#<vendor>#<tenant>` | `TENANT` |
//! | organization | `TENANT#<vendor>#<tenant>` | `ORG#<org id>` |
//! | slug claim | `TENANT#<vendor>#<slug scope>` | `SLUG#<slug>` |
//! | membership | `ORG#<vendor>#<org id>` | `MEMBER#<principal>` |
//! | credential | `CRED#<sha-256 of the secret>` | `CRED` |
//! | rate window of a credential | `RATE#<sha-256 of the secret>` | `W#<minute number>` |
//! | rate window of another key (e.g. a session's account) | `RATE#<key>` | `W#<minute number>` |
//! | a tenant's secret (e.g. a signing key) | `SECRET#<vendor>#<tenant>` | `SECRET#<name>` |
//! | idempotency record (TTL 24 h) | `IDEM#<record id>` | `IDEM` |
//!
//! The slug scope is the tenant unless the create names a wider one ([`NewOrg::slug_scope`]). Secrets
//! live in a partition of their own, which request paths never read (IAM can deny `SECRET#*` leading keys
//! to the functions).
//!
//! Authentication is one `BatchGetItem` (the credentials and the rate window); a tenant's orgs are one `Query`; a create is one `TransactWriteItems`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use crate::deadline::DeadlineGuard;
use crate::error::{AuthFailure, Denied, Error, IdempotencyProblem};
use crate::idempotency::{IdempotencyKey, IdempotencyRecord};
use crate::model::{Credential, Member, NewCredential, NewOrg, Org, Tenant, TenantRef, Vendor};
use crate::rate::{self, RateWindow};
use crate::round_trips::RoundTripCounter;
use crate::{clock, ids};

/// The table's name when `ORGMINT_TABLE` is not set.
pub const DEFAULT_TABLE: &str = "orgmint";
/// The TTL attribute (idempotency records and other items that may vanish on their own).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// How often a create is tried again when DynamoDB reports a `TransactionConflict` (another transaction
/// touched the same tenant counter at the same moment). DynamoDB Local never reports one; the SDK does not
/// retry it.
const CONFLICT_ATTEMPTS: u32 = 6;
/// No retry starts after this long: the whole request must end well within API Gateway's 29 s.
const CONFLICT_DEADLINE: Duration = Duration::from_secs(4);

type Item = HashMap<String, AttributeValue>;

/// What one authentication round trip found: each presented credential, the rate window of the first,
/// and the record of the request's `Idempotency-Key` when one is live.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub credentials: Vec<Result<Credential, Error>>,
    pub rate: RateWindow,
    pub prior: Option<IdempotencyRecord>,
}

/// The root certificates of Amazon Trust Services (amazontrust.com/repository), which issue every AWS
/// service endpoint's certificate: Amazon Root CA 1–4 and Starfield Services Root CA G2. SHA-256 (of the
/// DER) 8ECDE688…196E, 1BA5B2AA…6DB4, 18CE6CFE…B3A4, E35D2841…7092, 568D6905…DAB5.
const AMAZON_TRUST_ROOTS: &[u8] = include_bytes!("amazon-trust-roots.pem");

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the environment, as
/// `aws-smithy-runtime` builds it), trusting only [`AMAZON_TRUST_ROOTS`]. The default loads the system's
/// whole store when the client is first used (here a 200 kB bundle and 146 files): 6.2 of the 9.5 ms of CPU
/// the SDK floor spends from exec to its first `next` (`perf stat`), and the larger part of its cold start.
fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_ROOTS))
        .build()
        .expect("a TLS context");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

/// Timeouts and retries set explicitly: the SDK's defaults never time out a frozen server.
/// Connect 1 s, each attempt 2 s, the whole operation (with the SDK's own retries) 5 s. A request's calls
/// together are bounded by [`crate::deadline`].
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Three attempts in all for throttling and transient faults, with a short first backoff.
pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(25))
}

impl Store {
    /// A store over `client` and `table`. The client should come from [`Store::client_builder`] so that it
    /// has the timeouts, retries and round-trip counting of production.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
    }

    /// The DynamoDB client configuration every store uses, on top of a loaded `SdkConfig`.
    pub fn client_builder(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts())
            .retry_config(retries())
            .interceptor(RoundTripCounter)
            .interceptor(DeadlineGuard)
    }

    /// The standard AWS configuration loader. Locally (an endpoint override is set) missing credentials
    /// and region get harmless defaults, so that nothing probes the instance metadata service and DynamoDB
    /// Local works without AWS set-up; in Lambda both are in the environment and this changes nothing.
    pub fn sdk_loader() -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if !env_set("AWS_REGION") && !env_set("AWS_DEFAULT_REGION") {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
        if env_set("AWS_ENDPOINT_URL_DYNAMODB") && !env_set("AWS_ACCESS_KEY_ID") {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "orgmint-local",
            ));
        }
        loader
    }

    /// Loads the AWS configuration (`Store::sdk_loader`) and the table name from `ORGMINT_TABLE`; the
    /// client trusts only the Amazon Trust Services roots.
    pub async fn from_env() -> Self {
        let mut loader = Self::sdk_loader();
        // `SSL_CERT_FILE`/`SSL_CERT_DIR` name another trust store (e.g. a local TLS proxy's): the default client
        // honours them.
        if !env_set("SSL_CERT_FILE") && !env_set("SSL_CERT_DIR") {
            loader = loader.http_client(https_client());
        }
        let sdk = loader.load().await;
        let client = Client::from_conf(Self::client_builder(&sdk).build());
        let table = std::env::var("ORGMINT_TABLE").unwrap_or_else(|_| DEFAULT_TABLE.to_owned());
        Store::new(client, table)
    }

    /// The endpoint the client calls, and whether the environment chose it rather than the region's AWS
    /// endpoint: what an operator needs to read when DynamoDB cannot be reached. The SDK's own precedence:
    /// `AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL` (the client's config has no getter for it).
    pub fn endpoint(&self) -> (String, bool) {
        let configured = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
        match configured {
            Some(url) => (url, true),
            None => {
                let region = self.client.config().region().map_or("us-east-1", |r| r.as_ref());
                (format!("https://dynamodb.{region}.amazonaws.com"), false)
            }
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens the connection (TCP, TLS, credentials, signing) during init, so the first request does not pay
    /// for it. Reads a key that never exists with the same `GetItem` the functions are allowed anyway.
    pub async fn prime(&self) {
        let _ = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("PRIME"))
            .key("sk", s("PRIME"))
            .send()
            .await;
    }

    // ---- credentials -------------------------------------------------------------------------------

    /// The credential behind `secret`, for `vendor`.
    pub async fn authenticate(&self, vendor: Vendor, secret: &str) -> Result<Credential, Error> {
        let mut found = self.authenticate_all(vendor, &[secret]).await?;
        found.credentials.remove(0)
    }

    /// The credentials behind `secrets`, for `vendor`, and the rate window of the first: one
    /// `BatchGetItem` by the secrets' digests (and the first one's counter of the current window).
    /// Each credential is `Err` when unknown, of another vendor, or expired.
    pub async fn authenticate_all(&self, vendor: Vendor, secrets: &[&str]) -> Result<Authenticated, Error> {
        self.authenticate_for(vendor, secrets, None).await
    }

    /// [`Store::authenticate_all`], and in the same round trip the record of the request's
    /// `Idempotency-Key`, if any.
    pub async fn authenticate_for(
        &self,
        vendor: Vendor,
        secrets: &[&str],
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Authenticated, Error> {
        let now_s = clock::now_ms().div_euclid(1_000);
        let digests: Vec<String> = secrets.iter().map(|s| crate::secrets::digest(s)).collect();
        let rate_key = digests.first().cloned().unwrap_or_default();
        let window = now_s.div_euclid(rate::WINDOW_S);
        let mut keys: Vec<Item> = Vec::new();
        for digest in &digests {
            let key =
                Item::from([("pk".to_owned(), s(format!("CRED#{digest}"))), ("sk".to_owned(), s("CRED"))]);
            // BatchGetItem refuses the same key twice.
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys.push(rate_item_key(&rate_key, window));
        keys.extend(idempotency.map(idempotency_key));
        let found = self.batch_get(keys, false).await?;
        // Keys carry digests of secrets: matched in constant time (crate::secrets::equal).
        let item = |pk: &str| {
            found
                .iter()
                .find(|i| matches!(i.get("pk"), Some(AttributeValue::S(v)) if crate::secrets::equal(v, pk)))
        };
        let credentials: Vec<Result<Credential, Error>> = digests
            .iter()
            .map(|digest| {
                let item =
                    item(&format!("CRED#{digest}")).ok_or(Error::Unauthenticated(AuthFailure::Unknown))?;
                let credential = credential_from_item(item)?;
                if credential.tenant.vendor != vendor {
                    return Err(Error::Unauthenticated(AuthFailure::Unknown));
                }
                if credential.is_expired_at(now_s) {
                    return Err(Error::Unauthenticated(AuthFailure::Expired));
                }
                Ok(credential)
            })
            .collect();
        let used = item(&format!("RATE#{rate_key}")).and_then(|i| get_n(i, "n").ok()).unwrap_or(0) as u32;
        let limit = credentials.first().and_then(|c| c.as_ref().ok()).map_or(0, |c| c.rate_limit);
        let prior = live_record(&found, idempotency, now_s)?;
        Ok(Authenticated { credentials, rate: RateWindow::new(rate_key, limit, used, now_s), prior })
    }

    /// One `BatchGetItem` (unprocessed keys retried twice): the items found, in no particular order.
    async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, Error> {
        let mut found: Vec<Item> = Vec::new();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(consistent)
            .build()
            .expect("keys are set");
        for attempt in 0..3 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", &e))?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() && attempt < 2 => request = rest,
                Some(rest) if !rest.keys().is_empty() => {
                    return Err(Error::Unavailable("BatchGetItem: keys left unprocessed".into()))
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// Several tenants and, optionally, the count of the current window of the rate key `rate_key`
    /// (see [`RateWindow::key`]), in one consistent `BatchGetItem`: for callers that authenticate by
    /// something other than a stored credential (e.g. a signed token naming its tenants). Each tenant is
    /// `None` when it does not exist; the count is 0 without a key or a window.
    pub async fn tenants(
        &self,
        refs: &[TenantRef],
        rate_key: Option<&str>,
        now_s: i64,
    ) -> Result<(Vec<Option<Tenant>>, u32), Error> {
        let (tenants, used, _) = self.tenants_for(refs, rate_key, now_s, None).await?;
        Ok((tenants, used))
    }

    /// [`Store::tenants`], and in the same round trip the record of the request's `Idempotency-Key`.
    pub async fn tenants_for(
        &self,
        refs: &[TenantRef],
        rate_key: Option<&str>,
        now_s: i64,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<(Vec<Option<Tenant>>, u32, Option<IdempotencyRecord>), Error> {
        let mut keys: Vec<Item> = Vec::new();
        for tenant in refs {
            let key = tenant_key(tenant);
            // BatchGetItem refuses the same key twice.
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if let Some(rate_key) = rate_key {
            keys.push(rate_item_key(rate_key, now_s.div_euclid(rate::WINDOW_S)));
        }
        keys.extend(idempotency.map(idempotency_key));
        if keys.is_empty() {
            return Ok((Vec::new(), 0, None));
        }
        let found = self.batch_get(keys, true).await?;
        let item =
            |pk: &str| found.iter().find(|i| matches!(i.get("pk"), Some(AttributeValue::S(v)) if v == pk));
        let tenants = refs
            .iter()
            .map(|tenant| item(&tenant_pk(tenant)).map(tenant_from_item).transpose())
            .collect::<Result<Vec<_>, Error>>()?;
        let used = rate_key
            .and_then(|key| item(&format!("RATE#{key}")))
            .and_then(|i| get_n(i, "n").ok())
            .unwrap_or(0) as u32;
        Ok((tenants, used, live_record(&found, idempotency, now_s)?))
    }

    /// The live record of an `Idempotency-Key`, read consistently: for a create that lost the race to a
    /// concurrent duplicate, whose record is therefore committed.
    pub async fn idempotency_record(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        let found: Vec<Item> = out.item.into_iter().collect();
        live_record(&found, Some(key), clock::now_ms().div_euclid(1_000))
    }

    /// Counts one request in its rate window, for requests that end without a create transaction (which
    /// counts its own). Nothing to do when limiting is off.
    pub async fn charge(&self, rate: &RateWindow) -> Result<(), Error> {
        if !rate.enabled() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(rate_item_key(&rate.key, rate.window)))
            .update_expression("SET #type = :type, expires_at = :exp ADD n :one")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":type", s("rate"))
            .expression_attribute_values(":exp", n(rate_expiry(rate.window)))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem", &e))?;
        Ok(())
    }

    // ---- tenants -----------------------------------------------------------------------------------

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

    pub async fn tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s("TENANT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        out.item.map(|item| tenant_from_item(&item)).transpose()
    }

    /// A secret stored with [`Store::create_tenant_with_secrets`]; `None` when there is none by that name.
    pub async fn tenant_secret(&self, tenant: &TenantRef, name: &str) -> Result<Option<String>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(secret_key(tenant, name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        out.item.map(|item| get_s(&item, "value")).transpose()
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
        let items = self.query_prefix(&format!("ORG#{vendor}#{org_id}"), "MEMBER#").await?;
        items
            .iter()
            .map(|item| Ok(Member { principal: get_s(item, "principal")?, role: get_s(item, "role")? }))
            .collect()
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, read consistently, all pages.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query", &e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    // ---- the capped create -------------------------------------------------------------------------

    /// Creates an organization under its tenant's cap in one `TransactWriteItems`: the counter goes up
    /// only while `org_count < cap`, and the org, its slug claim, members, credentials and child tenant are
    /// written with it or not at all.
    ///
    /// `TransactionConflict` is retried with jittered backoff, with the same client request token and the
    /// same items, so that a retry can never create twice.
    pub async fn create_org(&self, new: &NewOrg) -> Result<(), Error> {
        let (items, indexes) = self.create_items(new);
        let token = ids::random_hex(32);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let outcome = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    cancellation_to_error(e.cancellation_reasons(), &indexes, new)
                }
                // Our own earlier attempt with this token is still being applied.
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => Retry::Conflict,
                _ => Retry::No(unavailable("TransactWriteItems", &err)),
            };
            match outcome {
                Retry::No(err) => return Err(err),
                Retry::Conflict if attempt < CONFLICT_ATTEMPTS && started.elapsed() < CONFLICT_DEADLINE => {
                    tokio::time::sleep(jittered_backoff(attempt)).await;
                }
                Retry::Conflict => {
                    return Err(Error::Unavailable(format!("transaction conflict after {attempt} attempts")))
                }
            }
        }
    }

    /// The transaction's items, in the order cancellation reasons refer to, with the indexes of the items
    /// whose failure means something to the caller.
    fn create_items(&self, new: &NewOrg) -> (Vec<TransactWriteItem>, ItemIndexes) {
        let pk = tenant_pk(&new.tenant);
        let counter = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s("TENANT"))
            .update_expression("SET org_count = org_count + :one")
            .condition_expression("attribute_exists(pk) AND org_count < cap")
            .expression_attribute_values(":one", n(1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("counter update has its key and expression");
        let org = &new.org;
        let mut org_item = Item::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s(format!("ORG#{}", org.id))),
            ("type".to_owned(), s("org")),
            ("org_id".to_owned(), s(&org.id)),
            ("name".to_owned(), s(&org.name)),
            ("created_ms".to_owned(), n(org.created_ms)),
            ("doc".to_owned(), s(&org.doc)),
        ]);
        if let Some(slug) = &org.slug {
            org_item.insert("slug".to_owned(), s(slug));
        }
        let mut items =
            vec![TransactWriteItem::builder().update(counter).build(), put(&self.table, org_item)];
        let slug_pk = tenant_pk(new.slug_scope.as_ref().unwrap_or(&new.tenant));
        let slug_index = org.slug.as_ref().map(|slug| {
            items.push(put(
                &self.table,
                Item::from([
                    ("pk".to_owned(), s(&slug_pk)),
                    ("sk".to_owned(), s(format!("SLUG#{slug}"))),
                    ("type".to_owned(), s("slug")),
                    ("org_id".to_owned(), s(&org.id)),
                    // The org's own tenant, which the slug scope may be wider than.
                    ("tenant".to_owned(), s(&new.tenant.id)),
                ]),
            ));
            items.len() - 1
        });
        for member in &new.members {
            items.push(put(
                &self.table,
                Item::from([
                    ("pk".to_owned(), s(format!("ORG#{}#{}", new.tenant.vendor, org.id))),
                    ("sk".to_owned(), s(format!("MEMBER#{}", member.principal))),
                    ("type".to_owned(), s("member")),
                    ("tenant".to_owned(), s(&new.tenant.id)),
                    ("org_id".to_owned(), s(&org.id)),
                    ("principal".to_owned(), s(&member.principal)),
                    ("role".to_owned(), s(&member.role)),
                ]),
            ));
        }
        for credential in &new.credentials {
            items.push(put(&self.table, credential_item(credential, Some(&org.id))));
        }
        if let Some(child) = &new.child_tenant {
            let mut item = tenant_item(child);
            item.insert("parent".to_owned(), s(&new.tenant.id));
            item.insert("org_id".to_owned(), s(&org.id));
            items.push(put(&self.table, item));
        }
        let rate_index = new.rate.as_ref().filter(|r| r.enabled()).map(|rate| {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(rate_item_key(&rate.key, rate.window)))
                .update_expression("SET #type = :type, expires_at = :exp ADD n :one")
                .condition_expression("attribute_not_exists(n) OR n < :limit")
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":type", s("rate"))
                .expression_attribute_values(":exp", n(rate_expiry(rate.window)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(rate.limit))
                .build()
                .expect("rate update has its key and expression");
            items.push(TransactWriteItem::builder().update(update).build());
            items.len() - 1
        });
        let idempotency_index = new.idempotency.as_ref().map(|record| {
            let mut item = idempotency_key_of(&record.id);
            item.extend([
                ("type".to_owned(), s("idempotency")),
                ("fingerprint".to_owned(), s(&record.fingerprint)),
                ("sealed".to_owned(), AttributeValue::B(record.sealed.clone().into())),
                (TTL_ATTRIBUTE.to_owned(), n(record.expires_s)),
                // What the record answered for, so that `verify` can tell an orphan.
                ("tenant".to_owned(), s(&pk)),
                ("org_id".to_owned(), s(&org.id)),
            ]);
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                // An expired record that TTL has not removed yet no longer holds its key.
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(clock::now_ms().div_euclid(1_000)))
                .build()
                .expect("put has its table and item");
            items.push(TransactWriteItem::builder().put(put).build());
            items.len() - 1
        });
        (items, ItemIndexes { slug: slug_index, rate: rate_index, idempotency: idempotency_index })
    }

    // ---- the table ---------------------------------------------------------------------------------

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

enum Retry {
    No(Error),
    Conflict,
}

/// Where in a create's transaction the items are whose failure the caller must hear about.
struct ItemIndexes {
    slug: Option<usize>,
    rate: Option<usize>,
    idempotency: Option<usize>,
}

/// Maps the cancellation reasons, item by item, to what went wrong. A duplicate that lost to its
/// `Idempotency-Key` twin is told so first (its answer is the twin's, whatever else failed); then a full
/// rate window; then the cap, which wins over a duplicate slug when both fail.
fn cancellation_to_error(reasons: &[CancellationReason], indexes: &ItemIndexes, new: &NewOrg) -> Retry {
    let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
    if indexes.idempotency.is_some_and(|i| code(i) == "ConditionalCheckFailed") {
        return Retry::No(Error::Idempotency(IdempotencyProblem::Concurrent));
    }
    if let (Some(i), Some(rate)) = (indexes.rate, &new.rate) {
        if code(i) == "ConditionalCheckFailed" {
            return Retry::No(Error::Throttled { retry_after_s: rate.reset_s() });
        }
    }
    if code(0) == "ConditionalCheckFailed" {
        return Retry::No(match reasons[0].item() {
            // The tenant exists, so its counter is at the cap.
            Some(tenant) => Error::CapReached { cap: get_n(tenant, "cap").unwrap_or(0) as u32 },
            None => Error::Forbidden(Denied::NotInScope),
        });
    }
    if let (Some(i), Some(slug)) = (indexes.slug, &new.org.slug) {
        if code(i) == "ConditionalCheckFailed" {
            return Retry::No(Error::SlugTaken { slug: slug.clone() });
        }
    }
    let codes: Vec<&str> = (0..reasons.len()).map(code).filter(|c| *c != "None").collect();
    if codes.contains(&"TransactionConflict") {
        return Retry::Conflict;
    }
    // A fresh id or secret digest that already exists: 128 bits of randomness make this a bug, not luck.
    Retry::No(Error::Unavailable(format!("transaction cancelled: {}", codes.join(","))))
}

/// Full jitter over an exponential ceiling: 10 ms, 20 ms, 40 ms … capped at 320 ms.
fn jittered_backoff(attempt: u32) -> Duration {
    let ceiling_ms = 10u64 << attempt.min(5);
    let r = u64::from(u16::from_le_bytes(ids::random_bytes::<2>()));
    Duration::from_millis(ceiling_ms * r / u64::from(u16::MAX) + 1)
}

/// A dispatch failure without a connector error behind it.
#[derive(Debug)]
struct NoDetail;
impl std::fmt::Display for NoDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no detail")
    }
}
impl std::error::Error for NoDetail {}
static NO_DETAIL: NoDetail = NoDetail;

/// Every SDK failure that is not a domain outcome: timeouts, throttling, a database that is gone.
/// Logs carry the error code only: the SDK's full error context includes the raw response.
fn unavailable<E: ProvideErrorMetadata, R>(operation: &str, err: &SdkError<E, R>) -> Error {
    let what = match err {
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) => {
            // The innermost cause says what an operator can act on ("Connection refused", "no credentials");
            // it names no secret.
            let mut cause: &dyn std::error::Error =
                failure.as_connector_error().map_or(&NO_DETAIL as &dyn std::error::Error, |connector| {
                    connector as &dyn std::error::Error
                });
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            let kind = if failure.is_io() {
                "io"
            } else if failure.is_timeout() {
                "timeout"
            } else if failure.is_user() {
                "configuration"
            } else {
                "other"
            };
            let cause: String = cause.to_string().chars().take(160).collect();
            format!("dispatch failure ({kind}: {cause})")
        }
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "request construction failed".to_owned(),
        _ => err.code().unwrap_or("unknown").to_owned(),
    };
    Error::Unavailable(format!("{operation}: {what}"))
}

// ---- items -------------------------------------------------------------------------------------------

fn tenant_pk(tenant: &TenantRef) -> String {
    format!("TENANT#{}#{}", tenant.vendor, tenant.id)
}

/// The tenant a `TENANT#<vendor>#<tenant>` partition key names.
fn tenant_of_pk(pk: &str) -> Result<TenantRef, Error> {
    let mut parts = pk.splitn(3, '#');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("TENANT"), Some(vendor), Some(id)) => {
            Ok(TenantRef::new(vendor.parse().map_err(|_| corrupt("pk"))?, id))
        }
        _ => Err(corrupt("pk")),
    }
}

fn tenant_key(tenant: &TenantRef) -> Item {
    Item::from([("pk".to_owned(), s(tenant_pk(tenant))), ("sk".to_owned(), s("TENANT"))])
}

fn secret_key(tenant: &TenantRef, name: &str) -> Item {
    Item::from([
        ("pk".to_owned(), s(format!("SECRET#{}#{}", tenant.vendor, tenant.id))),
        ("sk".to_owned(), s(format!("SECRET#{name}"))),
    ])
}

fn secret_item(tenant: &TenantRef, name: &str, value: &str) -> Item {
    let mut item = secret_key(tenant, name);
    item.insert("type".to_owned(), s("secret"));
    item.insert("vendor".to_owned(), s(tenant.vendor.as_str()));
    item.insert("tenant".to_owned(), s(&tenant.id));
    item.insert("name".to_owned(), s(name));
    item.insert("value".to_owned(), s(value));
    item
}

fn idempotency_key_of(id: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("IDEM#{id}"))), ("sk".to_owned(), s("IDEM"))])
}

fn idempotency_key(key: &IdempotencyKey) -> Item {
    idempotency_key_of(&key.id)
}

/// The record of `key` among `found`, unless it has expired (TTL removes items late).
fn live_record(
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
    let record = IdempotencyRecord {
        id: key.id.clone(),
        fingerprint: get_s(item, "fingerprint")?,
        sealed: match item.get("sealed") {
            Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
            _ => return Err(corrupt("sealed")),
        },
        expires_s: get_n(item, TTL_ATTRIBUTE)?,
    };
    Ok((record.expires_s > now_s).then_some(record))
}

fn rate_item_key(digest: &str, window: i64) -> Item {
    Item::from([("pk".to_owned(), s(format!("RATE#{digest}"))), ("sk".to_owned(), s(format!("W#{window}")))])
}

/// Rate windows remove themselves (DynamoDB TTL) a window after they end.
fn rate_expiry(window: i64) -> i64 {
    (window + 2) * rate::WINDOW_S
}

fn put(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("put has its table and item");
    TransactWriteItem::builder().put(put).build()
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

fn corrupt(what: &str) -> Error {
    Error::Unavailable(format!("stored item lacks or mistypes '{what}'"))
}

fn get_s(item: &Item, name: &str) -> Result<String, Error> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(corrupt(name)),
    }
}

fn get_opt_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_n(item: &Item, name: &str) -> Result<i64, Error> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

fn get_list(item: &Item, name: &str) -> Vec<String> {
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

fn vendor_of(item: &Item) -> Result<Vendor, Error> {
    get_s(item, "vendor")?.parse().map_err(|_| corrupt("vendor"))
}

fn tenant_item(tenant: &Tenant) -> Item {
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

fn tenant_from_item(item: &Item) -> Result<Tenant, Error> {
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

fn credential_item(new: &NewCredential, org_id: Option<&str>) -> Item {
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

fn credential_from_item(item: &Item) -> Result<Credential, Error> {
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

fn org_from_item(item: &Item) -> Result<Org, Error> {
    Ok(Org {
        id: get_s(item, "org_id")?,
        name: get_s(item, "name")?,
        slug: get_opt_s(item, "slug"),
        created_ms: get_n(item, "created_ms")?,
        doc: get_s(item, "doc")?,
    })
}

// ---- the whole table, for `orgmint verify` and the tests ---------------------------------------------

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
    /// Items of no known type (or unreadable), by key.
    pub unknown: Vec<String>,
}

impl Store {
    pub async fn inventory(&self) -> Result<Inventory, Error> {
        let mut inventory = Inventory::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Scan", &e))?;
            for item in out.items() {
                if let Err(e) = inventory.add(item) {
                    let key = format!(
                        "{}/{}",
                        get_opt_s(item, "pk").unwrap_or_default(),
                        get_opt_s(item, "sk").unwrap_or_default()
                    );
                    inventory.unknown.push(format!("{key}: {e}"));
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(inventory),
            }
        }
    }
}

impl Inventory {
    fn add(&mut self, item: &Item) -> Result<(), Error> {
        // Orgs and slug claims live under their tenant's partition: TENANT#<vendor>#<tenant>.
        let tenant_of = |item: &Item| tenant_of_pk(&get_s(item, "pk")?);
        match get_s(item, "type")?.as_str() {
            "tenant" => self.tenants.push(tenant_from_item(item)?),
            "org" => self.orgs.push((tenant_of(item)?, org_from_item(item)?)),
            "slug" => {
                let slug = get_s(item, "sk")?.trim_start_matches("SLUG#").to_owned();
                let scope = tenant_of(item)?;
                // Claims in a wider scope name the org's own tenant.
                let tenant = match get_opt_s(item, "tenant") {
                    Some(id) => TenantRef::new(scope.vendor, id),
                    None => scope,
                };
                self.slugs.push((tenant, slug, get_s(item, "org_id")?));
            }
            "member" => {
                let pk = get_s(item, "pk")?;
                let vendor: Vendor =
                    pk.split('#').nth(1).unwrap_or_default().parse().map_err(|_| corrupt("pk"))?;
                self.members.push((
                    TenantRef::new(vendor, get_s(item, "tenant")?),
                    get_s(item, "org_id")?,
                    Member { principal: get_s(item, "principal")?, role: get_s(item, "role")? },
                ));
            }
            "credential" => self.credentials.push((credential_from_item(item)?, get_opt_s(item, "org_id"))),
            "secret" => self
                .secrets
                .push((TenantRef::new(vendor_of(item)?, get_s(item, "tenant")?), get_s(item, "name")?)),
            // Rate windows count requests; they hold no invariant of their own.
            "rate" => {}
            "idempotency" => {
                self.idempotency.push((tenant_of_pk(&get_s(item, "tenant")?)?, get_s(item, "org_id")?))
            }
            other => return Err(Error::Invalid(format!("unknown item type '{other}'"))),
        }
        Ok(())
    }
}

/// An environment variable set to something.
fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trust roots are parsed when the client builds its connector, and a bad one would panic there on
    /// the first request: send one (to a closed port) and expect an error instead.
    #[tokio::test]
    async fn the_amazon_trust_roots_load() {
        assert_eq!(AMAZON_TRUST_ROOTS.windows(27).filter(|w| w == b"-----BEGIN CERTIFICATE-----").count(), 5);
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .endpoint_url("https://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .http_client(https_client())
            .build();
        let sent = Client::from_conf(config).get_item().table_name("t").key("pk", s("x")).send().await;
        assert!(sent.is_err());
    }
}
