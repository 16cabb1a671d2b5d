//! Cal.com's API v2 dialect, which every Cal.com function speaks: API keys in `Authorization`, or a platform
//! OAuth client's `x-cal-client-id` + `x-cal-secret-key`; the guards of its managed-organizations controller
//! (ApiAuthGuard, IsOrgGuard, PBAC or RolesGuard, PlatformPlanGuard) in their order; class-validator's
//! errors; the `{status, timestamp, path, error}` envelope; `X-RateLimit-*-Default`, counted before
//! authentication as Cal.com's throttler does. An endpoint is an [`Operation`] of the dialect [`CalcomApi`]
//! (its route, its PBAC permission, its body or query, what it does).
//!
//! An API key identifies a user: at an `{orgId}` other than its own, the user's membership there decides
//! (one more read, for that case only).

// A refusal is the answer itself, returned once per request: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod validator;

use std::future::Future;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::lambda::{self, with_code, BodyProblem, Call, ErrorCode, Idempotency, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Dialect, Operation};
use orgmint::{secrets, AuthFailure, Credential, Denied, Error, Org, RateWindow, Store, TenantRef, Vendor};
use serde_json::{json, Value};

use validator::Invalid;

/// Cal.com's dialect. Each endpoint of the managed-organizations controller is an [`Operation`] of it
/// whose [`Needs`] say which PBAC permission (`organization.create`, …), like the ADMIN or OWNER role,
/// allows it.
pub struct CalcomApi;

/// What an endpoint asks of Cal.com's dialect.
pub struct Needs {
    /// The PBAC permission that, like the ADMIN or OWNER role, allows it.
    pub permission: &'static str,
    /// The managed organization the path names is read with the credentials, in the same round trip
    /// ([`Caller::managed_org`]): a read the path alone names costs one round trip.
    pub managed_org: bool,
}

/// An API key (`cal_` + 32 hex).
pub const API_KEY: &str = "api_key";
/// A platform OAuth client: stored under its secret's digest, with the client id as `public_id`.
pub const OAUTH_CLIENT: &str = "oauth_client";
/// The mark that a platform OAuth client id exists (stored under the digest of [`oauth_client_mark`]):
/// it authenticates nothing, and tells "no such client" from "wrong secret" in the same round trip.
pub const OAUTH_CLIENT_ID: &str = "oauth_client_id";
pub const API_KEY_PREFIX: &str = "cal_";
/// The PBAC permissions of the managed-organizations controller's endpoints (each, like the ADMIN or OWNER
/// role, allows its endpoint).
pub const ORGANIZATION_CREATE: &str = "organization.create";
pub const ORGANIZATION_READ: &str = "organization.read";
pub const ORGANIZATION_UPDATE: &str = "organization.update";
pub const ORGANIZATION_DELETE: &str = "organization.delete";
pub const OWNER: &str = "OWNER";
pub const ADMIN: &str = "ADMIN";
pub const MEMBER: &str = "MEMBER";
/// Cal.com's platform plans, lowest first.
pub const PLANS: [&str; 6] = ["FREE", "STARTER", "ESSENTIALS", "SCALE", "PER_ACTIVE_USER", "ENTERPRISE"];
/// The lowest plan allowed to create managed organizations.
pub const MINIMUM_PLAN: &str = "SCALE";
pub const CLIENT_ID_HEADER: &str = "x-cal-client-id";
pub const SECRET_KEY_HEADER: &str = "x-cal-secret-key";
/// Organization ids are Postgres `int4`s.
const ID_LIMIT: u64 = 1 << 31;

const NO_CREDENTIALS: &str =
    "ApiAuthStrategy - No authentication method provided. Either pass an API key as \
'Bearer' header or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers";
const INVALID_API_KEY: &str = "CustomThrottlerGuard - Invalid API Key";
const EXPIRED_API_KEY: &str = "ApiAuthStrategy - api key - Your api key is expired";
const INVALID_CLIENT_SECRET: &str = "ApiAuthStrategy - oAuth client - Invalid client secret";

/// What the secret of [`OAUTH_CLIENT_ID`]'s mark is for `client_id` (its digest is the item's key).
pub fn oauth_client_mark(client_id: &str) -> String {
    format!("oauth-client-id:{client_id}")
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
/// path's `{orgId}` and `{managedOrganizationId}` (or their raw text, when they name no organization that
/// can exist), read once.
pub struct Ctx {
    path: String,
    pub now_ms: i64,
    org_id: Result<u64, String>,
    managed_id: Result<u64, String>,
}

/// Requests per minute of a caller the tenant's settings do not name (no credential, an expired key, an
/// unknown OAuth client), as Cal.com's throttler defaults: 120 per API key or address.
pub const DEFAULT_RATE_LIMIT: u32 = 120;
/// Cal.com's default for a platform OAuth client (`orgmint tenant create` gives it unless `--rate-limit`).
pub const OAUTH_CLIENT_RATE_LIMIT: u32 = 500;

/// The caller as they act at `{orgId}`: with their own credential at its own organization, or with their
/// membership at another; or not authenticated at all, which the throttler has counted before
/// `ApiAuthStrategy` refuses it.
pub struct Caller {
    /// At `{orgId}`: its tenant is the manager organization's.
    pub credential: Credential,
    /// `ApiAuthStrategy`'s 401, when the caller is not authenticated.
    unauthenticated: Option<String>,
    /// `{orgId}` names an organization (IsOrgGuard refuses the rest).
    org_exists: bool,
    /// The managed organization the path names, read with the credentials when the endpoint
    /// [`Needs::managed_org`] (`None` inside: the manager holds no such org).
    pub managed_org: Option<Option<Org>>,
}

impl Caller {
    fn unauthenticated(message: &str) -> Caller {
        let nobody = Credential {
            tenant: TenantRef::new(Vendor::Calcom, ""),
            kind: String::new(),
            principal: String::new(),
            role: String::new(),
            permissions: Vec::new(),
            plan: None,
            features: Vec::new(),
            expires_s: None,
            rate_limit: 0,
            cap: 0,
            public_id: None,
            created_ms: 0,
        };
        Caller {
            credential: nobody,
            unauthenticated: Some(message.to_owned()),
            org_exists: false,
            managed_org: None,
        }
    }
}

/// Cal.com's `CustomThrottlerGuard` runs before `ApiAuthStrategy`: a request is counted per API key, per
/// OAuth client id, or per client address when it carries neither, and its 401 carries the rate-limit
/// headers — except an unknown API key, which the throttler itself refuses, uncounted. One `BatchGetItem`
/// reads the credential (and, for an OAuth client, the mark of its id), the window with its block, and the
/// idempotency record. The OAuth pair wins over an API key; an API key is the `Authorization` value with
/// a literal `Bearer ` removed when present.
async fn authenticate<O: Operation<Dialect = CalcomApi>>(
    store: &Store,
    req: &Request,
    ctx: &Ctx,
) -> Result<Authenticated<Caller>, Response<Body>> {
    let client_id = lambda::header(req, CLIENT_ID_HEADER);
    let api_key = lambda::header(req, "authorization").map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    let mark;
    let (secrets, tracker): (Vec<&str>, String) =
        match (client_id, lambda::header(req, SECRET_KEY_HEADER), api_key) {
            (Some(id), Some(secret), _) => {
                mark = oauth_client_mark(id);
                (vec![secret, &mark], format!("client:{id}"))
            }
            (None, None, Some(key)) if !key.is_empty() => (vec![key], String::new()),
            (Some(id), None, _) => (Vec::new(), format!("client:{id}")),
            _ => (Vec::new(), format!("ip:{}", lambda::source_ip(req).unwrap_or("unknown"))),
        };
    // An API key's window is keyed by its digest, as every vendor's; other trackers are digested too (no
    // client id or address in a key).
    let rate_key =
        orgmint::rate::key_of(Vendor::Calcom, if tracker.is_empty() { secrets[0] } else { &tracker });
    // The org's key is the path's alone (`{orgId}`'s scope, `{managedOrganizationId}`), whoever asks.
    let manager = ctx.org_id.as_ref().ok().map(|id| TenantRef::new(Vendor::Calcom, id.to_string()));
    let managed = ctx.managed_id.as_ref().ok().map(u64::to_string);
    let org = match (O::NEEDS.managed_org, &manager, &managed) {
        (true, Some(manager), Some(managed)) => Some((manager, managed.as_str())),
        _ => None,
    };
    let (mut found, idempotency) = lambda::authenticate_metered(
        store,
        req,
        Vendor::Calcom,
        &secrets,
        &rate_key,
        Some(&RATE_LIMIT_HEADERS),
        org,
    )
    .await
    .map_err(|e| refused::<O>(ctx, e))?;
    let managed_org = org.map(|_| found.org.take());
    let mut credentials = std::mem::take(&mut found.credentials).into_iter();
    let identity = match (client_id, credentials.next()) {
        (_, None) => Err((NO_CREDENTIALS.to_owned(), None)),
        (None, Some(Ok(key))) if key.kind == API_KEY => Ok(key),
        (None, Some(Err(Error::Unauthenticated(AuthFailure::Expired)))) => {
            Err((EXPIRED_API_KEY.to_owned(), None))
        }
        (None, Some(Ok(_) | Err(Error::Unauthenticated(_)))) => {
            return Err(fail(ctx, StatusCode::UNAUTHORIZED, INVALID_API_KEY));
        }
        // The lookup is by the secret's digest; the client id must then be the one it was issued with
        // (public, but half of the pair: compared in constant time like the rest of the credential).
        (Some(id), Some(Ok(c)))
            if c.kind == OAUTH_CLIENT && c.public_id.as_deref().is_some_and(|p| secrets::equal(p, id)) =>
        {
            Ok(c)
        }
        (Some(id), Some(Ok(_) | Err(Error::Unauthenticated(_)))) => match credentials.next() {
            Some(Ok(mark)) if mark.kind == OAUTH_CLIENT_ID => {
                Err((INVALID_CLIENT_SECRET.to_owned(), Some(mark.rate_limit)))
            }
            Some(Err(err @ (Error::Unavailable(_) | Error::Corrupt(_)))) => {
                return Err(refused::<O>(ctx, err))
            }
            _ => Err((format!("ApiAuthStrategy - oAuth client - Client with ID {id} not found"), None)),
        },
        (_, Some(Err(other))) => return Err(refused::<O>(ctx, other)),
    };
    match identity {
        Ok(credential) => {
            found.rate.limit = credential.rate_limit;
            let caller = Caller { managed_org, ..acting_at::<O>(store, ctx, credential).await? };
            let idempotency = match O::IDEMPOTENT {
                true => idempotency.map_err(|e| refused::<O>(ctx, e))?,
                false => Idempotency::default(),
            };
            Ok(Authenticated { caller, rate: found.rate, idempotency })
        }
        Err((message, limit)) => {
            found.rate.limit = limit.unwrap_or(DEFAULT_RATE_LIMIT);
            let caller = Caller::unauthenticated(&message);
            Ok(Authenticated { caller, rate: found.rate, idempotency: Default::default() })
        }
    }
}

/// The user of `credential` as they act at `{orgId}`: at the credential's own organization as it says; at
/// another, with their role there and that organization's plan, cap and features (one `BatchGetItem`).
async fn acting_at<O: Operation<Dialect = CalcomApi>>(
    store: &Store,
    ctx: &Ctx,
    credential: Credential,
) -> Result<Caller, Response<Body>> {
    let caller =
        |credential, org_exists| Caller { credential, unauthenticated: None, org_exists, managed_org: None };
    let Ok(org_id) = ctx.org_id else { return Ok(caller(credential, false)) };
    if credential.tenant.id == org_id.to_string() {
        return Ok(caller(credential, true));
    }
    let org = TenantRef::new(Vendor::Calcom, org_id.to_string());
    let (tenant, member) =
        store.tenant_and_member(&org, &credential.principal).await.map_err(|e| refused::<O>(ctx, e))?;
    let Some(tenant) = tenant else { return Ok(caller(credential, false)) };
    let credential = Credential {
        role: member.map(|m| m.role).unwrap_or_default(),
        // PBAC permissions are granted per organization: the key's own do not carry over.
        permissions: Vec::new(),
        plan: tenant.plan,
        features: tenant.features,
        cap: tenant.cap,
        tenant: org,
        ..credential
    };
    Ok(caller(credential, true))
}

/// A path id: ASCII digits only (no sign, spaces or exponent), a positive `int4`. API Gateway puts it in
/// `pathParameters` (under `name`); under `cargo lambda watch` it arrives there undecoded; without either,
/// the raw path's segment `segment` (`/v2/organizations/{orgId}/organizations/{managedOrganizationId}`) is
/// read. `Err` is the text as received, which no organization has.
fn path_id(req: &Request, name: &str, segment: usize) -> Result<u64, String> {
    let from_params = req.path_parameters_ref().and_then(|p| p.first(name)).map(str::to_owned);
    let raw = from_params.unwrap_or_else(|| {
        let path = req.raw_http_path();
        let path = if path.is_empty() { req.uri().path() } else { path };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["v2", "organizations", ..] => parts.get(segment).copied().unwrap_or_default().to_owned(),
            _ => String::new(),
        }
    });
    let numeric = !raw.is_empty() && raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<u64>() {
        Ok(id) if numeric && id > 0 && id < ID_LIMIT => Ok(id),
        _ => Err(raw),
    }
}

fn plan_rank(plan: &str) -> Option<usize> {
    PLANS.iter().position(|p| *p == plan)
}

/// Cal.com's guards, each with its own message: the organization exists (IsOrgGuard), the caller is its
/// ADMIN or OWNER or holds the endpoint's PBAC `permission` (either suffices), and it has a platform plan
/// of at least SCALE. `Err` is the 403's message.
fn authorize(ctx: &Ctx, caller: &Caller, permission: &str) -> Result<(), String> {
    let org_id = match (&ctx.org_id, caller.org_exists) {
        (Ok(id), true) => *id,
        (Ok(id), false) => return Err(no_such_org(&id.to_string())),
        (Err(raw), _) => return Err(no_such_org(raw)),
    };
    let credential = &caller.credential;
    let user = &credential.principal;
    let admin = credential.role == OWNER || credential.role == ADMIN;
    if !admin && !credential.has_permission(permission) {
        return Err(format!(
            "RolesGuard - user with id={user} does not have the minimum required role=ORG_ADMIN within \
             organization with id={org_id}."
        ));
    }
    let Some(plan) = credential.plan.as_deref() else {
        // A managed org of a tenant that does not nest: Cal.com gives it no platform subscription.
        return Err(format!(
            "PlatformPlanGuard - No platform subscription found for organization with id={org_id}."
        ));
    };
    let minimum = plan_rank(MINIMUM_PLAN).expect("the minimum plan is a plan");
    if plan_rank(plan).is_none_or(|rank| rank < minimum) {
        return Err(format!(
            "PlatformPlanGuard - organization with id={org_id} does not have required plan for this \
             operation. Minimum plan is {MINIMUM_PLAN} while the organization has {plan}."
        ));
    }
    Ok(())
}

fn no_such_org(org_id: &str) -> String {
    format!("IsOrgGuard - provided organization id={org_id} does not represent any existing organization.")
}

/// The domain's refusal in Cal.com's words, for the log line as the pipeline words it.
fn refused<O: Operation<Dialect = CalcomApi>>(ctx: &Ctx, err: Error) -> Response<Body> {
    pipeline::refusal::<O>(ctx, err)
}

impl Dialect for CalcomApi {
    const VENDOR: Vendor = Vendor::Calcom;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Ctx;
    type Caller = Caller;
    type Needs = Needs;

    fn tenant(caller: &Caller) -> Option<&str> {
        caller.unauthenticated.is_none().then_some(caller.credential.tenant.id.as_str())
    }

    fn context(req: &Request, call: &Call) -> Ctx {
        Ctx {
            path: request_path(req),
            now_ms: call.now_ms,
            org_id: path_id(req, "orgId", 2),
            managed_id: path_id(req, "managedOrganizationId", 4),
        }
    }

    fn headers_too_large(ctx: &Ctx, message: &str) -> Response<Body> {
        fail(ctx, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
    }

    fn authenticate<O: Operation<Dialect = Self>>(
        store: &Store,
        req: &Request,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<Authenticated<Caller>, Response<Body>>> + Send {
        authenticate::<O>(store, req, ctx)
    }

    /// `ApiAuthStrategy`'s 401 (counted by the throttler, which ran first), then the guards' 403s.
    fn authorize<O: Operation<Dialect = Self>>(
        _req: &Request,
        ctx: &Ctx,
        caller: &Caller,
    ) -> Result<(), Response<Body>> {
        if let Some(message) = &caller.unauthenticated {
            return Err(fail(ctx, StatusCode::UNAUTHORIZED, message));
        }
        authorize(ctx, caller, O::NEEDS.permission)
            .map_err(|message| fail(ctx, StatusCode::FORBIDDEN, &message))?;
        O::authorize(ctx, caller)
    }

    fn too_many_requests(ctx: &Ctx, _rate: &RateWindow) -> Response<Body> {
        too_many_requests(ctx)
    }

    /// NestJS's `enableCors()` with the `cors` package's defaults: any origin, its methods, the requested
    /// headers reflected, 204.
    async fn preflight(_store: &Store, req: &Request, _ctx: &Ctx) -> Option<Response<Body>> {
        (req.method() == Method::OPTIONS).then(|| {
            let mut reply = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header("access-control-allow-methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
                .header("vary", "Access-Control-Request-Headers")
                .header("content-length", "0");
            if let Some(requested) = req.headers().get("access-control-request-headers") {
                reply = reply.header("access-control-allow-headers", requested);
            }
            reply.body(Body::Empty).expect("static headers and a reflected header value")
        })
    }

    /// Every answer may be read by any origin, as Cal.com's API v2 answers browsers.
    fn cors(_req: &Request, reply: &mut Response<Body>) {
        reply.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }

    fn refuse(ctx: &Ctx, err: Error) -> Response<Body> {
        domain_error(err, ctx)
    }
}

/// The body of a request within [`lambda::MAX_BODY_BYTES`], of a content type Cal.com reads, validated by
/// `validate`: ValidationPipe's refusals in Cal.com's envelope.
pub fn validated<I>(
    req: &Request,
    ctx: &Ctx,
    validate: impl FnOnce(&[u8]) -> Result<I, Invalid>,
) -> Result<I, Response<Body>> {
    let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
        // Express's body parser in Cal.com answers this with "request entity too large".
        BodyProblem::TooLarge => fail(ctx, StatusCode::PAYLOAD_TOO_LARGE, "request entity too large"),
        BodyProblem::UnsupportedType(kind) => fail(
            ctx,
            StatusCode::BAD_REQUEST,
            &format!("Unsupported Content-Type '{kind}': send application/json"),
        ),
    })?;
    validate(bytes).map_err(|invalid| invalid_body(ctx, invalid))
}

/// ValidationPipe throws `BadRequestException({errors})`: its filter's `message` is then "Bad Request
/// Exception" and `details` the exception's response, class-validator's errors.
pub fn invalid_body(ctx: &Ctx, invalid: Invalid) -> Response<Body> {
    match invalid {
        Invalid::Malformed(message) => fail(ctx, StatusCode::BAD_REQUEST, &message),
        Invalid::BothExpiryOptions => fail(ctx, StatusCode::BAD_REQUEST, BOTH_EXPIRY_OPTIONS),
        Invalid::Constraints(problems) => {
            let errors: Vec<Value> = problems.iter().map(validator::Problem::to_json).collect();
            envelope(ctx, StatusCode::BAD_REQUEST, "Bad Request Exception", json!({"errors": errors}))
        }
    }
}

/// `ApiKeysService`'s refusal of both expiry options, word for word (its missing space included).
pub const BOTH_EXPIRY_OPTIONS: &str =
    "ApiKeysService -Cannot set both apiKeyDaysValid and apiKeyNeverExpires. \
It has to be either or none of them.";

/// A managed organization as Cal.com's `ManagedOrganizationOutput` shows it: `id`, `name`, `slug`, and
/// `metadata` only when some is stored (its stored document).
pub fn managed_org(org: &Org) -> Value {
    serde_json::from_str(&org.doc)
        .unwrap_or_else(|_| json!({"id": org.id, "name": org.name, "slug": org.slug}))
}

/// `{"status": "success", "data": data}` with `status`.
pub fn success(status: StatusCode, data: Value) -> Response<Body> {
    lambda::json_response(status, &success_body(data))
}

/// `{"status": "success", "data": data}`.
pub fn success_body(data: Value) -> Value {
    json!({"status": "success", "data": data})
}

/// What `{managedOrganizationId}` names: the managed organization's id, and the scope of the manager the
/// caller acts at (`{orgId}`); IsManagedOrgInManagerOrg's 404 when it can name no organization at all.
pub fn managed<'a>(
    ctx: &Ctx,
    found: &'a Authenticated<Caller>,
) -> Result<(String, &'a TenantRef), Response<Body>> {
    let id = ctx.managed_id().ok_or_else(|| not_managed(ctx))?;
    Ok((id.to_string(), &found.caller.credential.tenant))
}

/// IsManagedOrgInManagerOrg's 404: `{managedOrganizationId}` names no organization the manager holds.
pub fn not_managed(ctx: &Ctx) -> Response<Body> {
    let message = format!(
        "Managed organization with id={} within manager organization with id={} not found.",
        ctx.managed_id_text(),
        ctx.org_id_text()
    );
    with_code(fail(ctx, StatusCode::NOT_FOUND, &message), "not_found")
}

impl Ctx {
    /// The path's `{orgId}` as the guards' messages name it.
    pub fn org_id_text(&self) -> String {
        match &self.org_id {
            Ok(id) => id.to_string(),
            Err(raw) => raw.clone(),
        }
    }

    /// The path's `{managedOrganizationId}` as the messages name it.
    pub fn managed_id_text(&self) -> String {
        match &self.managed_id {
            Ok(id) => id.to_string(),
            Err(raw) => raw.clone(),
        }
    }

    /// `{managedOrganizationId}`, when it can name an organization at all.
    pub fn managed_id(&self) -> Option<u64> {
        self.managed_id.as_ref().ok().copied()
    }
}

/// Domain errors in Cal.com's words.
pub fn domain_error(err: Error, ctx: &Ctx) -> Response<Body> {
    let code = err.code();
    let reply = match err {
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => fail(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable. Please retry; send an Idempotency-Key to retry safely.",
        ),
        Error::Unauthenticated(AuthFailure::Expired) => fail(ctx, StatusCode::UNAUTHORIZED, EXPIRED_API_KEY),
        Error::Unauthenticated(_) => fail(ctx, StatusCode::UNAUTHORIZED, INVALID_API_KEY),
        // The credential outlived its organization's tenant item.
        Error::Forbidden(Denied::NotInScope) => {
            fail(ctx, StatusCode::FORBIDDEN, &no_such_org(&ctx.org_id_text()))
        }
        Error::Forbidden(_) => fail(ctx, StatusCode::FORBIDDEN, "Forbidden resource"),
        Error::CapReached { cap } => fail(
            ctx,
            StatusCode::FORBIDDEN,
            &format!(
                "Organization with id={} has reached its limit of {cap} managed organizations.",
                ctx.org_id_text()
            ),
        ),
        Error::SlugTaken { slug } => fail(
            ctx,
            StatusCode::CONFLICT,
            &format!(
                "Organization with slug '{slug}' already exists. Please, either provide a different slug or \
                 change name so that the automatically generated slug is different."
            ),
        ),
        Error::Invalid(what) => fail(ctx, StatusCode::BAD_REQUEST, &what),
        Error::Throttled { .. } => fail(ctx, StatusCode::TOO_MANY_REQUESTS, THROTTLED),
        Error::Idempotency(problem) => fail(ctx, lambda::idempotency_status(problem), problem.message()),
    };
    with_code(reply, code)
}

const THROTTLED: &str = "CustomThrottlerGuard - Too many requests. Please try again later.";

fn too_many_requests(ctx: &Ctx) -> Response<Body> {
    // Cal.com's throttler sends no Retry-After: its X-RateLimit-Reset-Default says when.
    let mut reply = with_code(fail(ctx, StatusCode::TOO_MANY_REQUESTS, THROTTLED), "throttled");
    reply.extensions_mut().insert(lambda::RateSettled);
    reply
}

/// Cal.com's throttler headers (its default throttler is named `default`).
const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit-default",
    remaining: "x-ratelimit-remaining-default",
    reset: "x-ratelimit-reset-default",
    fixed: &[],
    // Cal.com's CustomThrottlerGuard blocks for 60 s from the first refusal.
    block_s: 60,
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
        422 => "UnprocessableEntityException",
        // NestJS has no class of its own for 431; named after the status as the others are.
        431 => "RequestHeaderFieldsTooLargeException",
        429 => "ThrottlerException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerErrorException",
    }
}

/// Cal.com's error envelope for an `HttpException` thrown with a message: `details` is the exception's
/// response, `{message, error, statusCode}`.
pub fn fail(ctx: &Ctx, status: StatusCode, message: &str) -> Response<Body> {
    let details = json!({
        "message": message,
        "error": status.canonical_reason().unwrap_or("Error"),
        "statusCode": status.as_u16(),
    });
    envelope(ctx, status, message, details)
}

/// Cal.com's error envelope (`HttpExceptionFilter`): `{"status":"error","timestamp","path","error":{code,
/// message,details}}`, `code` the exception's class name.
pub fn envelope(ctx: &Ctx, status: StatusCode, message: &str, details: Value) -> Response<Body> {
    let body = json!({
        "status": "error",
        "timestamp": orgmint::clock::rfc3339_ms(ctx.now_ms),
        "path": ctx.path,
        "error": {"code": exception_name(status), "message": message, "details": details},
    });
    with_code(lambda::json_response(status, &body), ErrorCode::of_status(status))
}
