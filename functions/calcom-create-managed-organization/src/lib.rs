//! Cal.com's `POST /v2/organizations/{orgId}/organizations`: create a managed organization. Cal.com's API v2
//! dialect (Bearer `cal_…` API keys or a platform OAuth client's `x-cal-client-id` + `x-cal-secret-key`,
//! the `{status, timestamp, path, error}` envelope, `X-RateLimit-*-Default`) over orgmint's capped create.
//! The managed organization is a tenant of its own: its API key works at once and it manages its own
//! organizations under its own cap.
//!
//! Checks run in the order of wire.md: authentication (401) → `{orgId}` (400) → authorization: the
//! caller's organization, role, PBAC permission, platform plan (403) → body (413/400) → one transaction
//! (the cap's 403 wins over a duplicate slug's 409).

mod validate;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;

use orgmint::lambda::{self, BodyProblem, Call, ErrorCode, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint, Minted};
use orgmint::{
    ids, secrets, AuthFailure, Credential, Denied, Error, Member, NewCredential, NewOrg, Org, RateWindow,
    Store, TenantRef, Vendor,
};
use serde_json::{json, Value};

pub use validate::{effective_slug, validate, CreateOrganizationInput, METADATA_MESSAGE};

pub const ROUTE: &str = "POST /v2/organizations/{orgId}/organizations";
/// A Bearer API key (`cal_` + 32 hex).
pub const API_KEY: &str = "api_key";
/// A platform OAuth client: stored under its secret's digest, with the client id as `public_id`.
pub const OAUTH_CLIENT: &str = "oauth_client";
pub const API_KEY_PREFIX: &str = "cal_";
/// The PBAC permission this endpoint requires.
pub const ORGANIZATION_CREATE: &str = "organization.create";
pub const OWNER: &str = "OWNER";
pub const ADMIN: &str = "ADMIN";
pub const MEMBER: &str = "MEMBER";
/// Cal.com's platform plans, lowest first.
pub const PLANS: [&str; 6] = ["FREE", "STARTER", "ESSENTIALS", "SCALE", "PER_ACTIVE_USER", "ENTERPRISE"];
/// The lowest plan allowed to create managed organizations.
pub const MINIMUM_PLAN: &str = "SCALE";
pub const CLIENT_ID_HEADER: &str = "x-cal-client-id";
pub const SECRET_KEY_HEADER: &str = "x-cal-secret-key";
/// Ids must stay exact in JavaScript.
const JS_SAFE_LIMIT: u64 = 1 << 53;

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Calcom>(store, req).await
}

/// The path and query as received, for the error envelope's `path`.
fn request_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    let mut path = if raw.is_empty() { req.uri().path().to_owned() } else { raw.to_owned() };
    if let Some(query) = req.uri().query().filter(|q| !q.is_empty()) {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// What every answer needs besides its status and message: the envelope's path and timestamp, and the
/// path's `{orgId}` (or why it is not one), read once.
pub struct Ctx {
    path: String,
    now_ms: i64,
    org_id: Result<u64, String>,
}

/// One `BatchGetItem` for the credential, its rate window and the request's idempotency record.
/// A Bearer API key wins when both forms are sent; the platform route needs both of its headers, and the
/// client id must be the secret's own.
async fn authenticate(
    store: &Store,
    req: &Request,
    ctx: &Ctx,
) -> Result<Authenticated<Credential>, Response<Body>> {
    let unauthorized = |message: &str| fail(ctx, StatusCode::UNAUTHORIZED, message, Value::Null);
    let bearer = lambda::bearer_token(req);
    let client_id = lambda::header(req, CLIENT_ID_HEADER);
    let secret = match (bearer, client_id, lambda::header(req, SECRET_KEY_HEADER)) {
        (Some(token), _, _) => token,
        (None, Some(_), Some(secret)) => secret,
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(unauthorized(
                "OAuth client credentials need both the 'x-cal-client-id' and the 'x-cal-secret-key' header",
            ))
        }
        (None, None, None) => return Err(unauthorized(
            "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth client \
                 credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers",
        )),
    };
    let (mut found, idempotency) = lambda::authenticate(store, req, Vendor::Calcom, &[secret])
        .await
        .map_err(|e| Calcom::refused(ctx, e))?;
    let issued_to = |c: &Credential| {
        c.public_id.as_deref().zip(client_id).is_some_and(|(issued, sent)| secrets::equal(issued, sent))
    };
    let caller = match (bearer, found.credentials.remove(0)) {
        (Some(_), Ok(credential)) if credential.kind == API_KEY => credential,
        (Some(_), Err(Error::Unauthenticated(AuthFailure::Expired))) => {
            return Err(unauthorized("Your api key is expired"))
        }
        (Some(_), Ok(_) | Err(Error::Unauthenticated(_))) => {
            return Err(unauthorized("Your api key is not valid"))
        }
        // The lookup is by the secret's digest; the client id must then be the one it was issued with
        // (public, but half of the pair: compared in constant time like the rest of the credential).
        (None, Ok(c)) if c.kind == OAUTH_CLIENT && issued_to(&c) => c,
        (None, Ok(_) | Err(Error::Unauthenticated(_))) => {
            return Err(unauthorized("Invalid client id or secret"))
        }
        (_, Err(other)) => return Err(Calcom::refused(ctx, other)),
    };
    Ok(Authenticated {
        caller,
        rate: found.rate,
        idempotency: idempotency.map_err(|e| Calcom::refused(ctx, e))?,
    })
}

/// `{orgId}` as NestJS's `ParseIntPipe` plus orgmint's id rule would take it: ASCII digits only (no sign,
/// spaces or exponent), a positive integer below 2^53. API Gateway puts it in `pathParameters`; under
/// `cargo lambda watch` it arrives there undecoded; without either, the raw path is read.
fn org_id(req: &Request) -> Result<u64, String> {
    let from_params = req.path_parameters_ref().and_then(|p| p.first("orgId")).map(str::to_owned);
    let raw = from_params.unwrap_or_else(|| {
        let path = req.raw_http_path();
        let path = if path.is_empty() { req.uri().path() } else { path };
        let mut parts = path.trim_start_matches('/').split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v2"), Some("organizations"), Some(id)) => id.to_owned(),
            _ => String::new(),
        }
    });
    let numeric = !raw.is_empty() && raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit());
    if !numeric {
        return Err("Validation failed (numeric string is expected)".to_owned());
    }
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && id < JS_SAFE_LIMIT => Ok(id),
        _ => Err("Validation failed: orgId must be a positive integer below 2^53".to_owned()),
    }
}

fn plan_rank(plan: &str) -> Option<usize> {
    PLANS.iter().position(|p| *p == plan)
}

/// The guards of Cal.com's controller, each with its own message: the caller's organization, role
/// (`ORG_ADMIN` or above), PBAC permission, then platform plan. `Err` is the 403's message.
fn authorize(caller: &Credential, org_id: u64) -> Result<(), String> {
    let forbidden = Err;
    if caller.tenant.id != org_id.to_string() {
        return forbidden(format!("RolesGuard - User is not a member of the organization with id={org_id}."));
    }
    let user = &caller.principal;
    if caller.role != OWNER && caller.role != ADMIN {
        return forbidden(format!(
            "RolesGuard - user with id={user} does not have the minimum required role=ORG_ADMIN within \
             organization with id={org_id}. Their role is {}.",
            caller.role
        ));
    }
    if !caller.has_permission(ORGANIZATION_CREATE) {
        return forbidden(format!(
            "PbacGuard - user with id={user} does not have the minimum required \
             permissions={ORGANIZATION_CREATE} within organization with id={org_id}."
        ));
    }
    let Some(plan) = caller.plan.as_deref() else {
        // A managed org of a tenant that does not nest: Cal.com gives it no platform subscription.
        return forbidden(format!(
            "PlatformPlanGuard - No platform subscription found for organization with id={org_id}."
        ));
    };
    let minimum = plan_rank(MINIMUM_PLAN).expect("the minimum plan is a plan");
    if plan_rank(plan).is_none_or(|rank| rank < minimum) {
        return forbidden(format!(
            "PlatformPlanGuard - organization with id={org_id} does not have required plan for this \
             operation. Minimum plan is {MINIMUM_PLAN} while the organization has {plan}."
        ));
    }
    Ok(())
}

/// Cal.com's endpoint: its dialect over the one create pipeline (`orgmint::pipeline`).
pub struct Calcom;

impl Endpoint for Calcom {
    const ROUTE: &'static str = ROUTE;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Ctx;
    type Caller = Credential;
    type Input = CreateOrganizationInput;

    fn context(req: &Request, call: &Call) -> Ctx {
        Ctx { path: request_path(req), now_ms: call.now_ms, org_id: org_id(req) }
    }

    fn headers_too_large(ctx: &Ctx, message: &str) -> Response<Body> {
        fail(ctx, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message, Value::Null)
    }

    fn authenticate(
        store: &Store,
        req: &Request,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<Authenticated<Credential>, Response<Body>>> + Send {
        authenticate(store, req, ctx)
    }

    /// `{orgId}` (400), then the guards (403).
    fn authorize(_req: &Request, ctx: &Ctx, caller: &Credential) -> Result<(), Response<Body>> {
        let org_id = ctx
            .org_id
            .clone()
            .map_err(|message| fail(ctx, StatusCode::BAD_REQUEST, &message, Value::Null))?;
        authorize(caller, org_id).map_err(|message| fail(ctx, StatusCode::FORBIDDEN, &message, Value::Null))
    }

    fn parse(req: &Request, ctx: &Ctx) -> Result<CreateOrganizationInput, Response<Body>> {
        let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
            // Express's body parser in Cal.com answers this with "request entity too large".
            BodyProblem::TooLarge => fail(
                ctx,
                StatusCode::PAYLOAD_TOO_LARGE,
                "request entity too large",
                json!(format!("The body must be at most {} bytes", lambda::MAX_BODY_BYTES)),
            ),
            BodyProblem::UnsupportedType(kind) => fail(
                ctx,
                StatusCode::BAD_REQUEST,
                &format!("Unsupported Content-Type '{kind}': send application/json"),
                Value::Null,
            ),
        })?;
        // Cal.com's ValidationPipe wraps class-validator's errors in `{errors}`, which its
        // HttpExceptionFilter renders as the bare "Bad Request Exception" (the filter keeps only
        // `exception.message`). Doing better: `message` is every constraint message joined with "; "
        // (exactly the one message when only one constraint failed, e.g. the metadata sentence of
        // wire.md), and `details` lists them one by one (`ErrorType.details` is `string | string[]` in
        // @calcom/platform-types).
        validate(bytes)
            .map_err(|problems| fail(ctx, StatusCode::BAD_REQUEST, &problems.join("; "), json!(problems)))
    }

    /// The id is drawn without reading the table: the transaction proves it unique (the child tenant's key
    /// `TENANT#calcom#<id>` is global and put with `attribute_not_exists`). 53 random bits make a collision
    /// rare but not impossible among millions of organizations: the pipeline mints again once.
    fn mint(
        ctx: &Ctx,
        caller: &Credential,
        input: &CreateOrganizationInput,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let ttl_s = input.api_key_ttl_s();
        let now_s = ctx.now_ms.div_euclid(1_000);
        let id = ids::random_js_safe_id();
        let slug = effective_slug(input, id);
        let api_key = secrets::mint(API_KEY_PREFIX, 32);
        let org = json!({"id": id, "name": input.name, "slug": slug, "metadata": input.metadata});
        // The managed org inherits the manager's cap and rate limit; it has a platform subscription of its
        // own (and so may manage orgs) only when the manager's tenant nests: a tenant's cap then bounds
        // everything it can create.
        let child_ref = TenantRef::new(Vendor::Calcom, id.to_string());
        let mut child = caller.child_tenant(child_ref.clone(), &input.name, ctx.now_ms);
        if !caller.nests() {
            child.plan = None;
        }
        let key = Credential {
            tenant: child_ref,
            kind: API_KEY.to_owned(),
            principal: caller.principal.clone(),
            role: OWNER.to_owned(),
            permissions: vec![ORGANIZATION_CREATE.to_owned()],
            plan: child.plan.clone(),
            features: child.features.clone(),
            expires_s: ttl_s.map(|ttl| now_s.saturating_add(ttl)),
            rate_limit: child.rate_limit,
            cap: child.cap,
            public_id: None,
            created_ms: ctx.now_ms,
        };
        let new = NewOrg {
            tenant: caller.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: id.to_string(),
                name: input.name.clone(),
                slug: Some(slug),
                created_ms: ctx.now_ms,
                doc: org.to_string(),
            },
            members: vec![Member { principal: caller.principal.clone(), role: OWNER.to_owned() }],
            credentials: vec![NewCredential { digest: secrets::digest(&api_key), credential: key }],
            child_tenant: Some(child),
            rate: Some(rate.clone()),
            idempotency: None,
        };
        let mut data = org;
        data["apiKey"] = Value::from(api_key);
        Minted { new, status: StatusCode::CREATED, answer: json!({"status": "success", "data": data}) }
    }

    fn too_many_requests(ctx: &Ctx, rate: &RateWindow) -> Response<Body> {
        too_many_requests(rate, ctx)
    }

    fn refuse(ctx: &Ctx, err: Error) -> Response<Body> {
        domain_error(err, ctx)
    }
}

impl Ctx {
    /// The path's `{orgId}` as the guards' messages name it.
    fn org_id_text(&self) -> String {
        self.org_id.as_ref().map_or_else(|_| "undefined".to_owned(), u64::to_string)
    }
}

/// Domain errors in Cal.com's words.
fn domain_error(err: Error, ctx: &Ctx) -> Response<Body> {
    let code = err.code();
    let reply = match err {
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => fail(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable. Please retry; send an Idempotency-Key to retry safely.",
            Value::Null,
        ),
        Error::Unauthenticated(AuthFailure::Expired) => {
            fail(ctx, StatusCode::UNAUTHORIZED, "Your api key is expired", Value::Null)
        }
        Error::Unauthenticated(_) => {
            fail(ctx, StatusCode::UNAUTHORIZED, "Your api key is not valid", Value::Null)
        }
        // The credential outlived its organization's tenant item.
        Error::Forbidden(Denied::NotInScope) => fail(
            ctx,
            StatusCode::FORBIDDEN,
            &format!("RolesGuard - User is not a member of the organization with id={}.", ctx.org_id_text()),
            Value::Null,
        ),
        Error::Forbidden(_) => fail(ctx, StatusCode::FORBIDDEN, "Forbidden resource", Value::Null),
        Error::CapReached { cap } => fail(
            ctx,
            StatusCode::FORBIDDEN,
            &format!(
                "Organization with id={} has reached its limit of {cap} managed organizations.",
                ctx.org_id_text()
            ),
            Value::Null,
        ),
        Error::SlugTaken { slug } => fail(
            ctx,
            StatusCode::CONFLICT,
            &format!(
                "Organization with slug '{slug}' already exists under this organization. Please, either provide \
                 a different slug or change name so that the automatically generated slug is different."
            ),
            Value::Null,
        ),
        Error::Invalid(what) => fail(ctx, StatusCode::BAD_REQUEST, &what, Value::Null),
        Error::Throttled { .. } => fail(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Please try again later.",
            Value::Null,
        ),
        Error::Idempotency(problem) => {
            fail(ctx, lambda::idempotency_status(problem), problem.message(), Value::Null)
        }
    };
    with_code(reply, code)
}

fn too_many_requests(rate: &RateWindow, ctx: &Ctx) -> Response<Body> {
    let reply = with_code(
        fail(ctx, StatusCode::TOO_MANY_REQUESTS, "Too many requests. Please try again later.", Value::Null),
        "throttled",
    );
    lambda::throttled(reply, rate.reset_s())
}

/// Cal.com's throttler headers (its default throttler is named `default`).
const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit-default",
    remaining: "x-ratelimit-remaining-default",
    reset: "x-ratelimit-reset-default",
    fixed: &[],
};

/// The NestJS exception name Cal.com's filter puts in `error.code`.
fn exception_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequestException",
        401 => "UnauthorizedException",
        403 => "ForbiddenException",
        404 => "NotFoundException",
        409 => "ConflictException",
        413 => "PayloadTooLargeException",
        // NestJS has no class of its own for 431; named after the status as the others are.
        431 => "RequestHeaderFieldsTooLargeException",
        429 => "ThrottlerException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerErrorException",
    }
}

/// Cal.com's error envelope: `{"status":"error","timestamp","path","error":{code,message,details}}`.
fn fail(ctx: &Ctx, status: StatusCode, message: &str, details: Value) -> Response<Body> {
    let body = json!({
        "status": "error",
        "timestamp": orgmint::clock::rfc3339_ms(ctx.now_ms),
        "path": ctx.path,
        "error": {"code": exception_name(status), "message": message, "details": details},
    });
    let code = match status.as_u16() {
        401 => "unauthenticated",
        403 => "forbidden",
        409 => "slug_taken",
        413 | 431 => "too_large",
        429 => "throttled",
        503 => "unavailable",
        _ => "invalid",
    };
    with_code(lambda::json_response(status, &body), code)
}

fn with_code(mut reply: Response<Body>, code: &'static str) -> Response<Body> {
    reply.extensions_mut().insert(ErrorCode(code));
    reply
}
