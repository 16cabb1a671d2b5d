//! Who is calling: FAPI authenticates the *client* (a browser or device) by its client token, and the
//! request then acts as the client's session.
//!
//! The token travels as `Authorization: <token>` (or `Bearer <token>`) with `_is_native=1` in the query
//! (native and headless clients), else in the `__client` cookie (browsers); the header without
//! `_is_native=1` is not read. Its claims name the instance, the client and the user, so that one round
//! trip reads them all; nothing of the token is trusted until its signature verifies with the instance's
//! key and its issuer is the instance's.

use lambda_http::{Body, Request, RequestExt, Response};
use orgmint::lambda::{self, Call, Idempotency};
use orgmint::pipeline::Authenticated;
use orgmint::store::{SignInKeys, SignedIn};
use orgmint::{ClientSession, Org, RateWindow, Store, Tenant, TenantRef, Vendor};

use crate::client_token::Unverified;
use crate::{errors, ATTR_ISSUER, ATTR_ORIGINS, ATTR_PUBLIC_KEY};

/// Clock skew allowed on a client token's `iat` and `exp`, in seconds.
pub const LEEWAY_S: i64 = 5;

/// A verified client and what its request acts on.
#[derive(Clone)]
pub struct Signed {
    pub instance: Tenant,
    /// The session's user's account: the cap's scope.
    pub account: Tenant,
    pub client: ClientSession,
    /// The account's organizations, whose creator the user is (read only when the endpoint asks).
    pub orgs: Vec<Org>,
}

impl Signed {
    pub fn user_id(&self) -> &str {
        &self.client.user_id
    }

    /// The session's active organization while it is one of the user's (after a delete it is not).
    pub fn active_org(&self) -> Option<&str> {
        self.client.active_org.as_deref().filter(|id| self.org(id).is_some())
    }

    /// The user's organization `org_id` (`None`: not a member of it).
    pub fn org(&self, org_id: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == org_id)
    }

    /// The same client once organization `org_id` is gone (deleted): no longer among the user's, nor active.
    pub fn without(&self, org_id: &str) -> Signed {
        let mut after = self.clone();
        if after.client.active_org.as_deref() == Some(org_id) {
            after.client.active_org = None;
        }
        after.orgs.retain(|o| o.id != org_id);
        after
    }
}

/// What an endpoint needs of the client besides its token.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// An active session (every endpoint but the environment's).
    pub session: bool,
    /// The user's organizations (to answer with the client, or to check a membership).
    pub orgs: bool,
    /// Signed out is an answer, `{"response": null, "client": null}`, not the 401 (`GET /v1/client`).
    pub answers_signed_out: bool,
}

/// `<prefix>` followed by 27 base62 characters: the shape of Clerk's ids.
pub fn is_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 27 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The client token: `Authorization` when the query says `_is_native=1`, else the `__client` cookie.
pub fn client_token(req: &Request) -> Option<&str> {
    let native =
        req.query_string_parameters_ref().and_then(|q| q.first("_is_native")).is_some_and(|v| v == "1");
    if native {
        if let Some(value) = lambda::header(req, "authorization") {
            let token = match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => value,
            };
            return (!token.is_empty()).then_some(token);
        }
    }
    cookie(req, "__client")
}

/// A cookie's value; `None` when absent or empty.
pub fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The browser origin, when the request carries one.
pub fn origin(req: &Request) -> Option<&str> {
    lambda::header(req, "origin")
}

/// Whether `instance` allows browsers of `origin` (its `origins` attribute, space-separated).
pub fn allows_origin(instance: &Tenant, origin: &str) -> bool {
    instance
        .attributes
        .get(ATTR_ORIGINS)
        .is_some_and(|origins| origins.split_ascii_whitespace().any(|o| o == origin))
}

/// The client behind the request's token, in one round trip (two requests at once when `needs.orgs`).
/// Every failure of the token or the session is the same 401; a browser origin the instance does not
/// allow is 400 `origin_invalid`; DynamoDB's failure is the 503.
pub async fn authenticate(
    store: &Store,
    req: &Request,
    call: &Call,
    needs: Needs,
    idempotent: bool,
) -> Result<Authenticated<Signed>, Response<Body>> {
    let unauthorized = || errors::unauthorized(call);
    let token = client_token(req).ok_or_else(unauthorized)?;
    // Unverified: only to know which keys to read.
    let token = Unverified::parse(token).ok_or_else(unauthorized)?;
    let claimed = token.claims();
    let instance_id = claimed.iss.rsplit('/').next().unwrap_or_default();
    if !is_id(instance_id, "ins_") || !is_id(&claimed.sub, "user_") || !is_id(&claimed.id, "client_") {
        return Err(unauthorized());
    }
    let instance_ref = TenantRef::new(Vendor::Clerk, instance_id);
    let account_ref = TenantRef::new(Vendor::Clerk, format!("{instance_id}/{}", claimed.sub));
    let rate_key = format!("{}#{}", Vendor::Clerk, account_ref.id);
    let now_s = call.now_ms.div_euclid(1_000);
    // A key is bound to the account, which every client of the user names.
    let idempotency_key = match idempotent {
        true => lambda::idempotency_key(req, Vendor::Clerk, &[instance_id, &claimed.sub]),
        false => Ok(None),
    };
    let keys = SignInKeys {
        instance: &instance_ref,
        account: &account_ref,
        client_id: &claimed.id,
        rate_key: Some(&rate_key),
        idempotency: idempotency_key.as_ref().ok().and_then(Option::as_ref),
        with_orgs: needs.orgs,
    };
    let SignedIn { instance, client, account, orgs, rate_used, prior } =
        store.signed_in(&keys, now_s).await.map_err(|err| errors::domain_error(call, err))?;
    let instance = instance.ok_or_else(unauthorized)?;
    let (Some(issuer), Some(public_pem)) =
        (instance.attributes.get(ATTR_ISSUER), instance.attributes.get(ATTR_PUBLIC_KEY))
    else {
        return Err(unauthorized());
    };
    let claims = token.verify(public_pem, issuer, now_s, LEEWAY_S).ok_or_else(unauthorized)?;
    if origin(req).is_some_and(|origin| !allows_origin(&instance, origin)) {
        return Err(errors::origin_invalid(call));
    }
    // The client is the token's, signed in to this instance, as this user.
    let client = client
        .filter(|c| c.instance == instance.tenant.id && c.user_id == claims.sub)
        .ok_or_else(unauthorized)?;
    if needs.session {
        // `_clerk_session_id`, when sent, must select the client's session, which must be signed in.
        // Session ids are public (they travel in URLs): a plain comparison.
        let selected = req.query_string_parameters_ref().and_then(|q| q.first("_clerk_session_id"));
        if selected.is_some_and(|sid| sid != client.session_id) || !client.is_active_at(call.now_ms) {
            return Err(unauthorized());
        }
    }
    let account = account.ok_or_else(unauthorized)?;
    let idempotency =
        Idempotency { key: idempotency_key.map_err(|err| errors::domain_error(call, err))?, prior };
    // The window is the account's, whichever client the user signs in with.
    let rate = RateWindow::new(rate_key, account.rate_limit, rate_used, now_s);
    Ok(Authenticated { caller: Signed { instance, account, client, orgs }, rate, idempotency })
}
