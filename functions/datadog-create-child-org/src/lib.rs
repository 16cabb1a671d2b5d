//! Datadog's `POST /api/v1/org`: create a child organization. Datadog's v1 dialect (`DD-API-KEY` and
//! `DD-APPLICATION-KEY`, `{"errors": […]}`, `X-RateLimit-*`) over orgmint's capped create. The child is a
//! tenant of its own: its keys work at once and it creates children under its own cap.

mod validate;

use std::future::Future;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::lambda::{self, with_code, BodyProblem, Call, ErrorCode, RateLimitHeaders};
use orgmint::pipeline::{self, Authenticated, Endpoint, Minted, Mints};
use orgmint::{
    ids, secrets, Credential, Error, Member, NewCredential, NewOrg, Org, RateWindow, Store, TenantRef, Vendor,
};
use serde_json::json;

pub use validate::{validate, OrganizationCreateBody};

pub const ROUTE: &str = "POST /api/v1/org";
pub const API_KEY: &str = "api_key";
/// The deprecated query-string forms of the two keys (Datadog's v1 spec still lists them).
pub const API_KEY_PARAM: &str = "api_key";
pub const APPLICATION_KEY_PARAM: &str = "application_key";
pub const APPLICATION_KEY: &str = "app_key";
/// The headers that carry the two keys (matched case-insensitively).
pub const API_KEY_HEADER: &str = "DD-API-KEY";
pub const APPLICATION_KEY_HEADER: &str = "DD-APPLICATION-KEY";
/// The permission an application key's owner needs to manage organizations.
pub const ORG_MANAGEMENT: &str = "org_management";
/// The parent organization's multi-organization feature.
pub const MULTI_ORG: &str = "multi_org";
/// The admin access role.
pub const ADMIN_ROLE: &str = "adm";

/// The handler as the Lambda runtime and the tests call it.
pub async fn handler(store: &'static Store, req: Request) -> Response<Body> {
    pipeline::handler::<Datadog>(store, req).await
}

/// Datadog's endpoint: its dialect over the one create pipeline (`orgmint::pipeline`).
pub struct Datadog;

impl Endpoint for Datadog {
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const VENDOR: Vendor = Vendor::Datadog;
    const RATE_LIMIT_HEADERS: Option<&'static RateLimitHeaders> = Some(&RATE_LIMIT_HEADERS);
    type Ctx = Call;
    /// The application key's credential: its owner is the caller.
    type Caller = Credential;
    type Input = OrganizationCreateBody;

    fn tenant(owner: &Credential) -> Option<&str> {
        Some(&owner.tenant.id)
    }

    fn context(_req: &Request, call: &Call) -> Call {
        call.clone()
    }

    fn headers_too_large(_call: &Call, message: &str) -> Response<Body> {
        errors(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message)
    }

    /// Both keys in one round trip, checked in Datadog's order: API key present, API key known,
    /// application key present, application key known and of the same organization. The application
    /// key's credential is the caller; the rate window is the API key's. The request's `Idempotency-Key`
    /// record comes in the same round trip; the key is bound to both keys presented.
    async fn authenticate(
        store: &Store,
        req: &Request,
        call: &Call,
    ) -> Result<Authenticated<Credential>, Response<Body>> {
        // The spec's deprecated query-string keys are read too; headers win.
        let query = req.query_string_parameters_ref();
        let from_query =
            |name: &str| query.and_then(|q| q.first(name)).map(str::trim).filter(|v| !v.is_empty());
        let api_key = lambda::header(req, API_KEY_HEADER)
            .or_else(|| from_query(API_KEY_PARAM))
            .ok_or_else(|| errors(StatusCode::FORBIDDEN, "API key required"))?;
        let app_key =
            lambda::header(req, APPLICATION_KEY_HEADER).or_else(|| from_query(APPLICATION_KEY_PARAM));
        let secrets: Vec<&str> = [Some(api_key), app_key].into_iter().flatten().collect();
        let (mut found, idempotency) = lambda::authenticate(store, req, Vendor::Datadog, &secrets)
            .await
            .map_err(|e| Self::refused(call, e))?;
        let forbidden = || errors(StatusCode::FORBIDDEN, "Forbidden");
        let api = found.credentials.remove(0).ok().filter(|c| c.kind == API_KEY).ok_or_else(forbidden)?;
        if app_key.is_none() {
            return Err(errors(StatusCode::FORBIDDEN, "Application key required"));
        }
        let caller = found
            .credentials
            .remove(0)
            .ok()
            .filter(|c| c.kind == APPLICATION_KEY && c.tenant == api.tenant)
            .ok_or_else(forbidden)?;
        Ok(Authenticated {
            caller,
            rate: found.rate,
            idempotency: idempotency.map_err(|e| Self::refused(call, e))?,
        })
    }

    fn authorize(_req: &Request, _call: &Call, owner: &Credential) -> Result<(), Response<Body>> {
        if !owner.has_permission(ORG_MANAGEMENT) || !owner.has_feature(MULTI_ORG) {
            return Err(errors(StatusCode::FORBIDDEN, "Forbidden"));
        }
        Ok(())
    }

    fn parse(req: &Request, _call: &Call) -> Result<OrganizationCreateBody, Response<Body>> {
        let (bytes, _) = lambda::body(req, false).map_err(|problem| match problem {
            BodyProblem::TooLarge => errors(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body too large: at most {} bytes", lambda::MAX_BODY_BYTES),
            ),
            BodyProblem::UnsupportedType(kind) => errors(
                StatusCode::BAD_REQUEST,
                &format!("Unsupported Content-Type '{kind}': send application/json"),
            ),
        })?;
        validate(bytes)
            .map_err(|problems| with_code(all_errors(StatusCode::BAD_REQUEST, &problems), "invalid"))
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

impl Mints for Datadog {
    fn mint(
        call: &Call,
        owner: &Credential,
        input: &OrganizationCreateBody,
        rate: &RateWindow,
        _attempt: u32,
    ) -> Minted {
        let public_id = ids::random_hex(12);
        let api_key = ids::random_hex(32);
        let app_key = ids::random_hex(40);
        let handle = owner.principal.clone();
        let org = json!({
            "billing": {"type": input.billing_type},
            "created": orgmint::clock::rfc3339(call.now_ms),
            "description": "",
            "name": input.name,
            "public_id": public_id,
            "settings": {
                "private_widget_share": false,
                "saml": {"enabled": false},
                "saml_autocreate_access_role": "st",
                "saml_autocreate_users_domains": {"domains": [], "enabled": false},
                "saml_can_be_enabled": false,
                "saml_idp_endpoint": "",
                "saml_idp_initiated_login": {"enabled": false},
                "saml_idp_metadata_uploaded": false,
                "saml_login_url": "",
                "saml_strict_mode": {"enabled": false},
            },
            "subscription": {"type": input.subscription_type},
            "trial": input.subscription_type == "trial",
        });
        let created = json!({
            "api_key": {
                "created": orgmint::clock::sql_datetime(call.now_ms),
                "created_by": handle,
                "key": api_key,
                "name": "Default",
            },
            "application_key": {"hash": app_key, "name": "Default", "owner": handle},
            "org": org,
            "user": {
                "access_role": ADMIN_ROLE,
                "disabled": false,
                "email": handle,
                "handle": handle,
                "icon": "",
                "name": handle,
                "verified": true,
            },
        });

        // The creator administers the child with the same rights; it inherits the parent's cap and rate
        // limit, and the multi-organization feature only when the parent's tenant nests (Datadog enables it
        // per account): without it a child creates nothing, and the parent's cap bounds everything.
        let child = TenantRef::new(Vendor::Datadog, &public_id);
        let mut child_tenant = owner.child_tenant(child.clone(), &input.name, call.now_ms);
        if !owner.nests() {
            child_tenant.features.retain(|f| f != MULTI_ORG);
        }
        let key = |kind: &str, permissions: Vec<String>| Credential {
            tenant: child.clone(),
            kind: kind.to_owned(),
            principal: handle.clone(),
            role: ADMIN_ROLE.to_owned(),
            permissions,
            plan: None,
            features: child_tenant.features.clone(),
            expires_s: None,
            rate_limit: child_tenant.rate_limit,
            cap: child_tenant.cap,
            public_id: None,
            created_ms: call.now_ms,
        };
        let new = NewOrg {
            tenant: owner.tenant.clone(),
            slug_scope: None,
            org: Org {
                id: public_id.clone(),
                name: input.name.clone(),
                slug: None,
                created_ms: call.now_ms,
                doc: created["org"].to_string(),
            },
            members: vec![Member { principal: handle.clone(), role: ADMIN_ROLE.to_owned() }],
            credentials: vec![
                NewCredential { digest: secrets::digest(&api_key), credential: key(API_KEY, Vec::new()) },
                NewCredential {
                    digest: secrets::digest(&app_key),
                    credential: key(APPLICATION_KEY, vec![ORG_MANAGEMENT.to_owned()]),
                },
            ],
            child_tenant: Some(child_tenant.clone()),
            rate: Some(rate.clone()),
            idempotency: None,
        };
        Minted { new, status: StatusCode::OK, answer: created }
    }
}

/// Domain errors in Datadog's words.
fn domain_error(err: Error) -> Response<Body> {
    let code = err.code();
    let reply = match err {
        Error::CapReached { cap } => {
            errors(StatusCode::FORBIDDEN, &format!("Maximum number of child organizations ({cap}) reached"))
        }
        Error::Unauthenticated(_) | Error::Forbidden(_) => errors(StatusCode::FORBIDDEN, "Forbidden"),
        Error::Throttled { .. } => errors(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
        Error::SlugTaken { .. } | Error::Invalid(_) => errors(StatusCode::BAD_REQUEST, "Bad Request"),
        Error::Unavailable(_) | Error::IdCollision | Error::Corrupt(_) => {
            errors(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable, please retry")
        }
        Error::Idempotency(problem) => errors(lambda::idempotency_status(problem), problem.message()),
    };
    with_code(reply, code)
}

fn too_many_requests(rate: &RateWindow) -> Response<Body> {
    lambda::throttled(
        with_code(errors(StatusCode::TOO_MANY_REQUESTS, "Too many requests"), "throttled"),
        rate.reset_s(),
    )
}

/// Datadog's `X-RateLimit-*`: the period is the store's 60-second window.
const RATE_LIMIT_HEADERS: RateLimitHeaders = RateLimitHeaders {
    limit: "x-ratelimit-limit",
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
    fixed: &[("x-ratelimit-period", "60"), ("x-ratelimit-name", "create_child_org")],
    block_s: 0,
};

fn errors(status: StatusCode, message: &str) -> Response<Body> {
    all_errors(status, &[message.to_owned()])
}

/// Datadog's error envelope: `{"errors": ["…", …]}`.
fn all_errors(status: StatusCode, messages: &[String]) -> Response<Body> {
    with_code(lambda::json_response(status, &json!({ "errors": messages })), ErrorCode::of_status(status))
}
