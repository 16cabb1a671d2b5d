//! orgmint's domain: everything the four vendor endpoints share and nothing of their dialects.
//!
//! - [`model`]: tenants (the scope a cap applies to), credentials, organizations, memberships.
//! - [`secrets`] and [`ids`]: secrets and ids minted from the OS RNG; secrets are kept as SHA-256 digests.
//! - [`slug`]: slugify and the kebab-case rule.
//! - [`idempotency`]: `Idempotency-Key`: records written by the create's transaction, answers sealed.
//! - [`store`]: the one place that knows DynamoDB keys, attributes, conditions and transactions.
//! - [`error`]: the domain errors, one enum; each vendor renders them in its own words.
//! - [`deadline`]: one deadline per request for its DynamoDB calls.
//! - `lambda` (feature `lambda`): request plumbing every function shares.
//! - `otel` (feature `otel`, off by default): traces through the runtime's OpenTelemetry layer.
//! - `pipeline` (feature `lambda`): the one create pipeline; each vendor implements its `Endpoint`.
//! - `arbitrary` (feature `proptest`, tests only): strategies for hostile input.

#[cfg(feature = "proptest")]
pub mod arbitrary;
pub mod clock;
pub mod deadline;
pub mod error;
pub mod idempotency;
pub mod ids;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod model;
#[cfg(feature = "otel")]
pub mod otel;
#[cfg(feature = "lambda")]
pub mod pipeline;
pub mod rate;
pub mod round_trips;
pub mod secrets;
pub mod slug;
pub mod store;
pub mod telemetry;
pub mod verify;

pub use error::{AuthFailure, Denied, Error, IdempotencyProblem};
pub use idempotency::{IdempotencyKey, IdempotencyRecord};
pub use model::{ClientSession, Credential, Member, NewCredential, NewOrg, Org, Tenant, TenantRef, Vendor};
pub use rate::RateWindow;
pub use store::{Authenticated, Store};
