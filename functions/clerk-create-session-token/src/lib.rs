//! Clerk's Frontend API `POST /v1/client/sessions/{session_id}/tokens`: a session token (RS256, `kid`,
//! 60 s) for the client's session, with the active organization (or `organization_id`, when sent) in
//! Clerk's v2 claim `o: {id, rol, slg}`, signed by the stack's key ([`clerk_fapi::signer`]) and
//! verifiable with `GET /v1/jwks`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use clerk_fapi::signer;
use clerk_fapi::{errors, param, params, Fapi, Needs, Signed, ADMIN_ROLE};
use orgmint::lambda::{self, Call, ErrorCause};
use orgmint::pipeline::{Authenticated, Operation};
use orgmint::Store;
use serde_json::{json, Value};

pub const ROUTE: &str = "POST /v1/client/sessions/{session_id}/tokens";
/// Session tokens live a minute, as Clerk's do (clerk-js refreshes them before they expire).
pub const TOKEN_TTL_S: i64 = 60;
/// Clerk backdates `nbf` against clock skew.
pub const NBF_SKEW_S: i64 = 10;

/// The endpoint on orgmint's pipeline.
pub type Clerk = Tokens;

pub struct Tokens;

pub struct TokenInput {
    pub session_id: String,
    /// `None`: the session's active organization; `Some("")`: the personal account.
    pub organization_id: Option<String>,
}

/// The claims of a session token for `signed`'s session, with organization `org_id` (if any).
pub fn claims(signed: &Signed, org_id: Option<&str>, now_s: i64, origin: Option<&str>) -> Value {
    let mut claims = json!({
        "iss": signed.instance.attributes.get(clerk_fapi::ATTR_ISSUER),
        "sub": signed.client.user_id,
        "sid": signed.client.session_id,
        "iat": now_s,
        "nbf": now_s - NBF_SKEW_S,
        "exp": now_s + TOKEN_TTL_S,
        "v": 2,
        "fva": [0, -1],
    });
    if let Some(origin) = origin {
        claims["azp"] = json!(origin);
    }
    if let Some(org) = org_id.and_then(|id| signed.org(id)) {
        let role = ADMIN_ROLE.strip_prefix("org:").unwrap_or(ADMIN_ROLE);
        claims["o"] = json!({"id": org.id, "rol": role, "slg": org.slug});
    }
    claims
}

impl Operation for Tokens {
    type Dialect = Fapi;
    const ROUTE: &'static str = ROUTE;
    const FUNCTION: &'static str = env!("CARGO_PKG_NAME");
    const NEEDS: Needs = Needs { session: true, orgs: true, answers_signed_out: false };
    type Input = TokenInput;

    fn parse(req: &Request, call: &Call) -> Result<TokenInput, Response<Body>> {
        let session_id =
            req.path_parameters_ref().and_then(|p| p.first("session_id")).unwrap_or_default().to_owned();
        let params = params(req, call)?;
        Ok(TokenInput { session_id, organization_id: param(&params, "organization_id").map(str::to_owned) })
    }

    async fn act(
        _store: &Store,
        call: &Call,
        found: &Authenticated<Signed>,
        input: TokenInput,
    ) -> Result<Response<Body>, Response<Body>> {
        let signed = &found.caller;
        if input.session_id != signed.client.session_id {
            return Err(errors::not_found(call, "session"));
        }
        let org = match input.organization_id {
            Some(org) if org.is_empty() => None,
            Some(org) if signed.org(&org).is_none() => return Err(errors::not_found(call, "organization")),
            Some(org) => Some(org),
            None => signed.active_org().map(str::to_owned),
        };
        let claims = claims(signed, org.as_deref(), call.now_ms.div_euclid(1_000), None);
        let jwt = match signer::stack().await {
            Ok(signer) => signer.sign(&claims).await,
            Err(err) => Err(err),
        };
        let jwt = jwt.map_err(|err| {
            let mut reply = errors::domain_error(call, orgmint::Error::Unavailable(err.0.clone()));
            reply.extensions_mut().insert(ErrorCause(err.0));
            reply
        })?;
        Ok(lambda::json_response(StatusCode::OK, &json!({"object": "token", "jwt": jwt})))
    }
}
