//! Devin's `POST /v2/enterprise/organizations`: FastAPI's dialect (pydantic v2 validation errors,
//! `{"detail": …}` envelopes) over orgmint's capped create.

mod validate;

use std::future::Future;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use orgmint::lambda::{self, BodyProblem, Call, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint, Minted, Mints};
use orgmint::{AuthFailure, Credential, Error, Member, NewOrg, Org, RateWindow, Store, Vendor};
use serde_json::{json, Value};

pub use validate::{validate, EnterpriseOrgCreate};

pub const ROUTE: &str = "POST /v2/enterprise/organizations";

/// Devin's personal API keys; only these authenticate here.
pub const API_KEY_PREFIX: &str = "apk_user_";
/// The role of an enterprise admin, the only role that may create organizations.
pub const ENTERPRISE_ADMIN: &str = "enterprise_admin";
/// The kind of credential a personal API key is stored as.
pub const API_KEY: &str = "api_key";

/// The handler as the Lambda runtime and the tests call it: request id, round trips and the log line
/// around the pipeline.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Devin>(store, req).await
}

/// Devin's endpoint: its dialect over the one create pipeline (`orgmint::pipeline`).
pub struct Devin;

impl Endpoint for Devin {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const VENDOR: Vendor = Vendor::Devin;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Call;
    type Caller = Credential;
    type Input = EnterpriseOrgCreate;

    fn tenant(caller: &Credential) -> Option<&str> {
        Some(&caller.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(_call: &Call, message: &str) -> Response<Body> {
        detail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message, "too_large")
    }

    /// The caller's credential, rate window and idempotency record: one round trip. Failures are 401s,
    /// which are not counted.
    async fn authenticate(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Credential>, Response<Body>> {
        let token =
            lambda::bearer_token(req).ok_or_else(|| unauthorized("Not authenticated", "unauthenticated"))?;
        if !token.starts_with(API_KEY_PREFIX) {
            return Err(unauthorized("Invalid API key", "unauthenticated"));
        }
        let (mut found, idempotency) = lambda::authenticate(store, req, Vendor::Devin, &[token])
            .await
            .map_err(|e| Self::refused(call, e))?;
        let caller = found.credentials.remove(0).map_err(|e| Self::refused(call, e))?;
        Ok(Authenticated {
            caller,
            rate: found.rate,
            idempotency: idempotency.map_err(|e| Self::refused(call, e))?,
        })
    }

    fn authorize(_req: &Request, _call: &Call, caller: &Credential) -> Result<(), Response<Body>> {
        if caller.role != ENTERPRISE_ADMIN {
            return Err(detail(
                StatusCode::FORBIDDEN,
                "Enterprise admin permissions are required to create organizations",
                "forbidden",
            ));
        }
        Ok(())
    }

    fn parse(req: &Request, _call: &Call) -> Result<EnterpriseOrgCreate, Response<Body>> {
        let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
            BodyProblem::TooLarge => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body too large: at most {} bytes", lambda::MAX_BODY_BYTES),
                "too_large",
            ),
            BodyProblem::UnsupportedType(_) => validation_error(vec![validate::not_an_object(
                Value::String(String::from_utf8_lossy(req.body().as_ref()).into_owned()),
            )]),
        })?;
        validate(bytes).map_err(validation_error)
    }

    fn too_many_requests(_call: &Call, rate: &RateWindow) -> Response<Body> {
        too_many_requests(rate)
    }

    fn refuse(_call: &Call, err: Error) -> Response<Body> {
        domain_error(err)
    }

    fn act(
        store: &Store,
        ctx: &Self::Ctx,
        found: &Authenticated<Self::Caller>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Response<Body>, Response<Body>>> + Send {
        pipeline::create_org::<Self>(store, ctx, found, input)
    }
}

impl Mints for Devin {
    fn mint(
        call: &Call,
        caller: &Credential,
        input: &EnterpriseOrgCreate,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let org_id = format!("org-{}", orgmint::ids::random_hex(32));
        let members = u64::from(input.add_creator_as_member);
        let answer = json!({
            "org_id": org_id,
            "org_name": input.display_name,
            "created_at": orgmint::clock::rfc3339(call.now_ms),
            "max_cycle_acu_limit": input.acu_limit,
            "max_session_acu_limit": Value::Null,
            "org_admin_count": members,
            "org_member_count": members,
            "org_user_count": members,
        });
        let new = NewOrg {
            tenant: caller.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: org_id,
                name: input.display_name.clone(),
                slug: None,
                created_ms: call.now_ms,
                doc: answer.to_string(),
            },
            members: if input.add_creator_as_member {
                vec![Member { principal: caller.principal.clone(), role: "admin".to_owned() }]
            } else {
                Vec::new()
            },
            credentials: Vec::new(),
            child_tenant: None,
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer }
    }
}

/// slowapi's answer, as FastAPI services send it: 429 with `Retry-After`.
fn too_many_requests(rate: &RateWindow) -> Response<Body> {
    let message = format!("Rate limit exceeded: {} per 1 minute", rate.limit);
    lambda::throttled(detail(StatusCode::TOO_MANY_REQUESTS, &message, "throttled"), rate.reset_s())
}

/// slowapi's `X-RateLimit-*`.
const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
    fixed: &[],
    block_s: 0,
};

/// Domain errors in Devin's words.
fn domain_error(err: Error) -> Response<Body> {
    match err {
        Error::Unauthenticated(AuthFailure::Expired) => unauthorized("API key has expired", "expired"),
        Error::Unauthenticated(_) => unauthorized("Invalid API key", "unauthenticated"),
        Error::CapReached { cap } => detail(
            StatusCode::FORBIDDEN,
            &format!("Enterprise organization limit reached ({cap})"),
            err.code(),
        ),
        Error::Forbidden(_) => detail(StatusCode::FORBIDDEN, "Enterprise not found", err.code()),
        Error::Throttled { retry_after_s } => lambda::throttled(
            detail(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded", err.code()),
            retry_after_s,
        ),
        // Devin has no slugs; the domain never reports one taken here.
        Error::SlugTaken { .. } | Error::Invalid(_) => {
            detail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request", err.code())
        }
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable, please retry",
            err.code(),
        ),
        Error::Idempotency(problem) => {
            detail(lambda::idempotency_status(problem), problem.message(), err.code())
        }
    }
}

fn detail(status: StatusCode, message: &str, code: &'static str) -> Response<Body> {
    lambda::with_code(lambda::json_response(status, &json!({ "detail": message })), code)
}

/// 401 as FastAPI's `HTTPBearer` answers it, with the challenge header.
fn unauthorized(message: &str, code: &'static str) -> Response<Body> {
    let mut reply = detail(StatusCode::UNAUTHORIZED, message, code);
    reply.headers_mut().insert("www-authenticate", "Bearer".parse().expect("static header"));
    reply
}

/// FastAPI's `RequestValidationError` response: 422 with one `detail` entry per problem.
fn validation_error(problems: Vec<Value>) -> Response<Body> {
    lambda::with_code(
        lambda::json_response(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "detail": problems })),
        "invalid",
    )
}
