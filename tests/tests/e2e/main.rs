//! Every end-to-end test, in one binary (one link of the SDK, the four functions and the CLI): a module per
//! area. Each test has a table of its own in DynamoDB Local, so they run in parallel; the heavy ones (a
//! `cargo lambda watch`, `make dev`, a load or a fault proxy) take [`orgmint_tests::heavy`] first and run one
//! at a time beside the light ones.
//!
//! Per-vendor modules hold each dialect's own cases; where a case is the same for every vendor it is one
//! test over the registry (`caps`, `fuzz`, `idempotency`, `limits`, `load`, `security`).

mod calcom;
mod caps;
mod clerk;
mod clerk_fapi;
mod conflicts;
mod datadog;
mod devin;
mod faults;
mod fuzz;
mod http;
mod idempotency;
mod lifecycle;
mod limits;
mod load;
mod pipeline;
mod schemathesis;
mod security;
mod store;
