//! Clerk's Frontend API `POST /v1/organizations`: the signed-in user creates an organization and becomes
//! its `org:admin`. Clerk's dialect (session JWTs in `Authorization: Bearer` or the `__session` cookie,
//! form or JSON bodies, `{"errors":[…],"clerk_trace_id":…}`) over orgmint's capped create.
//!
//! Scopes: the instance is a tenant holding the issuer, the public key, the features and
//! `max_allowed_memberships`; each user account is a tenant `<instance>/<user>` holding the cap and the
//! counter. Slugs are unique per instance. A create is two round trips: one `BatchGetItem` (instance,
//! account, the account's rate window) and one `TransactWriteItems`.

mod session_token;
mod validate;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;

use orgmint::lambda::{self, BodyProblem, Call, Idempotency, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint, Minted, Mints};
use orgmint::{ids, Denied, Error, Member, NewOrg, Org, RateWindow, Store, Tenant, TenantRef, Vendor};
use serde_json::{json, Value};

use session_token::Unverified;
pub use validate::{carries_url_or_html, derived_slug, validate, CreateOrganization, Invalid, ParamError};

pub const ROUTE: &str = "POST /v1/organizations";
/// The instance feature that allows organizations.
pub const ORGANIZATIONS: &str = "organizations";
/// The creator's role in the new organization.
pub const ADMIN_ROLE: &str = "org:admin";
/// Instance attributes the function reads.
pub const ATTR_ISSUER: &str = "issuer";
pub const ATTR_PUBLIC_KEY: &str = "public_key";
pub const ATTR_MAX_MEMBERSHIPS: &str = "max_allowed_memberships";
pub const DEFAULT_MAX_MEMBERSHIPS: u64 = 5;
/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_S: i64 = 5;
/// Derived slugs that are taken get a random suffix; this many tries in all.
const SLUG_ATTEMPTS: u32 = 4;

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Clerk>(store, req).await
}

/// A verified session: its instance and the user's account (the cap's scope).
pub struct Session {
    instance: Tenant,
    account: Tenant,
    user_id: String,
}

/// `<prefix>` followed by 27 base62 characters: the shape of Clerk's ids.
fn is_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 27 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The session token: `Authorization` (`Bearer <jwt>`, or the bare token) wins over the `__session`
/// cookie. `None` when neither carries one.
fn session_token(req: &Request) -> Option<&str> {
    if let Some(value) = req.headers().get("authorization") {
        let value = value.to_str().ok()?.trim();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            Some(_) => return None,
            None => value,
        };
        return (!token.is_empty()).then_some(token);
    }
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "__session")
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}

/// One round trip: the instance and the user's account (and its rate window), both named by the token's
/// claims. Nothing of the token is trusted until its signature verifies with the instance's key, and its
/// issuer is the instance's. Every failure is the same 401.
async fn authenticate(
    store: &Store,
    req: &Request,
    call: &Call,
) -> Result<Authenticated<Session>, Response<Body>> {
    let unauthorized = || unauthorized(call);
    let token = session_token(req).ok_or_else(unauthorized)?;
    // Unverified: only to know which keys to read.
    let token = Unverified::parse(token).ok_or_else(unauthorized)?;
    let claimed = token.claims();
    let instance_id = claimed.iss.rsplit('/').next().unwrap_or_default();
    if !is_id(instance_id, "ins_") || !is_id(&claimed.sub, "user_") {
        return Err(unauthorized());
    }
    let instance_ref = TenantRef::new(Vendor::Clerk, instance_id);
    let account_ref = TenantRef::new(Vendor::Clerk, format!("{instance_id}/{}", claimed.sub));
    let rate_key = format!("{}#{}", Vendor::Clerk, account_ref.id);
    let now_s = call.now_ms.div_euclid(1_000);
    // Session tokens live a minute: a key is bound to the account, which a retry's fresh token names too.
    let idempotency_key = lambda::idempotency_key(req, Vendor::Clerk, &[instance_id, &claimed.sub]);
    let (mut found, rate_used, prior) = store
        .tenants_for(
            &[instance_ref, account_ref],
            Some(&rate_key),
            now_s,
            idempotency_key.as_ref().ok().and_then(Option::as_ref),
        )
        .await
        .map_err(|err| Clerk::refused(call, err))?;
    let (account, instance) = (found.pop().flatten(), found.pop().flatten());
    let instance = instance.ok_or_else(unauthorized)?;
    let (Some(issuer), Some(public_pem)) =
        (instance.attributes.get(ATTR_ISSUER), instance.attributes.get(ATTR_PUBLIC_KEY))
    else {
        return Err(unauthorized());
    };
    // RS256 only, signed by the instance's key, issued by the instance, current.
    let claims = token.verify(public_pem, issuer, now_s, LEEWAY_S).ok_or_else(unauthorized)?;
    if !is_id(&claims.sid, "sess_") {
        return Err(unauthorized());
    }
    // `_clerk_session_id`, when sent, names the session the token is of. Session ids are public (they
    // travel in URLs), so a plain comparison.
    let params = req.query_string_parameters();
    if let Some(sid) = params.first("_clerk_session_id") {
        if sid != claims.sid {
            return Err(unauthorized());
        }
    }
    // The session's user exists: their account does.
    let account = account.ok_or_else(unauthorized)?;
    let idempotency = Idempotency { key: idempotency_key.map_err(|err| Clerk::refused(call, err))?, prior };
    // Clerk's window is the account's, whichever session or client the user signs in with.
    let rate = RateWindow::new(rate_key, account.rate_limit, rate_used, now_s);
    Ok(Authenticated { caller: Session { instance, account, user_id: claims.sub }, rate, idempotency })
}

/// Clerk's endpoint: its dialect over the one create pipeline (`orgmint::pipeline`).
pub struct Clerk;

impl Endpoint for Clerk {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const VENDOR: Vendor = Vendor::Clerk;
    /// Clerk sends no rate-limit headers.
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = None;
    type Ctx = Call;
    type Caller = Session;
    type Input = CreateOrganization;

    /// The user's account within the instance: the cap's scope.
    fn tenant(session: &Session) -> Option<&str> {
        Some(&session.account.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(call: &Call, message: &str) -> Response<Body> {
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        error(call, status, "request_header_fields_too_large", "Request header fields too large", message)
    }

    fn authenticate(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> impl Future<Output = Result<Authenticated<Session>, Response<Body>>> + Send {
        authenticate(store, req, call)
    }

    fn authorize(_req: &Request, call: &Call, session: &Session) -> Result<(), Response<Body>> {
        if !session.instance.features.iter().any(|f| f == ORGANIZATIONS) {
            return Err(not_enabled(call));
        }
        Ok(())
    }

    fn parse(req: &Request, call: &Call) -> Result<CreateOrganization, Response<Body>> {
        let (bytes, kind) = lambda::body(req, true).map_err(|problem| match problem {
            BodyProblem::TooLarge => error(
                call,
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_body_too_large",
                "Request body too large",
                &format!("The request body must be at most {} bytes.", lambda::MAX_BODY_BYTES),
            ),
            BodyProblem::UnsupportedType(_) => body_invalid(call),
        })?;
        validate(bytes, kind).map_err(|invalid| match invalid {
            Invalid::Body => body_invalid(call),
            Invalid::Params(problems) => errors(
                call,
                StatusCode::UNPROCESSABLE_ENTITY,
                problems.iter().map(ParamError::to_json).collect(),
                problems.first().map_or("invalid", |p| p.code),
            ),
        })
    }

    fn too_many_requests(call: &Call, rate: &RateWindow) -> Response<Body> {
        too_many_requests(call, rate)
    }

    fn refuse(call: &Call, err: Error) -> Response<Body> {
        domain_error(call, err)
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

impl Mints for Clerk {
    /// The slug as sent; else derived from the name, and from the second attempt on (a derived slug that
    /// was taken) with a random suffix.
    fn mint(
        call: &Call,
        session: &Session,
        input: &CreateOrganization,
        rate: &RateWindow,
        attempt: u32,
    ) -> Minted {
        let org_id = format!("org_{}", ids::random_from(ids::BASE62, 27));
        let max_memberships = session
            .instance
            .attributes
            .get(ATTR_MAX_MEMBERSHIPS)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(DEFAULT_MAX_MEMBERSHIPS);
        let base = input.slug.clone().or_else(|| derived_slug(&input.name));
        let slug = match (attempt, base) {
            (1, Some(base)) => base,
            (1, None) => format!("org-{}", suffix()),
            (_, base) => format!("{}-{}", base.as_deref().unwrap_or("org"), suffix()),
        };
        let org = json!({
            "object": "organization",
            "id": org_id,
            "name": input.name,
            "slug": slug,
            "has_image": false,
            "members_count": 1,
            "pending_invitations_count": 0,
            "max_allowed_memberships": max_memberships,
            "admin_delete_enabled": true,
            "public_metadata": {},
            "created_at": call.now_ms,
            "updated_at": call.now_ms,
        });
        let new = NewOrg {
            tenant: session.account.tenant.clone(),
            slug_scope: Some(session.instance.tenant.clone()),
            org: Org {
                id: org_id,
                name: input.name.clone(),
                slug: Some(slug),
                created_ms: call.now_ms,
                doc: org.to_string(),
            },
            members: vec![Member { principal: session.user_id.clone(), role: ADMIN_ROLE.to_owned() }],
            credentials: Vec::new(),
            child_tenant: None,
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer: org }
    }

    /// A derived slug that is taken gets a random suffix (nothing was written), up to `SLUG_ATTEMPTS`
    /// tries; a fresh id that exists is drawn again once.
    fn retry(err: &Error, attempt: u32, input: &CreateOrganization) -> bool {
        match err {
            Error::SlugTaken { .. } => input.slug.is_none() && attempt < SLUG_ATTEMPTS,
            Error::IdCollision => attempt < 2,
            _ => false,
        }
    }
}

/// Six random base36 characters.
fn suffix() -> String {
    ids::random_from(ids::BASE36, 6)
}

// ---- Clerk's errors -----------------------------------------------------------------------------------

/// Domain errors in Clerk's words.
fn domain_error(call: &Call, err: Error) -> Response<Body> {
    match err {
        Error::CapReached { cap } => error(
            call,
            StatusCode::FORBIDDEN,
            "organization_quota_exceeded",
            "organization quota exceeded",
            &format!("You cannot create more than {cap} organizations per account."),
        ),
        // The account vanished between authentication and the transaction: no longer a session's user.
        Error::Unauthenticated(_) | Error::Forbidden(Denied::NotInScope) => unauthorized(call),
        Error::Forbidden(_) => not_enabled(call),
        Error::SlugTaken { .. } => slug_taken(call),
        Error::Throttled { retry_after_s } => lambda::throttled(too_many(call), retry_after_s),
        Error::Invalid(_) => body_invalid(call),
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => error(
            call,
            StatusCode::SERVICE_UNAVAILABLE,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            "There was an internal error on our servers. Please retry; send an Idempotency-Key to retry safely.",
        ),
        Error::Idempotency(problem) => error(
            call,
            lambda::idempotency_status(problem),
            err.code(),
            problem.message(),
            problem.message(),
        ),
    }
}

/// The seed's 401, for every authentication failure alike.
fn unauthorized(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::UNAUTHORIZED,
        "authentication_invalid",
        "Invalid authentication",
        "Unable to authenticate the request, you need to supply an active session",
    )
}

/// The seed's 403 for an instance without organizations.
fn not_enabled(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::FORBIDDEN,
        "organizations_not_enabled_in_instance",
        "access denied",
        "The organizations feature is not enabled for your instance. If you want to try it out, contact us at \
         support@clerk.dev.",
    )
}

fn body_invalid(call: &Call) -> Response<Body> {
    error(
        call,
        StatusCode::BAD_REQUEST,
        "request_body_invalid",
        "Request body invalid",
        "The request body is invalid. Send application/x-www-form-urlencoded or a JSON object.",
    )
}

fn slug_taken(call: &Call) -> Response<Body> {
    let entry = json!({
        "code": "form_identifier_exists",
        "message": "That slug is taken. Please try another.",
        "long_message": "That slug is taken. Please try another.",
        "meta": {"param_name": "slug"},
    });
    errors(call, StatusCode::UNPROCESSABLE_ENTITY, vec![entry], "form_identifier_exists")
}

/// Clerk's 429, before `lambda::throttled` completes it.
fn too_many(call: &Call) -> Response<Body> {
    let message = "Too many requests, please try again later.";
    error(call, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many requests", message)
}

fn too_many_requests(call: &Call, rate: &RateWindow) -> Response<Body> {
    lambda::throttled(too_many(call), rate.reset_s())
}

fn error(call: &Call, status: StatusCode, code: &'static str, message: &str, long: &str) -> Response<Body> {
    let entry = json!({"code": code, "message": message, "long_message": long, "meta": {}});
    errors(call, status, vec![entry], code)
}

/// Clerk's envelope: `{"errors":[{code, message, long_message, meta}], "clerk_trace_id": …}`.
fn errors(call: &Call, status: StatusCode, entries: Vec<Value>, code: &'static str) -> Response<Body> {
    let body = json!({"errors": entries, "clerk_trace_id": call.request_id});
    lambda::with_code(lambda::json_response(status, &body), code)
}
