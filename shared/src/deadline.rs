//! One deadline per request for its DynamoDB calls, so that a sick database bounds the whole request and
//! not just each call.
//!
//! Each call is bounded by the SDK's operation timeout ([`crate::store::timeouts`]), but a request makes
//! several (authentication, the create and its conflict retries, a rate charge; Clerk's slug and Cal.com's
//! id retries create again). Under [`within`], no call *starts* after the deadline: it fails at once and the
//! request ends in `Error::Unavailable`. So a request lasts at most its budget plus one operation timeout.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;

/// No DynamoDB call of a request starts later than this after the request arrived. With the 5 s operation
/// timeout a request is answered within ~12 s: under the functions' 15 s Lambda timeout (so the client gets
/// the vendor's own 503, not API Gateway's) and far under API Gateway's 29 s.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(7);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `fut` with every DynamoDB call it makes refused once `budget` has passed.
pub async fn within<F: Future>(budget: Duration, fut: F) -> F::Output {
    DEADLINE.scope(Instant::now() + budget, fut).await
}

/// The SDK interceptor behind [`within`]; installed on every client the store builds. Outside `within`
/// (the CLI, init) there is no deadline.
#[derive(Debug, Default)]
pub struct DeadlineGuard;

impl Intercept for DeadlineGuard {
    fn name(&self) -> &'static str {
        "DeadlineGuard"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match DEADLINE.try_with(|deadline| Instant::now() >= *deadline) {
            Ok(true) => Err("the request's deadline for DynamoDB calls has passed".into()),
            _ => Ok(()),
        }
    }
}
