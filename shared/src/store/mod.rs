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
//! | credential | `CRED#<vendor>#<sha-256 of the secret>` | `CRED` |
//! | rate window of a credential or another tracker ([`crate::rate::key_of`]) | `RATE#<vendor>#<sha-256>` | `W#<minute number>` |
//! | rate window of a session's account (Clerk) | `RATE#clerk#<account>` | `W#<minute number>` |
//! | block of a rate key after a refusal (Cal.com) | `RATE#<vendor>#<sha-256>` | `BLOCK` |
//! | a tenant's secret (e.g. a signing key) | `SECRET#<vendor>#<tenant>` | `SECRET#<name>` |
//! | idempotency record (TTL 24 h) | `IDEM#<vendor>#<record id>` | `IDEM` |
//! | a signed-in client and its session (Clerk) | `CLIENT#<vendor>#<client id>` | `CLIENT` |
//! | a browser origin some tenant allows (Clerk) | `ORIGIN#<vendor>#<origin>` | `ORIGIN` |
//!
//! Every partition key starts with its kind and the vendor: IAM limits each function to its vendor's
//! partitions (`dynamodb:LeadingKeys`, infra/template.yaml).
//!
//! The slug scope is the tenant unless the create names a wider one ([`NewOrg::slug_scope`]). Secrets
//! live in a partition of their own, which request paths never read (IAM can deny `SECRET#*` leading keys
//! to the functions).
//!
//! Authentication is one `BatchGetItem` (the credentials and the rate window); a tenant's orgs are one `Query`; a create is one `TransactWriteItems`.

mod admin;
mod client;
mod create;
mod errors;
mod inventory;
mod items;
mod keys;
mod lifecycle;
mod reads;
mod request;
mod sessions;

pub use client::{retries, timeouts};
pub use inventory::Inventory;
pub use lifecycle::{Deleted, OrgChange, Recorder, Updated};
pub use sessions::{SignInKeys, SignedIn};

/// What every part of the store reads: the SDK types, the domain's, and the keys, items and errors.
mod prelude {
    pub(super) use super::errors::*;
    pub(super) use super::items::*;
    pub(super) use super::keys::*;
    pub(super) use super::{Authenticated, Item, Store, DEFAULT_TABLE, TTL_ATTRIBUTE};
    pub(super) use crate::deadline::DeadlineGuard;
    pub(super) use crate::error::{AuthFailure, Denied, Error, IdempotencyProblem};
    pub(super) use crate::idempotency::{IdempotencyKey, IdempotencyRecord};
    pub(super) use crate::model::{
        ClientSession, Credential, Member, NewCredential, NewOrg, Org, Tenant, TenantRef, Vendor,
    };
    pub(super) use crate::rate::{self, RateWindow};
    pub(super) use crate::round_trips::RoundTripCounter;
    pub(super) use crate::{clock, ids};
    pub(super) use aws_sdk_dynamodb::config::retry::RetryConfig;
    pub(super) use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    pub(super) use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
    pub(super) use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    pub(super) use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, CancellationReason, KeySchemaElement, KeyType,
        KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
        TimeToLiveSpecification, TransactWriteItem, Update,
    };
    pub(super) use aws_sdk_dynamodb::Client;
    pub(super) use std::collections::{BTreeMap, HashMap};
    pub(super) use std::time::{Duration, Instant};
}
use prelude::*;

/// The table's name when `ORGMINT_TABLE` is not set.
pub const DEFAULT_TABLE: &str = "orgmint";

/// The TTL attribute (idempotency records and other items that may vanish on their own).
pub const TTL_ATTRIBUTE: &str = "expires_at";

type Item = HashMap<String, AttributeValue>;

/// What one authentication round trip found: each presented credential, the rate window of the first,
/// and the record of the request's `Idempotency-Key` when one is live.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub credentials: Vec<Result<Credential, Error>>,
    pub rate: RateWindow,
    pub prior: Option<IdempotencyRecord>,
    /// The organization asked for with the credentials, when it exists.
    pub org: Option<Org>,
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    /// A store over `client` and `table`. The client should come from [`Store::client_builder`] so that it
    /// has the timeouts, retries and round-trip counting of production.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}
