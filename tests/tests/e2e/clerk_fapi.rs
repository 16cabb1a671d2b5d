//! Clerk's Frontend API around the create, through the functions' real handlers with API Gateway v2 events
//! over DynamoDB Local: the environment, the client, touch (the active organization), session tokens and the
//! JWKS that verifies them, client tokens in the three ways, CORS for the instance's origins, and one client
//! never reaching another's organizations.

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::StatusCode;
use orgmint::{Store, Vendor};
use orgmint_cli::vendors::clerk;
use orgmint_tests::{assert_sound, body_json, event, request, store, tenant, Options};
use serde_json::{json, Value};

mod kms;

/// A signed-in client of an instance.
struct Client {
    instance: String,
    user_id: String,
    session_id: String,
    token: String,
}

async fn signed_in(store: &Store, options: Options) -> Client {
    let p = tenant(store, &options).await;
    Client {
        instance: p.public_id.clone(),
        user_id: p.extra["user_id"].as_str().unwrap().to_owned(),
        session_id: p.extra["session_id"].as_str().unwrap().to_owned(),
        token: p.extra["client_token"].as_str().unwrap().to_owned(),
    }
}

/// Another user of `of`'s instance, on a client of their own (`orgmint clerk session`).
async fn other_user(store: &Store, of: &Client) -> Client {
    let out = clerk::session(store, &of.instance, None, 3600).await.unwrap();
    Client {
        instance: of.instance.clone(),
        user_id: out["user_id"].as_str().unwrap().to_owned(),
        session_id: out["session_id"].as_str().unwrap().to_owned(),
        token: out["client_token"].as_str().unwrap().to_owned(),
    }
}

fn options() -> Options {
    Options { rate_limit: Some(0), ..Options::new(Vendor::Clerk) }
}

/// A FAPI request through `function`'s real handler: `METHOD path?query` with `headers` and a form body.
async fn call(
    store: &'static Store,
    function: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    form: &str,
) -> (StatusCode, Value, lambda_http::http::HeaderMap) {
    let mut ev = event("clerk-create-success");
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["headers"] = json!({"host": "127.0.0.1:9000", "content-type": "application/x-www-form-urlencoded"});
    for (name, value) in headers {
        ev["headers"][*name] = json!(value);
    }
    orgmint_cli::events::aim(&mut ev, path_and_query);
    let raw_path = ev["rawPath"].as_str().unwrap().to_owned();
    let segments: Vec<&str> = raw_path.split('/').collect();
    if segments.get(3) == Some(&"sessions") {
        ev["pathParameters"] = json!({"session_id": segments[4]});
    }
    if segments.get(2) == Some(&"organizations") && segments.len() == 4 {
        ev["pathParameters"] = json!({"organization_id": segments[3]});
    }
    ev["body"] = json!(form);
    ev["isBase64Encoded"] = json!(false);
    let reply = orgmint_cli::registry::endpoint_handler(function, store, request(&ev)).await;
    let reply = match reply {
        Some(reply) => reply,
        None => orgmint_cli::registry::handler(Vendor::Clerk, store, request(&ev)).await,
    };
    let body = if reply.body().is_empty() { Value::Null } else { body_json(&reply) };
    (reply.status(), body, reply.headers().clone())
}

/// As native clerk-js calls: the token in `Authorization`, `_is_native=1` and the session selected.
async fn native(
    store: &'static Store,
    client: &Client,
    function: &str,
    method: &str,
    path: &str,
    form: &str,
) -> (StatusCode, Value) {
    let query =
        format!("_is_native=1&__clerk_api_version=2026-08-20&_clerk_session_id={}", client.session_id);
    let (status, body, _) =
        call(store, function, method, &format!("{path}?{query}"), &[("authorization", &client.token)], form)
            .await;
    (status, body)
}

async fn create_org(store: &'static Store, client: &Client, name: &str) -> Value {
    let (status, body) = native(
        store,
        client,
        "clerk-create-organization",
        "POST",
        "/v1/organizations",
        &format!("name={name}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["response"].clone()
}

async fn touch(store: &'static Store, client: &Client, session: &str, form: &str) -> (StatusCode, Value) {
    let path = format!("/v1/client/sessions/{session}/touch");
    native(store, client, "clerk-touch-session", "POST", &path, form).await
}

async fn token(store: &'static Store, client: &Client, session: &str, form: &str) -> (StatusCode, Value) {
    let path = format!("/v1/client/sessions/{session}/tokens");
    native(store, client, "clerk-create-session-token", "POST", &path, form).await
}

/// The claims of `jwt` once its RS256 signature verifies with the key of the JWKS named by its `kid`.
fn verified(jwt: &str, jwks: &Value) -> Value {
    let part = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let (header, claims) = signed.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&part(header)).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is published");
    let public =
        RsaPublicKeyComponents { n: part(key["n"].as_str().unwrap()), e: part(key["e"].as_str().unwrap()) };
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &part(signature))
        .expect("the signature verifies");
    serde_json::from_slice(&part(claims)).unwrap()
}

fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["code"].as_str()
}

#[tokio::test]
async fn the_environment_is_the_instances_complete_and_needs_a_client() {
    let store = store().await;
    let client = signed_in(store, Options { name: Some("Acme Auth".into()), ..options() }).await;
    let (status, env) = native(store, &client, "clerk-get-environment", "GET", "/v1/environment", "").await;
    assert_eq!(status, StatusCode::OK, "{env}");
    assert_eq!(env["display_config"]["application_name"], "Acme Auth");
    assert_eq!(env["organization_settings"]["enabled"], true);
    assert_eq!(env["organization_settings"]["max_allowed_memberships"], 5);
    for object in
        ["auth_config", "display_config", "user_settings", "organization_settings", "commerce_settings"]
    {
        assert!(env[object].is_object(), "{object}: {env}");
    }
    // Half a billing object breaks clerk-js: it is whole.
    for side in ["user", "organization"] {
        assert!(env["commerce_settings"]["billing"][side].is_object(), "{env}");
    }
    let restricted = signed_in(store, Options { restricted: true, ..options() }).await;
    let (_, env) = native(store, &restricted, "clerk-get-environment", "GET", "/v1/environment", "").await;
    assert_eq!(env["organization_settings"]["enabled"], false);
    // An expired session's client still loads its instance's environment; no client token does not.
    let expired = clerk::session(store, &client.instance, Some(&client.user_id), -60).await.unwrap();
    let query = "/v1/environment?_is_native=1";
    let auth = expired["client_token"].as_str().unwrap();
    let (status, _, _) =
        call(store, "clerk-get-environment", "GET", query, &[("authorization", auth)], "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = call(store, "clerk-get-environment", "GET", query, &[], "").await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("authentication_invalid")));
}

#[tokio::test]
async fn the_client_lists_its_session_user_and_memberships_and_signed_out_is_null() {
    let store = store().await;
    let client = signed_in(store, options()).await;
    let org = create_org(store, &client, "Acme").await;
    let (status, body) = native(store, &client, "clerk-get-client", "GET", "/v1/client", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = &body["response"];
    assert_eq!(
        (c["object"].as_str(), c["last_active_session_id"].as_str()),
        (Some("client"), Some(client.session_id.as_str()))
    );
    let session = &c["sessions"][0];
    assert_eq!(
        (session["status"].as_str(), session["user"]["id"].as_str()),
        (Some("active"), Some(client.user_id.as_str()))
    );
    assert_eq!(session["last_active_organization_id"], Value::Null);
    let memberships = session["user"]["organization_memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0]["organization"], org);
    assert!(memberships[0]["id"].as_str().unwrap().starts_with("orgmem_"));
    // The same membership id on every read.
    let (_, again) = native(store, &client, "clerk-get-client", "GET", "/v1/client", "").await;
    assert_eq!(
        again["response"]["sessions"][0]["user"]["organization_memberships"][0]["id"],
        memberships[0]["id"]
    );
    // Signed out: no token, a forged one.
    for headers in [vec![], vec![("authorization", "garbage")]] {
        let (status, body, _) =
            call(store, "clerk-get-client", "GET", "/v1/client?_is_native=1", &headers, "").await;
        assert_eq!((status, &body), (StatusCode::OK, &json!({"response": null, "client": null})));
    }
    // An expired session: the client, with no session.
    let expired = clerk::session(store, &client.instance, Some(&client.user_id), -60).await.unwrap();
    let auth = expired["client_token"].as_str().unwrap();
    let (status, body, _) =
        call(store, "clerk-get-client", "GET", "/v1/client?_is_native=1", &[("authorization", auth)], "")
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["response"]["sessions"].as_array().map(Vec::len), &body["response"]["last_active_session_id"]),
        (Some(0), &Value::Null)
    );
}

#[tokio::test]
async fn touch_makes_a_members_organization_active_and_nothing_else() {
    let store = store().await;
    let alice = signed_in(store, options()).await;
    let bob = other_user(store, &alice).await;
    let mine = create_org(store, &alice, "Mine").await;
    let theirs = create_org(store, &bob, "Theirs").await;
    let org_id = mine["id"].as_str().unwrap();
    let (status, body) = touch(
        store,
        &alice,
        &alice.session_id,
        &format!("active_organization_id={org_id}&intent=select_org"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response"]["object"], "session");
    assert_eq!(body["response"]["last_active_organization_id"], org_id);
    assert_eq!(body["client"]["sessions"][0]["last_active_organization_id"], org_id);
    // Stored: the next load shows it.
    let (_, client) = native(store, &alice, "clerk-get-client", "GET", "/v1/client", "").await;
    assert_eq!(client["response"]["sessions"][0]["last_active_organization_id"], org_id);
    // Another user's organization, an unknown one: 404, nothing changes.
    for other in [theirs["id"].as_str().unwrap().to_owned(), format!("org_{}", "Z".repeat(27))] {
        let (status, body) =
            touch(store, &alice, &alice.session_id, &format!("active_organization_id={other}")).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("resource_not_found")), "{other}");
    }
    // Another client's session in the path: 404.
    let (status, body) =
        touch(store, &alice, &bob.session_id, &format!("active_organization_id={org_id}")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("resource_not_found")));
    // Without the parameter nothing changes; empty is the personal account.
    let (_, body) = touch(store, &alice, &alice.session_id, "").await;
    assert_eq!(body["response"]["last_active_organization_id"], org_id);
    let (_, body) = touch(store, &alice, &alice.session_id, "active_organization_id=").await;
    assert_eq!(body["response"]["last_active_organization_id"], Value::Null);
    assert_sound(store).await;
}

#[tokio::test]
async fn session_tokens_carry_the_active_organization_and_verify_with_the_jwks() {
    let store = store().await;
    let client = signed_in(store, options()).await;
    let org = create_org(store, &client, "Acme Inc").await;
    let org_id = org["id"].as_str().unwrap();
    let (status, jwks, headers) = call(store, "clerk-get-jwks", "GET", "/v1/jwks", &[], "").await;
    assert_eq!(status, StatusCode::OK, "{jwks}");
    assert!(headers.get("access-control-allow-origin").is_none());
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    // The personal account: no `o`.
    let (status, body) = token(store, &client, &client.session_id, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "token");
    let claims = verified(body["jwt"].as_str().unwrap(), &jwks);
    assert_eq!(
        (claims["sub"].as_str(), claims["sid"].as_str()),
        (Some(client.user_id.as_str()), Some(client.session_id.as_str()))
    );
    assert_eq!(claims["iss"], clerk::issuer(&client.instance));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert!(claims.get("o").is_none(), "{claims}");
    // The active organization after a touch, or the one asked for.
    touch(store, &client, &client.session_id, &format!("active_organization_id={org_id}")).await;
    for form in [String::new(), format!("organization_id={org_id}")] {
        let (_, body) = token(store, &client, &client.session_id, &form).await;
        let claims = verified(body["jwt"].as_str().unwrap(), &jwks);
        assert_eq!(claims["o"], json!({"id": org_id, "rol": "admin", "slg": "acme-inc"}), "{form}");
    }
    let (_, body) = token(store, &client, &client.session_id, "organization_id=").await;
    assert!(verified(body["jwt"].as_str().unwrap(), &jwks).get("o").is_none());
    // Not a member, not the client's session: 404.
    let other = other_user(store, &client).await;
    let theirs = create_org(store, &other, "Theirs").await;
    let (status, body) = token(
        store,
        &client,
        &client.session_id,
        &format!("organization_id={}", theirs["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("resource_not_found")));
    let (status, _) = token(store, &client, &other.session_id, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // FAPI's own path of the key set.
    let (status, well_known, _) =
        call(store, "clerk-get-jwks", "GET", "/.well-known/jwks.json", &[], "").await;
    assert_eq!((status, &well_known), (StatusCode::OK, &jwks));
}

#[tokio::test]
async fn browsers_use_the_client_cookie_from_the_instances_origins_only() {
    let store = store().await;
    let app = "https://app.example.com";
    let client = signed_in(store, Options { origin: vec![app.into()], ..options() }).await;
    let cookie = format!("__client={}", client.token);
    let path = format!("/v1/client?_clerk_session_id={}", client.session_id);
    let (status, body, headers) =
        call(store, "clerk-get-client", "GET", &path, &[("cookie", &cookie), ("origin", app)], "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response"]["id"].as_str().map(|id| id.starts_with("client_")), Some(true));
    assert_eq!(headers["access-control-allow-origin"], app);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    // A foreign origin with the same cookie: 400 origin_invalid, and no CORS headers (the browser hides it).
    let (status, body, headers) = call(
        store,
        "clerk-create-organization",
        "POST",
        "/v1/organizations",
        &[("cookie", &cookie), ("origin", "https://evil.example")],
        "name=Evil",
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("origin_invalid")));
    assert!(headers.get("access-control-allow-origin").is_none());
    // Preflights carry no credential: answered for an origin some instance allows, refused otherwise.
    let preflight = [
        ("origin", app),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    let (status, _, headers) =
        call(store, "clerk-create-organization", "OPTIONS", "/v1/organizations", &preflight, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-allow-origin"], app);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-allow-headers"], "content-type");
    let foreign = [("origin", "https://evil.example"), ("access-control-request-method", "POST")];
    let (status, body, headers) =
        call(store, "clerk-touch-session", "OPTIONS", "/v1/client/sessions/x/touch", &foreign, "").await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("origin_invalid")));
    assert!(headers.get("access-control-allow-origin").is_none());
    // An instance without the origin refuses it even though another instance allows it.
    let other = signed_in(store, options()).await;
    let cookie = format!("__client={}", other.token);
    let (status, body, _) = call(
        store,
        "clerk-get-environment",
        "GET",
        "/v1/environment",
        &[("cookie", &cookie), ("origin", app)],
        "",
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("origin_invalid")));
    let scope =
        orgmint::TenantRef::new(Vendor::Clerk, clerk::account_scope(&client.instance, &client.user_id));
    assert_eq!(store.count_orgs(&scope).await.unwrap(), 0);
}

// ---- the organization lifecycle (issue 17): get, update, delete, the user's memberships ----------------

async fn org_call(
    store: &'static Store,
    client: &Client,
    function: &str,
    method: &str,
    org_id: &str,
    form: &str,
) -> (StatusCode, Value) {
    native(store, client, function, method, &format!("/v1/organizations/{org_id}"), form).await
}

#[tokio::test]
async fn members_get_update_and_delete_their_organizations_and_nobody_elses() {
    let store = store().await;
    let alice = signed_in(store, Options { cap: 2, ..options() }).await;
    let bob = other_user(store, &alice).await;
    let org = create_org(store, &alice, "Acme").await;
    let id = org["id"].as_str().unwrap().to_owned();
    let theirs = create_org(store, &bob, "Theirs").await;
    // Get: the organization and the client.
    let (status, body) = org_call(store, &alice, "clerk-get-organization", "GET", &id, "").await;
    assert_eq!((status, &body["response"]), (StatusCode::OK, &org), "{body}");
    assert_eq!(body["client"]["object"], "client");
    // Update: the name, and the slug whose claim moves.
    let (status, body) =
        org_call(store, &alice, "clerk-update-organization", "PATCH", &id, "name=Acme+Corp&slug=acme-corp")
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["response"]["name"].as_str(), body["response"]["slug"].as_str()),
        (Some("Acme Corp"), Some("acme-corp"))
    );
    let memberships = &body["client"]["sessions"][0]["user"]["organization_memberships"];
    assert_eq!(memberships[0]["organization"]["slug"], "acme-corp", "the client shows the change");
    // The old slug is free again; the new one is taken (by bob too, in the same instance).
    let (status, _) = org_call(
        store,
        &bob,
        "clerk-update-organization",
        "PATCH",
        theirs["id"].as_str().unwrap(),
        "slug=acme-corp",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = org_call(
        store,
        &bob,
        "clerk-update-organization",
        "PATCH",
        theirs["id"].as_str().unwrap(),
        "slug=acme",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The create's rules.
    for (form, code) in [
        ("name=+", "form_param_nil"),
        ("slug=Acme!", "form_param_format_invalid"),
        ("name=www.x.com", "form_param_value_invalid"),
    ] {
        let (status, body) = org_call(store, &alice, "clerk-update-organization", "PATCH", &id, form).await;
        assert_eq!((status, code_of(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{form}");
    }
    // Another user's organization: 404 for every operation, and unchanged.
    for (function, method, form) in [
        ("clerk-get-organization", "GET", ""),
        ("clerk-update-organization", "PATCH", "name=Mine"),
        ("clerk-delete-organization", "DELETE", ""),
    ] {
        let (status, body) =
            org_call(store, &alice, function, method, theirs["id"].as_str().unwrap(), form).await;
        assert_eq!(
            (status, code_of(&body)),
            (StatusCode::NOT_FOUND, Some("resource_not_found")),
            "{function}"
        );
    }
    // The memberships list, paginated or not.
    let (status, body) =
        native(store, &alice, "clerk-list-memberships", "GET", "/v1/me/organization_memberships", "").await;
    assert_eq!((status, body["response"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{body}");
    let path = "/v1/me/organization_memberships?paginated=true&limit=1&offset=0";
    let query =
        format!("_is_native=1&paginated=true&limit=1&offset=0&_clerk_session_id={}", alice.session_id);
    let (_, body, _) = call(
        store,
        "clerk-list-memberships",
        "GET",
        &format!("/v1/me/organization_memberships?{query}"),
        &[("authorization", &alice.token)],
        "",
    )
    .await;
    assert_eq!(
        (body["response"]["total_count"].as_u64(), body["response"]["data"].as_array().map(Vec::len)),
        (Some(1), Some(1)),
        "{path}: {body}"
    );
    let (status, _, _) = call(
        store,
        "clerk-list-memberships",
        "GET",
        "/v1/me/organization_memberships?_is_native=1&limit=0",
        &[("authorization", &alice.token)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Delete: active first, then deleted; the client no longer lists or activates it, the slot is free.
    touch(store, &alice, &alice.session_id, &format!("active_organization_id={id}")).await;
    let (status, body) = org_call(store, &alice, "clerk-delete-organization", "DELETE", &id, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["response"],
        json!({"object": "organization", "id": id, "slug": "acme-corp", "deleted": true})
    );
    let session = &body["client"]["sessions"][0];
    assert_eq!(
        (
            session["user"]["organization_memberships"].as_array().map(Vec::len),
            &session["last_active_organization_id"]
        ),
        (Some(0), &Value::Null)
    );
    let (status, _) = org_call(store, &alice, "clerk-delete-organization", "DELETE", &id, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    create_org(store, &alice, "Again").await;
    create_org(store, &alice, "Full").await;
    assert_sound(store).await;
}

fn code_of(body: &Value) -> Option<&str> {
    body["errors"][0]["code"].as_str()
}
