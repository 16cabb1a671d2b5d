//! Clerk's function through its real handler, with API Gateway v2 events, over DynamoDB Local.

use clerk_create_organization::handler;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orgmint::{Store, TenantRef, Vendor};
use orgmint_cli::vendors::{self, clerk};
use orgmint_tests::{assert_sound, body_json, event, hs256_token, request, store, tenant, Options};
use serde_json::{json, Value};

/// An instance and one signed-in user of it: the user's client token and session.
#[derive(Clone)]
struct User {
    instance: String,
    user_id: String,
    session_id: String,
    token: String,
}

impl User {
    fn scope(&self) -> TenantRef {
        TenantRef::new(Vendor::Clerk, clerk::account_scope(&self.instance, &self.user_id))
    }
}

fn clerk_options(cap: u32) -> Options {
    Options { cap, ..Options::new(Vendor::Clerk) }
}

async fn instance(store: &Store, options: Options) -> User {
    let p = tenant(store, &options).await;
    User {
        instance: p.public_id.clone(),
        user_id: p.extra["user_id"].as_str().unwrap().to_owned(),
        session_id: p.extra["session_id"].as_str().unwrap().to_owned(),
        token: p.headers["Authorization"].as_str().unwrap().to_owned(),
    }
}

/// Another user of the same instance, as `orgmint clerk session` makes one.
async fn second_user(store: &Store, of: &User) -> User {
    let out = clerk::session(store, &of.instance, None, 3600).await.unwrap();
    User {
        instance: of.instance.clone(),
        user_id: out["user_id"].as_str().unwrap().to_owned(),
        session_id: out["session_id"].as_str().unwrap().to_owned(),
        token: out["client_token"].as_str().unwrap().to_owned(),
    }
}

/// A request as API Gateway hands it over (form bodies base64-encoded), as native clerk-js sends it: the
/// client token in `Authorization`, `_is_native=1`.
struct Req<'a> {
    headers: Vec<(&'a str, String)>,
    body: String,
    form: bool,
    query: &'a str,
}

impl<'a> Req<'a> {
    fn form(token: &str, body: &str) -> Self {
        Req {
            headers: vec![
                ("authorization", token.to_owned()),
                ("content-type", "application/x-www-form-urlencoded".into()),
            ],
            body: body.into(),
            form: true,
            query: NATIVE,
        }
    }

    fn json(token: &str, body: &str) -> Self {
        Req {
            headers: vec![("authorization", token.to_owned()), ("content-type", "application/json".into())],
            body: body.into(),
            form: false,
            query: NATIVE,
        }
    }

    fn event(&self) -> Value {
        let mut ev = event("clerk-create-success");
        let headers = ev["headers"].as_object_mut().unwrap();
        headers.remove("authorization");
        headers.remove("content-type");
        for (name, value) in &self.headers {
            headers.insert((*name).to_owned(), Value::from(value.as_str()));
        }
        if self.form {
            ev["body"] = Value::from(base64(self.body.as_bytes()));
            ev["isBase64Encoded"] = Value::Bool(true);
        } else {
            ev["body"] = Value::from(self.body.as_str());
            ev["isBase64Encoded"] = Value::Bool(false);
        }
        ev["rawQueryString"] = Value::from(self.query);
        let params: serde_json::Map<String, Value> = self
            .query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        ev["queryStringParameters"] = Value::Object(params);
        ev
    }

    /// The answer, and of a create's 200 the organization (`response`; the client is checked to list it).
    async fn send(&self, store: &'static Store) -> (StatusCode, Value) {
        let (status, body) = self.send_whole(store).await;
        if status != StatusCode::OK {
            return (status, body);
        }
        let org = body["response"].clone();
        let memberships = &body["client"]["sessions"][0]["user"]["organization_memberships"];
        assert!(
            memberships.as_array().unwrap().iter().any(|m| m["organization"]["id"] == org["id"]),
            "the client lists the new membership: {body}"
        );
        (status, org)
    }

    async fn send_whole(&self, store: &'static Store) -> (StatusCode, Value) {
        let response = handler(store, request(&self.event())).await;
        check_envelope(&response)
    }
}

/// Every answer has `x-request-id`; every error is Clerk's envelope with it as `clerk_trace_id`.
fn check_envelope(response: &Response<Body>) -> (StatusCode, Value) {
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = body_json(response);
    if response.status() != StatusCode::OK {
        assert_eq!(body["clerk_trace_id"], json!(id), "{body}");
        for entry in body["errors"].as_array().unwrap_or_else(|| panic!("no errors[]: {body}")) {
            for field in ["code", "message", "long_message"] {
                assert!(entry[field].is_string(), "{field} in {entry}");
            }
            assert!(entry["meta"].is_object(), "meta in {entry}");
        }
    }
    (response.status(), body)
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The query native clerk-js sends on every request.
const NATIVE: &str = "_is_native=1&__clerk_api_version=2025-11-10&_clerk_js_version=6.40.0";

async fn create(store: &'static Store, user: &User, name: &str) -> (StatusCode, Value) {
    Req::form(&user.token, &format!("name={}", name.replace(' ', "+"))).send(store).await
}

fn unauthorized() -> Value {
    json!([{
        "code": "authentication_invalid",
        "long_message": "Unable to authenticate the request, you need to supply an active session",
        "message": "Invalid authentication",
        "meta": {},
    }])
}

fn is_id(v: &Value, prefix: &str) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix(prefix))
        .is_some_and(|rest| rest.len() == 27 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn the_success_event_creates_an_organization_with_the_creator_as_admin() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let mut ev = event("clerk-create-success");
    ev["headers"]["authorization"] = Value::from(user.token.as_str());
    orgmint_cli::events::aim(&mut ev, &format!("/v1/organizations?{NATIVE}"));
    let response = handler(store, request(&ev)).await;
    let (status, body) = check_envelope(&response);
    assert_eq!(status, StatusCode::OK, "{body}");
    // FAPI's envelope: the organization, and the client that clerk-js refreshes its state from.
    let (org, client) = (&body["response"], &body["client"]);
    assert_eq!(org["object"], "organization");
    assert_eq!(client["object"], "client");
    let session = &client["sessions"][0];
    assert_eq!(
        (session["id"].as_str(), session["status"].as_str()),
        (Some(user.session_id.as_str()), Some("active"))
    );
    let membership = &session["user"]["organization_memberships"][0];
    assert_eq!(membership["organization"], *org);
    assert_eq!(
        (membership["role"].as_str(), membership["object"].as_str()),
        (Some("org:admin"), Some("organization_membership"))
    );
    assert_eq!(session["user"]["id"], user.user_id.as_str());
    assert!(is_id(&org["id"], "org_"), "{org}");
    assert_eq!(org["name"], "Acme Inc");
    assert_eq!(org["slug"], "acme-inc");
    assert_eq!(org["has_image"], false);
    assert_eq!(org["members_count"], 1);
    assert_eq!(org["max_allowed_memberships"], 5);
    assert_eq!(org["admin_delete_enabled"], true);
    assert_eq!(org["public_metadata"], json!({}));
    let created = org["created_at"].as_i64().unwrap();
    assert!(created > 1_600_000_000_000, "milliseconds: {created}");
    assert_eq!(org["updated_at"], org["created_at"]);
    let members = store.members(Vendor::Clerk, org["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].principal.as_str(), members[0].role.as_str()),
        (user.user_id.as_str(), "org:admin")
    );
    let account = store.tenant(&user.scope()).await.unwrap().unwrap();
    assert_eq!((account.cap, account.org_count), (100, 1));
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 1);
    assert_sound(store).await;
}

#[tokio::test]
async fn json_bodies_and_explicit_slugs() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let (status, org) =
        Req::json(&user.token, r#"{"name":"JSON Org","slug":"json-org-1","ignored":true}"#).send(store).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!((org["name"].as_str(), org["slug"].as_str()), (Some("JSON Org"), Some("json-org-1")));
    // charset parameters, and a body without a content type, are JSON.
    let mut req = Req::json(&user.token, r#"{"name":"Charset"}"#);
    req.headers[1].1 = "application/json; charset=utf-8".into();
    assert_eq!(req.send(store).await.0, StatusCode::OK);
    let mut req = Req::json(&user.token, r#"{"name":"No type"}"#);
    req.headers.truncate(1);
    assert_eq!(req.send(store).await.0, StatusCode::OK);
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 3);
    assert_sound(store).await;
}

#[tokio::test]
async fn the_client_cookie_authenticates_and_the_native_header_wins() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let cookie = |token: &str| ("cookie", format!("__client_uat=1700000000; __client={token}; theme=dark"));
    let form = ("content-type", "application/x-www-form-urlencoded".to_owned());
    let req = |headers, query| Req { headers, body: "name=Cookie".into(), form: true, query };
    // A browser: the `__client` cookie, no `_is_native`.
    let (status, body) = req(vec![cookie(&user.token), form.clone()], "").send(store).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Native: the header (raw or `Bearer`) with a garbage cookie: the header is read.
    for header in [user.token.clone(), format!("Bearer {}", user.token)] {
        let (status, _) =
            req(vec![("authorization", header), cookie("garbage"), form.clone()], NATIVE).send(store).await;
        assert_eq!(status, StatusCode::OK);
    }
    // A garbage native header with a valid cookie: still the header.
    let (status, body) =
        req(vec![("authorization", "garbage".into()), cookie(&user.token), form.clone()], NATIVE)
            .send(store)
            .await;
    assert_eq!((status, &body["errors"]), (StatusCode::UNAUTHORIZED, &unauthorized()));
    // The header without `_is_native=1` is not read.
    let (status, _) = req(vec![("authorization", user.token.clone()), form.clone()], "").send(store).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A session JWT (what the app's backend verifies) is no FAPI credential.
    let (status, _) =
        req(vec![cookie("garbage"), ("cookie", format!("__session={}", user.token))], "").send(store).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 3);
}

#[tokio::test]
async fn the_clerk_session_id_parameter_must_name_the_clients_session() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let other = second_user(store, &user).await;
    let query = format!("{NATIVE}&_clerk_session_id={}", user.session_id);
    let mut req = Req::form(&user.token, "name=Same+Session");
    req.query = &query;
    assert_eq!(req.send(store).await.0, StatusCode::OK);
    // Another session, an unknown one, another user's (active) session.
    for sid in [format!("sess_{}", "A".repeat(27)), other.session_id.clone()] {
        let query = format!("{NATIVE}&_clerk_session_id={sid}");
        let mut req = Req::form(&user.token, "name=Same+Session");
        req.query = &query;
        let (status, body) = req.send(store).await;
        assert_eq!((status, &body["errors"]), (StatusCode::UNAUTHORIZED, &unauthorized()));
    }
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 1);
}

#[tokio::test]
async fn every_bad_session_is_the_seeds_401_and_writes_nothing() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let other = instance(store, clerk_options(100)).await;
    let instance_ref = TenantRef::new(Vendor::Clerk, &user.instance);
    let signing_key = store.tenant_secret(&instance_ref, clerk::SIGNING_KEY).await.unwrap().unwrap();
    let (forger_key, _) = clerk::generate_key().unwrap();
    let now_s = orgmint::clock::now_ms() / 1000;
    let claims = |ttl: i64| clerk::ClientClaims {
        iss: clerk::issuer(&user.instance),
        id: orgmint_cli::jwt::claims(&user.token).unwrap()["id"].as_str().unwrap().to_owned(),
        sub: user.user_id.clone(),
        rotating_token: "r".into(),
        iat: now_s,
        exp: now_s + ttl,
    };
    let sign = |key: &str, claims: &clerk::ClientClaims| clerk::sign(key, &user.instance, claims).unwrap();
    let with = |f: &dyn Fn(&mut clerk::ClientClaims)| {
        let mut c = claims(3600);
        f(&mut c);
        sign(&signing_key, &c)
    };
    let expired = clerk::session(store, &user.instance, Some(&user.user_id), -60).await.unwrap();
    let other_client = clerk::session(store, &other.instance, None, 3600).await.unwrap();
    let other_client_id =
        orgmint_cli::jwt::claims(other_client["client_token"].as_str().unwrap()).unwrap()["id"].clone();
    let mut tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("three dots", "a.b.c".into()),
        ("forged: another key", sign(&forger_key, &claims(3600))),
        ("expired session (--ttl -60)", expired["client_token"].as_str().unwrap().to_owned()),
        ("expired 10 s ago", sign(&signing_key, &claims(-10))),
        ("unknown user", with(&|c| c.sub = clerk::new_user_id())),
        ("another instance's user", with(&|c| c.sub = other.user_id.clone())),
        ("unknown client", with(&|c| c.id = format!("client_{}", "B".repeat(27)))),
        ("another instance's client", with(&|c| c.id = other_client_id.as_str().unwrap().to_owned())),
        ("wrong issuer", with(&|c| c.iss = format!("https://evil.example/{}", user.instance))),
        ("another instance as issuer", with(&|c| c.iss = clerk::issuer(&other.instance))),
        ("issued in the future", with(&|c| c.iat = now_s + 60)),
        ("bad client id", with(&|c| c.id = "client_x".into())),
        ("huge issuer", with(&|c| c.iss = format!("https://x/{}", "a".repeat(5000)))),
    ];
    // HS256 with the public key as the secret: algorithm confusion.
    let public = store.tenant(&instance_ref).await.unwrap().unwrap().attributes["public_key"].clone();
    let hs = hs256_token(public.as_bytes(), &claims(3600));
    tokens.push(("HS256 with the public key", hs));
    // The signature of a valid token on other claims.
    let valid_sig = user.token.rsplit('.').next().unwrap().to_owned();
    let tampered = with(&|c| c.exp += 1);
    let (head, _) = tampered.rsplit_once('.').unwrap();
    tokens.push(("tampered claims", format!("{head}.{valid_sig}")));
    for (what, token) in &tokens {
        let (status, body) = Req::form(token, "name=Nope").send(store).await;
        assert_eq!((status, &body["errors"]), (StatusCode::UNAUTHORIZED, &unauthorized()), "{what}");
    }
    // Just within the leeway is fine.
    let (status, body) = Req::form(&with(&|c| c.iat = now_s + 3), "name=Leeway").send(store).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No credential at all: the no-auth event, another scheme.
    let response = handler(store, request(&event("clerk-no-auth"))).await;
    assert_eq!(
        (response.status(), &check_envelope(&response).1["errors"]),
        (StatusCode::UNAUTHORIZED, &unauthorized())
    );
    let mut basic = Req::form(&user.token, "name=Basic");
    basic.headers[0].1 = format!("Basic {}", user.token);
    assert_eq!(basic.send(store).await.0, StatusCode::UNAUTHORIZED);
    // A session ended in the table (signed out elsewhere) no longer acts, whatever its token says.
    let mut ended = orgmint::ClientSession {
        client_id: format!("client_{}", orgmint::ids::random_from(orgmint::ids::BASE62, 27)),
        session_id: format!("sess_{}", orgmint::ids::random_from(orgmint::ids::BASE62, 27)),
        ..clerk::sign_in(&user.instance, &signing_key, &user.user_id, orgmint::clock::now_ms(), 600)
            .unwrap()
            .0
    };
    ended.status = "ended".into();
    store.create_client_session(&ended).await.unwrap();
    let token = with(&|c| c.id = ended.client_id.clone());
    assert_eq!(Req::form(&token, "name=Ended").send(store).await.0, StatusCode::UNAUTHORIZED);
    // The sample event's placeholder token is no token.
    assert_eq!(
        handler(store, request(&event("clerk-create-success"))).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 1);
    assert_sound(store).await;
}

#[tokio::test]
async fn an_instance_without_organizations_is_forbidden() {
    let store = store().await;
    let user = instance(store, Options { restricted: true, ..clerk_options(100) }).await;
    let (status, body) = create(store, &user, "Nope").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"],
        json!([{
            "code": "organizations_not_enabled_in_instance",
            "long_message": "The organizations feature is not enabled for your instance. If you want to try it out, contact us at support@clerk.dev.",
            "message": "access denied",
            "meta": {},
        }])
    );
    // Before the body is looked at.
    let (status, _) = Req::json(&user.token, "{oops").send(store).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 0);
}

#[tokio::test]
async fn bad_bodies_are_clerks_400_413_and_422_and_write_nothing() {
    let store = store().await;
    let user = instance(store, clerk_options(100)).await;
    let nil_name = json!([{"code": "form_param_nil", "long_message": "Enter name.", "message": "Enter name.", "meta": {"param_name": "name"}}]);
    // A tab alone is blank too.
    for body in ["", "slug=acme", "name=", "name=+++", "name=%09"] {
        let (status, reply) = Req::form(&user.token, body).send(store).await;
        assert_eq!((status, &reply["errors"]), (StatusCode::UNPROCESSABLE_ENTITY, &nil_name), "{body}");
    }
    let codes = [
        (false, r#"{}"#, "form_param_nil", "name"),
        (false, r#"{"name":null}"#, "form_param_nil", "name"),
        (false, r#"{"name":"  "}"#, "form_param_nil", "name"),
        (false, r#"{"name":12}"#, "form_param_format_invalid", "name"),
        (false, r#"{"name":["a"]}"#, "form_param_format_invalid", "name"),
        (false, "{\"name\":\"a\\u0000b\"}", "form_param_value_invalid", "name"),
        (true, "name=a%0Ab", "form_param_value_invalid", "name"),
        (true, "name=Visit+https%3A%2F%2Fevil.example", "form_param_value_invalid", "name"),
        (true, "name=http://x", "form_param_value_invalid", "name"),
        (true, "name=www.acme.com", "form_param_value_invalid", "name"),
        (true, "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "form_param_value_invalid", "name"),
        (true, "name=%3C!--x", "form_param_value_invalid", "name"),
        (true, "name=Acme&slug=Acme", "form_param_format_invalid", "slug"),
        (true, "name=Acme&slug=ac_me", "form_param_format_invalid", "slug"),
        (true, "name=Acme&slug=ac%20me", "form_param_format_invalid", "slug"),
        (false, r#"{"name":"Acme","slug":5}"#, "form_param_format_invalid", "slug"),
    ];
    for (form, body, code, param) in codes {
        let req = if form { Req::form(&user.token, body) } else { Req::json(&user.token, body) };
        let (status, reply) = req.send(store).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {reply}");
        assert_eq!(
            (reply["errors"][0]["code"].as_str(), reply["errors"][0]["meta"]["param_name"].as_str()),
            (Some(code), Some(param)),
            "{body}: {reply}"
        );
    }
    // Both problems at once.
    let (_, reply) = Req::json(&user.token, r#"{"slug":"Bad Slug"}"#).send(store).await;
    assert_eq!(reply["errors"].as_array().unwrap().len(), 2, "{reply}");
    // Unparseable JSON, non-objects, other content types: 400 request_body_invalid.
    for body in ["{", "[]", "\"x\"", "name=x", "null", "{\"name\":\"x\"} trailing"] {
        let (status, reply) = Req::json(&user.token, body).send(store).await;
        assert_eq!(
            (status, reply["errors"][0]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request_body_invalid")),
            "{body}"
        );
    }
    for content_type in ["text/plain", "multipart/form-data; boundary=x", "application/xml"] {
        let mut req = Req::json(&user.token, r#"{"name":"x"}"#);
        req.headers[1].1 = content_type.into();
        let (status, reply) = req.send(store).await;
        assert_eq!(
            (status, reply["errors"][0]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request_body_invalid")),
            "{content_type}"
        );
    }
    // Not UTF-8 in a form is read lossily (U+FFFD), not a 5xx: it creates the one org of this test.
    let (status, org) = Req::form(&user.token, "name=%FF%FE").send(store).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert!(org["slug"].as_str().unwrap().starts_with("org-"));
    let (status, reply) = Req::form(&user.token, &format!("name={}", "x".repeat(70_000))).send(store).await;
    assert_eq!(
        (status, reply["errors"][0]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("request_body_too_large"))
    );
    // Long names and slugs are refused, with their own code, before they make keys too long.
    for body in [format!("name={}", "x".repeat(1000)), format!("name=x&slug={}", "x".repeat(2000))] {
        let (status, reply) = Req::form(&user.token, &body).send(store).await;
        assert_eq!(
            (status, reply["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("form_param_max_length_exceeded"))
        );
    }
    // The missing-name event.
    let mut ev = event("clerk-missing-name");
    ev["headers"]["authorization"] = Value::from(user.token.as_str());
    orgmint_cli::events::aim(&mut ev, &format!("/v1/organizations?{NATIVE}"));
    let response = handler(store, request(&ev)).await;
    assert_eq!(
        (response.status(), &check_envelope(&response).1["errors"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &nil_name)
    );
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 1);
    assert_sound(store).await;
}

#[tokio::test]
async fn slugs_are_unique_per_instance() {
    let store = store().await;
    let alice = instance(store, clerk_options(100)).await;
    let bob = second_user(store, &alice).await;
    let (status, _) = Req::form(&alice.token, "name=Acme&slug=acme").send(store).await;
    assert_eq!(status, StatusCode::OK);
    let taken = json!([{
        "code": "form_identifier_exists",
        "long_message": "That slug is taken. Please try another.",
        "message": "That slug is taken. Please try another.",
        "meta": {"param_name": "slug"},
    }]);
    for user in [&alice, &bob] {
        let (status, body) = Req::json(&user.token, r#"{"name":"Other","slug":"acme"}"#).send(store).await;
        assert_eq!((status, &body["errors"]), (StatusCode::UNPROCESSABLE_ENTITY, &taken));
    }
    assert_eq!(store.count_orgs(&bob.scope()).await.unwrap(), 0);
    // A derived slug that is taken gets "-" and six base36 characters.
    let (status, org) = create(store, &bob, "Acme").await;
    assert_eq!(status, StatusCode::OK);
    let slug = org["slug"].as_str().unwrap();
    let suffix = slug.strip_prefix("acme-").unwrap_or_else(|| panic!("{slug}"));
    assert!(
        suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{slug}"
    );
    // Another instance has slugs of its own; a name with nothing to slugify still gets one.
    let carol = instance(store, clerk_options(100)).await;
    assert_eq!(Req::form(&carol.token, "name=x&slug=acme").send(store).await.0, StatusCode::OK);
    let (status, org) = create(store, &carol, "日本").await;
    assert_eq!(status, StatusCode::OK);
    assert!(org["slug"].as_str().unwrap().starts_with("org-"), "{org}");
    let inventory = store.inventory().await.unwrap();
    assert_eq!(inventory.slugs.len(), 4);
    assert_sound(store).await;
}

#[tokio::test]
async fn each_user_account_has_its_own_cap() {
    let store = store().await;
    let alice = instance(store, clerk_options(3)).await;
    let bob = second_user(store, &alice).await;
    for i in 0..3 {
        assert_eq!(create(store, &alice, &format!("Alice {i}")).await.0, StatusCode::OK);
    }
    let (status, body) = create(store, &alice, "Alice 3").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["errors"],
        json!([{
            "code": "organization_quota_exceeded",
            "long_message": "You cannot create more than 3 organizations per account.",
            "message": "organization quota exceeded",
            "meta": {},
        }])
    );
    // The cap wins over a taken slug.
    let (status, body) = Req::form(&alice.token, "name=x&slug=alice-0").send(store).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("organization_quota_exceeded"))
    );
    for i in 0..3 {
        assert_eq!(create(store, &bob, &format!("Bob {i}")).await.0, StatusCode::OK);
    }
    assert_eq!(create(store, &bob, "Bob 3").await.0, StatusCode::FORBIDDEN);
    assert_eq!(store.count_orgs(&alice.scope()).await.unwrap(), 3);
    assert_eq!(store.count_orgs(&bob.scope()).await.unwrap(), 3);
    // `tenant show` reads the first user's account by default, another's with --user.
    let scope = vendors::scope_id(store, Vendor::Clerk, &alice.instance, None).await.unwrap();
    assert_eq!(scope, alice.scope().id);
    let scope = vendors::scope_id(store, Vendor::Clerk, &alice.instance, Some(&bob.user_id)).await.unwrap();
    assert_eq!(scope, bob.scope().id);
    assert_sound(store).await;
}

#[tokio::test]
async fn thirty_concurrent_creates_of_one_name_at_cap_10_get_ten_slugs_of_their_own() {
    let store = store().await;
    let user: &'static User = Box::leak(Box::new(instance(store, clerk_options(10)).await));
    // The same name for all: slug collisions and the cap at once.
    let tasks: Vec<_> =
        (0..30).map(|_| tokio::spawn(async move { create(store, user, "Same Name").await })).collect();
    let mut ok = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::FORBIDDEN => assert_eq!(body["errors"][0]["code"], "organization_quota_exceeded"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(store.count_orgs(&user.scope()).await.unwrap(), 10);
    let inventory = store.inventory().await.unwrap();
    assert_eq!((inventory.orgs.len(), inventory.slugs.len(), inventory.members.len()), (10, 10, 10));
    assert_sound(store).await;
}

#[tokio::test]
async fn the_rate_limit_is_per_account() {
    let store = store().await;
    let alice = instance(store, Options { rate_limit: Some(2), ..clerk_options(100) }).await;
    let bob = second_user(store, &alice).await;
    assert_eq!(create(store, &alice, "One").await.0, StatusCode::OK);
    assert_eq!(Req::form(&alice.token, "name=").send(store).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let response = handler(store, request(&Req::form(&alice.token, "name=Three").event())).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(check_envelope(&response).1["errors"][0]["code"], "too_many_requests");
    assert_eq!(create(store, &bob, "Bob").await.0, StatusCode::OK);
    assert_eq!(store.count_orgs(&alice.scope()).await.unwrap(), 1);
}
