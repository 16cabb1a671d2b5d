//! Cal.com's function through its real handler, with API Gateway v2 events, over DynamoDB Local.

use calcom_create_managed_organization::{handler, METADATA_MESSAGE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orgmint::{clock, round_trips, secrets, Credential, NewCredential, Store, TenantRef, Vendor};
use orgmint_cli::vendors::{self, Provisioned};
use orgmint_tests::{assert_sound, body_json, event, request, store, tenant, with, Options};
use serde_json::{json, Value};

/// Headers to set (`Some`) or remove (`None`).
type Headers = Vec<(&'static str, Option<String>)>;

struct Manager {
    /// `Bearer cal_…`
    auth: String,
    org_id: String,
    client_id: String,
    secret: String,
    user_id: String,
    tenant: TenantRef,
}

fn manager_of(p: &Provisioned) -> Manager {
    Manager {
        auth: p.headers["Authorization"].as_str().unwrap().to_owned(),
        org_id: p.public_id.clone(),
        client_id: p.extra["platform_headers"]["x-cal-client-id"].as_str().unwrap().to_owned(),
        secret: p.extra["platform_headers"]["x-cal-secret-key"].as_str().unwrap().to_owned(),
        user_id: p.extra["user_id"].as_str().unwrap().to_owned(),
        tenant: p.tenant.tenant.clone(),
    }
}

async fn manager(store: &Store, options: Options) -> Manager {
    manager_of(&tenant(store, &options).await)
}

fn calcom(cap: u32) -> Options {
    Options { cap, ..Options::new(Vendor::Calcom) }
}

/// The success event aimed at `org_id` (raw, as it would appear in the path), with headers set or removed.
fn aimed(name: &str, org_id: &str, headers: &[(&str, Option<&str>)], body: Option<&str>) -> Value {
    let mut ev = with(event(name), headers, body);
    let path = format!("/v2/organizations/{org_id}/organizations");
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["path"] = json!(path);
    ev["pathParameters"]["orgId"] = json!(org_id);
    ev
}

async fn send(
    store: &'static Store,
    org_id: &str,
    headers: &[(&str, Option<&str>)],
    body: &str,
) -> Response<Body> {
    let response =
        handler(store, request(&aimed("calcom-create-success", org_id, headers, Some(body)))).await;
    assert!(response.headers().contains_key("x-request-id"));
    response
}

async fn create(store: &'static Store, m: &Manager, body: &str) -> (StatusCode, Value) {
    let response = send(store, &m.org_id, &[("authorization", Some(&m.auth))], body).await;
    (response.status(), body_json(&response))
}

/// Checks Cal.com's error envelope and returns `error.message`.
fn error_message(status: StatusCode, reply: &Value, expected: StatusCode, code: &str) -> String {
    assert_eq!(status, expected, "{reply}");
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["error"]["code"], code, "{reply}");
    let ts = reply["timestamp"].as_str().unwrap();
    assert!(ts.len() == 24 && ts.ends_with('Z') && &ts[19..20] == ".", "{ts}");
    assert!(reply["path"].as_str().unwrap().starts_with("/v2/organizations/"), "{reply}");
    let message = reply["error"]["message"].as_str().unwrap().to_owned();
    // `details` is the exception's response: for an exception thrown with a message, NestJS's
    // `{message, error, statusCode}`; for a validation failure, class-validator's errors.
    let details = &reply["error"]["details"];
    if details.get("errors").is_none() {
        let reason = expected.canonical_reason().unwrap();
        assert_eq!(details, &json!({"message": message, "error": reason, "statusCode": expected.as_u16()}));
    }
    message
}

/// The properties that broke constraints, and their constraints' names.
type Broken = &'static [(&'static str, &'static [&'static str])];

/// A validation failure: "Bad Request Exception" and, per property, its broken constraints' names.
fn constraints(status: StatusCode, reply: &Value) -> Vec<(String, Vec<String>)> {
    assert_eq!(
        error_message(status, reply, StatusCode::BAD_REQUEST, "BadRequestException"),
        "Bad Request Exception"
    );
    reply["error"]["details"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{reply}"))
        .iter()
        .map(|e| {
            assert_eq!(e["children"], json!([]), "{e}");
            let names = e["constraints"].as_object().unwrap().keys().cloned().collect();
            (e["property"].as_str().unwrap().to_owned(), names)
        })
        .collect()
}

/// `CreateManagedOrganizationOutput`, checked field by field.
fn assert_created(reply: &Value) -> (u64, String) {
    assert_eq!(reply["status"], "success", "{reply}");
    let data = reply["data"].as_object().unwrap();
    let id = data["id"].as_u64().expect("a numeric id");
    assert!(id > 0 && id < (1 << 31), "{id}: Cal.com ids are int4");
    assert!(data["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(data["slug"].is_string() && data.get("metadata").is_none_or(Value::is_object));
    let key = data["apiKey"].as_str().unwrap();
    assert!(
        key.len() == 36
            && key.starts_with("cal_")
            && key[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{key}"
    );
    (id, key.to_owned())
}

fn child_of(m: &Manager, id: u64, key: &str) -> Manager {
    Manager {
        auth: format!("Bearer {key}"),
        org_id: id.to_string(),
        client_id: String::new(),
        secret: String::new(),
        user_id: m.user_id.clone(),
        tenant: TenantRef::new(Vendor::Calcom, id.to_string()),
    }
}

#[tokio::test]
async fn the_success_event_creates_a_managed_organization_whose_key_works_at_once() {
    let store = store().await;
    let m = manager(store, Options { rate_limit: Some(50), ..calcom(7) }).await;
    let ev = aimed("calcom-create-success", &m.org_id, &[("authorization", Some(&m.auth))], None);
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reply = body_json(&response);
    let (id, key) = assert_created(&reply);
    assert_eq!(reply["data"]["name"], "CalTeam");
    assert_eq!(reply["data"]["slug"], "cal-team");
    assert_eq!(reply["data"]["metadata"], json!({"key": "value"}));
    assert_eq!(response.headers()["x-ratelimit-limit-default"], "50");
    assert_eq!(response.headers()["x-ratelimit-remaining-default"], "49");
    assert!(response.headers().contains_key("x-ratelimit-reset-default"));
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1);

    // The caller is the new organization's OWNER; the new organization is a tenant with the manager's cap
    // and rate limit, and no platform subscription (the manager's tenant does not nest).
    let members = store.members(Vendor::Calcom, &id.to_string()).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].principal.as_str(), members[0].role.as_str()), (m.user_id.as_str(), "OWNER"));
    let child = child_of(&m, id, &key);
    let stored = store.tenant(&child.tenant).await.unwrap().expect("the managed org is a tenant");
    assert_eq!((stored.cap, stored.rate_limit, stored.org_count, stored.plan), (7, 50, 0, None));
    // apiKeyDaysValid 60: the key expires 60 × 86400 s after its creation, to the second.
    let credential = store.authenticate(Vendor::Calcom, &key).await.unwrap();
    assert_eq!(credential.expires_s, Some(credential.created_ms / 1000 + 60 * 86_400));
    assert_eq!((credential.role.as_str(), credential.principal.as_str()), ("OWNER", m.user_id.as_str()));

    // Its key works at once, but a managed org creates nothing: the manager's cap bounds all it can make.
    let (status, reply) = create(store, &child, r#"{"name":"Grandchild"}"#).await;
    let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert_eq!(
        message,
        format!("PlatformPlanGuard - No platform subscription found for organization with id={id}.")
    );
    assert_eq!(store.count_orgs(&child.tenant).await.unwrap(), 0);
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1);
    // But not on its manager's path.
    let (status, reply) =
        create(store, &Manager { org_id: m.org_id.clone(), ..child_of(&m, id, &key) }, "{}").await;
    error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert_sound(store).await;
}

#[tokio::test]
async fn a_nested_managers_managed_orgs_manage_their_own_under_the_managers_cap() {
    let store = store().await;
    let m = manager(store, Options { nested: true, ..calcom(3) }).await;
    let (status, reply) = create(store, &m, r#"{"name":"Child"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let (id, key) = assert_created(&reply);
    let child = child_of(&m, id, &key);
    let stored = store.tenant(&child.tenant).await.unwrap().expect("the managed org is a tenant");
    assert_eq!((stored.cap, stored.plan.as_deref()), (3, Some("SCALE")));
    for i in 0..3 {
        let (status, grandchild) = create(store, &child, &format!(r#"{{"name":"Grandchild {i}"}}"#)).await;
        assert_eq!(status, StatusCode::CREATED, "{grandchild}");
        assert!(grandchild["data"].get("metadata").is_none(), "no metadata key when none was sent");
    }
    let (status, reply) = create(store, &child, r#"{"name":"One too many"}"#).await;
    let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert!(message.contains("limit of 3 managed organizations"), "{message}");
    assert_eq!(store.count_orgs(&child.tenant).await.unwrap(), 3);
    assert_sound(store).await;
}

/// Cal.com answers browsers: every answer may be read by any origin, and a preflight is NestJS's 204.
#[tokio::test]
async fn browsers_may_read_every_answer_and_preflights_are_answered() {
    let store = store().await;
    let m = manager(store, calcom(1)).await;
    let mut answers = Vec::new();
    for (headers, body) in [
        (vec![("authorization", Some(m.auth.as_str()))], r#"{"name":"Seen"}"#),
        (vec![("authorization", Some(m.auth.as_str()))], r#"{"name":"Over the cap"}"#),
        (vec![("authorization", None)], "{}"),
    ] {
        let mut headers = headers;
        headers.push(("origin", Some("https://app.example.com")));
        answers.push(send(store, &m.org_id, &headers, body).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [201, 403, 401]);
    for answer in &answers {
        assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    }
    let mut ev = aimed(
        "calcom-create-success",
        &m.org_id,
        &[
            ("authorization", None),
            ("origin", Some("https://app.example.com")),
            ("access-control-request-method", Some("POST")),
            ("access-control-request-headers", Some("authorization,content-type")),
        ],
        Some(""),
    );
    ev["requestContext"]["http"]["method"] = json!("OPTIONS");
    let preflight = handler(store, request(&ev)).await;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let header = |name: &str| preflight.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("access-control-allow-origin"), "*");
    assert_eq!(header("access-control-allow-headers"), "authorization,content-type");
    assert!(header("access-control-allow-methods").contains("POST"));
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1, "a preflight writes nothing");
    assert_sound(store).await;
}

/// A Cal.com API key identifies a user: it acts at every organization where that user is ADMIN or OWNER,
/// with that organization's plan and cap. Only that case reads one more time.
#[tokio::test]
async fn an_api_key_acts_wherever_its_user_holds_the_role() {
    let store = store().await;
    for nested in [false, true] {
        let m = manager(store, Options { nested, ..calcom(2) }).await;
        let (trips_of_own, (status, reply)) = {
            let (out, trips) = round_trips::counted(create(store, &m, r#"{"name":"Child"}"#)).await;
            (trips, out)
        };
        assert_eq!((status, trips_of_own), (StatusCode::CREATED, 2), "{reply}");
        let (child_id, _) = assert_created(&reply);
        // The manager's own key, at the managed org where its user became OWNER.
        let at_child = Manager { org_id: child_id.to_string(), ..manager_of_same(&m) };
        let ((status, reply), trips) =
            round_trips::counted(create(store, &at_child, r#"{"name":"Grandchild"}"#)).await;
        if nested {
            assert_eq!((status, trips), (StatusCode::CREATED, 3), "{reply}");
            let child = TenantRef::new(Vendor::Calcom, child_id.to_string());
            assert_eq!(store.count_orgs(&child).await.unwrap(), 1, "created in the managed org's scope");
        } else {
            // The user is OWNER there, but the managed org has no platform subscription.
            let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
            assert_eq!(
                message,
                format!(
                    "PlatformPlanGuard - No platform subscription found for organization with id={child_id}."
                )
            );
        }
        // Another user's key at that managed org: no role there.
        let stranger = manager(store, calcom(2)).await;
        let (status, reply) =
            create(store, &Manager { org_id: child_id.to_string(), ..manager_of_same(&stranger) }, "{}")
                .await;
        let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
        assert!(message.starts_with("RolesGuard - user with id="), "{message}");
        assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1);
    }
    assert_sound(store).await;
}

#[tokio::test]
async fn api_key_expiry_follows_the_options_to_the_second() {
    let store = store().await;
    let m = manager(store, calcom(100)).await;
    let mut expiry = Vec::new();
    for (body, days) in [
        (r#"{"name":"Default"}"#, Some(30.0)),
        (r#"{"name":"One day","apiKeyDaysValid":1}"#, Some(1.0)),
        (r#"{"name":"Five days","apiKeyDaysValid":5,"apiKeyNeverExpires":false}"#, Some(5.0)),
        (r#"{"name":"Forever","apiKeyNeverExpires":true}"#, None),
        (r#"{"name":"Not forever","apiKeyNeverExpires":false}"#, Some(30.0)),
    ] {
        let (status, reply) = create(store, &m, body).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        let (_, key) = assert_created(&reply);
        let c = store.authenticate(Vendor::Calcom, &key).await.unwrap();
        let expected = days.map(|d: f64| c.created_ms / 1000 + (d * 86_400.0) as i64);
        expiry.push((body, c.expires_s, expected));
        if let Some(at) = c.expires_s {
            assert!(!c.is_expired_at(at - 1) && c.is_expired_at(at), "expired exactly at {at}");
        }
    }
    for (body, got, expected) in expiry {
        assert_eq!(got, expected, "{body}");
    }

    // An API key past its expiry: 401, counted by the throttler (which runs first) at Cal.com's default.
    let expired = manager(store, Options { key_ttl: Some(0), ..calcom(100) }).await;
    let response = send(store, &expired.org_id, &[("authorization", Some(&expired.auth))], "{}").await;
    let status = response.status();
    let reply = body_json(&response);
    let message = error_message(status, &reply, StatusCode::UNAUTHORIZED, "UnauthorizedException");
    assert_eq!(message, "ApiAuthStrategy - api key - Your api key is expired");
    assert_eq!(response.headers()["x-ratelimit-limit-default"], "120");
    // A key with time left works.
    let fresh = manager(store, Options { key_ttl: Some(3600), ..calcom(100) }).await;
    assert_eq!(create(store, &fresh, r#"{"name":"x"}"#).await.0, StatusCode::CREATED);
    assert_sound(store).await;
}

#[tokio::test]
async fn both_auth_routes_and_their_refusals() {
    let store = store().await;
    let m = manager(store, calcom(100)).await;
    let other = manager(store, calcom(100)).await;
    let body = r#"{"name":"Via platform"}"#;
    let platform = |m: &Manager| {
        vec![("x-cal-client-id", Some(m.client_id.clone())), ("x-cal-secret-key", Some(m.secret.clone()))]
    };
    let call = |headers: Headers, org: String| async move {
        let mut all: Vec<(&str, Option<String>)> = vec![("authorization", None)];
        all.extend(headers);
        let refs: Vec<(&str, Option<&str>)> = all.iter().map(|(k, v)| (*k, v.as_deref())).collect();
        let response = send(store, &org, &refs, body).await;
        let limited = response.headers().contains_key("x-ratelimit-limit-default");
        (response.status(), body_json(&response), limited)
    };

    // The platform OAuth client of {orgId}: 201, rate limited per client.
    let (status, reply, limited) = call(platform(&m), m.org_id.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert!(limited);
    let (id, _) = assert_created(&reply);
    let members = store.members(Vendor::Calcom, &id.to_string()).await.unwrap();
    assert_eq!(members[0].principal, m.user_id, "the client acts for the platform owner");

    // As ApiAuthStrategy reads them: the OAuth pair wins over an API key, and an API key is the
    // Authorization value with a literal "Bearer " removed when present.
    let mut pair_and_bad_key = platform(&m);
    pair_and_bad_key.push(("authorization", Some(format!("Bearer cal_{}", "1".repeat(32)))));
    for (n, headers) in
        [pair_and_bad_key, vec![("authorization", Some(m.auth[7..].to_owned()))]].iter().enumerate()
    {
        let refs: Vec<(&str, Option<&str>)> = headers.iter().map(|(k, v)| (*k, v.as_deref())).collect();
        let response = send(store, &m.org_id, &refs, &format!(r#"{{"name":"Accepted {n}"}}"#)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{headers:?}: {}", body_json(&response));
    }

    let no_credentials = "ApiAuthStrategy - No authentication method provided. Either pass an API key as 'Bearer' \
                          header or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers";
    let invalid_key = "CustomThrottlerGuard - Invalid API Key";
    let invalid_secret = "ApiAuthStrategy - oAuth client - Invalid client secret";
    let unauthorized: Vec<(Headers, String)> = vec![
        (vec![], no_credentials.into()),
        (vec![("x-cal-client-id", Some(m.client_id.clone()))], no_credentials.into()),
        (vec![("x-cal-secret-key", Some(m.secret.clone()))], no_credentials.into()),
        (
            vec![
                ("x-cal-client-id", Some(other.client_id.clone())),
                ("x-cal-secret-key", Some(m.secret.clone())),
            ],
            invalid_secret.into(),
        ),
        (
            vec![("x-cal-client-id", Some(m.client_id.clone())), ("x-cal-secret-key", Some("f".repeat(64)))],
            invalid_secret.into(),
        ),
        (
            vec![
                ("x-cal-client-id", Some("nosuchclient".into())),
                ("x-cal-secret-key", Some(m.secret.clone())),
            ],
            "ApiAuthStrategy - oAuth client - Client with ID nosuchclient not found".into(),
        ),
        (vec![("authorization", Some(format!("Bearer cal_{}", "0".repeat(32))))], invalid_key.into()),
        (vec![("authorization", Some("Bearer nonsense".to_owned()))], invalid_key.into()),
        // Only a literal "Bearer " is removed.
        (vec![("authorization", Some(format!("bearer {}", &m.auth[7..])))], invalid_key.into()),
        // The client secret is not an API key, nor the other way round.
        (vec![("authorization", Some(format!("Bearer {}", m.secret)))], invalid_key.into()),
        (
            vec![
                ("x-cal-client-id", Some(m.client_id.clone())),
                ("x-cal-secret-key", Some(m.auth[7..].to_owned())),
            ],
            invalid_secret.into(),
        ),
    ];
    for (headers, expected) in unauthorized {
        let shown = format!("{headers:?}");
        let (status, reply, limited) = call(headers, m.org_id.clone()).await;
        let message = error_message(status, &reply, StatusCode::UNAUTHORIZED, "UnauthorizedException");
        assert_eq!(message, expected, "{shown}");
        // The throttler runs first and counts every request, except the unknown API key it refuses itself.
        assert_eq!(limited, message != invalid_key, "{shown}");
    }
    // A Devin key is nothing here.
    let devin = tenant(store, &Options::new(Vendor::Devin)).await;
    let devin_auth = devin.headers["Authorization"].as_str().unwrap().to_owned();
    let (status, _, _) = call(vec![("authorization", Some(devin_auth))], m.org_id.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The sample events' placeholder key is not a key; the no-auth event has none.
    let placeholder = handler(store, request(&event("calcom-create-success"))).await;
    assert_eq!(body_json(&placeholder)["error"]["message"], invalid_key);
    let no_auth = handler(store, request(&event("calcom-no-auth"))).await;
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(&no_auth)["path"], "/v2/organizations/1234567/organizations");

    // Cross-tenant: a user with no role in {orgId} gets no access to it, by either route.
    for headers in [vec![("authorization", Some(other.auth.clone()))], platform(&other)] {
        let (status, reply, limited) = call(headers, m.org_id.clone()).await;
        let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
        let expected = format!(
            "RolesGuard - user with id={} does not have the minimum required role=ORG_ADMIN within \
             organization with id={}.",
            other.user_id, m.org_id
        );
        assert_eq!(message, expected);
        assert!(limited, "an authenticated refusal is counted");
    }
    // An organization that does not exist: IsOrgGuard.
    let (status, reply, _) = call(vec![("authorization", Some(m.auth.clone()))], "42".into()).await;
    let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert_eq!(
        message,
        "IsOrgGuard - provided organization id=42 does not represent any existing organization."
    );
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 3);
    assert_eq!(store.count_orgs(&other.tenant).await.unwrap(), 0);
    assert_sound(store).await;
}

#[tokio::test]
async fn an_org_id_no_organization_can_have_is_the_org_guards_403_after_authentication() {
    let store = store().await;
    let m = manager(store, calcom(100)).await;
    // Without credentials the path is not even looked at.
    let response = send(store, "abc", &[("authorization", None)], r#"{"name":"x"}"#).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    for raw in ["abc", "%2B1", "+1", "%201", "1e3", "1.0", "-1", "0", "2147483648", "99999999999999999999999"]
    {
        let response = send(store, raw, &[("authorization", Some(&m.auth))], r#"{"name":"x"}"#).await;
        let status = response.status();
        let reply = body_json(&response);
        // Guards run before pipes: Cal.com's IsOrgGuard finds no such organization.
        let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
        let expected = format!(
            "IsOrgGuard - provided organization id={raw} does not represent any existing organization."
        );
        assert_eq!(message, expected);
        assert_eq!(reply["path"], format!("/v2/organizations/{raw}/organizations"));
    }
    // Leading zeros are still the number (NestJS's ParseIntPipe): the caller's own org.
    let (status, reply) = create(
        store,
        &Manager { org_id: format!("00{}", m.org_id), ..manager_of_same(&m) },
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1);
    assert_sound(store).await;
}

fn manager_of_same(m: &Manager) -> Manager {
    Manager {
        auth: m.auth.clone(),
        org_id: m.org_id.clone(),
        client_id: m.client_id.clone(),
        secret: m.secret.clone(),
        user_id: m.user_id.clone(),
        tenant: m.tenant.clone(),
    }
}

#[tokio::test]
async fn role_permission_and_plan_each_refuse_with_their_own_message() {
    let store = store().await;
    let body = r#"{"name":"x"}"#;
    // --restricted: a MEMBER without organization.create, by either route.
    let member = manager(store, Options { restricted: true, ..calcom(100) }).await;
    let (status, reply) = create(store, &member, body).await;
    let role = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert!(role.contains("minimum required role=ORG_ADMIN"), "{role}");
    let response = send(
        store,
        &member.org_id,
        &[
            ("authorization", None),
            ("x-cal-client-id", Some(&member.client_id)),
            ("x-cal-secret-key", Some(&member.secret)),
        ],
        body,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // An ADMIN without the PBAC permission, a MEMBER with it, and a MEMBER with neither: the role or the
    // permission suffices.
    let m = manager(store, calcom(100)).await;
    let admin = |role: &str, permissions: Vec<String>| {
        let key = secrets::mint("cal_", 32);
        let credential = Credential {
            tenant: m.tenant.clone(),
            kind: "api_key".into(),
            principal: "77".into(),
            role: role.into(),
            permissions,
            plan: Some("SCALE".into()),
            features: Vec::new(),
            expires_s: None,
            rate_limit: 120,
            cap: 100,
            public_id: None,
            created_ms: 0,
        };
        (key.clone(), NewCredential { digest: secrets::digest(&key), credential })
    };
    let (admin_key, admin_cred) = admin("ADMIN", Vec::new());
    let (permitted, permitted_cred) = admin("MEMBER", vec!["organization.create".into()]);
    let (neither, neither_cred) = admin("MEMBER", Vec::new());
    store.add_credentials(&[admin_cred, permitted_cred, neither_cred]).await.unwrap();
    let as_key = |key: &str| Manager { auth: format!("Bearer {key}"), ..manager_of_same(&m) };
    for key in [&admin_key, &permitted] {
        let (status, reply) = create(store, &as_key(key), &format!(r#"{{"name":"{key}"}}"#)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let (status, reply) = create(store, &as_key(&neither), body).await;
    let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert_eq!(
        message,
        format!(
            "RolesGuard - user with id=77 does not have the minimum required role=ORG_ADMIN within organization \
             with id={}.",
            m.org_id
        )
    );

    // Plans below SCALE are refused; SCALE and above are fine.
    let mut messages = vec![role, message];
    for plan in ["FREE", "STARTER", "ESSENTIALS"] {
        let low = manager(store, Options { plan: Some(plan.into()), ..calcom(100) }).await;
        let (status, reply) = create(store, &low, body).await;
        let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
        assert!(
            message.contains(&format!("Minimum plan is SCALE while the organization has {plan}")),
            "{message}"
        );
        messages.push(message);
    }
    for plan in ["SCALE", "PER_ACTIVE_USER", "ENTERPRISE"] {
        let ok = manager(store, Options { plan: Some(plan.into()), ..calcom(100) }).await;
        let (status, reply) = create(store, &ok, body).await;
        assert_eq!(status, StatusCode::CREATED, "{plan}: {reply}");
    }
    messages.sort();
    messages.dedup();
    assert_eq!(messages.len(), 5, "distinct messages");
    // Authorization comes before the body: a bad body from a MEMBER is still a 403.
    assert_eq!(create(store, &member, "{oops").await.0, StatusCode::FORBIDDEN);
    // The CLI refuses a plan it does not know.
    assert!(vendors::provision(store, &Options { plan: Some("GOLD".into()), ..calcom(1) }).await.is_err());
    assert_eq!(store.count_orgs(&member.tenant).await.unwrap(), 0);
    assert_sound(store).await;
}

#[tokio::test]
async fn bad_bodies_are_400_in_cals_envelope_and_write_nothing() {
    let store = store().await;
    let m = manager(store, calcom(100)).await;
    let fifty_one: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    // Each case: the properties that broke constraints, and their constraints, as class-validator names them.
    const NAME_MISSING: Broken = &[("name", &["isString", "isLength"])];
    // @IsObject() and @ValidateMetadata(): a non-object breaks both, an array (whose items fit) only the first.
    const METADATA: Broken = &[("metadata", &["ValidateMetadata"])];
    const NOT_AN_OBJECT: Broken = &[("metadata", &["isObject", "ValidateMetadata"])];
    let (name_missing, metadata) = (NAME_MISSING, METADATA);
    let cases: Vec<(String, Broken)> = vec![
        ("".into(), name_missing),
        ("{}".into(), name_missing),
        (r#"{"name":null}"#.into(), name_missing),
        (r#"{"name":12}"#.into(), name_missing),
        (r#"{"name":""}"#.into(), &[("name", &["isLength"])]),
        (r#"{"name":"x","slug":7}"#.into(), &[("slug", &["isString"])]),
        (r#"{"name":"x","metadata":"s"}"#.into(), NOT_AN_OBJECT),
        (r#"{"name":"x","metadata":[]}"#.into(), &[("metadata", &["isObject"])]),
        (json!({"name": "x", "metadata": fifty_one}).to_string(), metadata),
        (json!({"name": "x", "metadata": {"k".repeat(41): 1}}).to_string(), metadata),
        (json!({"name": "x", "metadata": {"k": "v".repeat(501)}}).to_string(), metadata),
        (r#"{"name":"x","metadata":{"k":null}}"#.into(), metadata),
        (r#"{"name":"x","metadata":{"k":[1]}}"#.into(), metadata),
        (r#"{"name":"x","metadata":{"k":{"a":1}}}"#.into(), metadata),
        (r#"{"name":"x","apiKeyDaysValid":0}"#.into(), &[("apiKeyDaysValid", &["min"])]),
        (r#"{"name":"x","apiKeyDaysValid":0.99}"#.into(), &[("apiKeyDaysValid", &["isInt", "min"])]),
        (r#"{"name":"x","apiKeyDaysValid":1.5}"#.into(), &[("apiKeyDaysValid", &["isInt"])]),
        (r#"{"name":"x","apiKeyDaysValid":-5}"#.into(), &[("apiKeyDaysValid", &["min"])]),
        (r#"{"name":"x","apiKeyDaysValid":"10"}"#.into(), &[("apiKeyDaysValid", &["isInt", "min"])]),
        (r#"{"name":"x","apiKeyNeverExpires":"true"}"#.into(), &[("apiKeyNeverExpires", &["isBoolean"])]),
        (
            r#"{"name":1,"slug":2,"zzz":true}"#.into(),
            &[("name", &["isString", "isLength"]), ("slug", &["isString"])],
        ),
    ];
    for (body, expected) in &cases {
        let (status, reply) = create(store, &m, body).await;
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(p, c)| ((*p).to_owned(), c.iter().map(|c| (*c).to_owned()).collect()))
            .collect();
        let mut got = constraints(status, &reply);
        for (_, names) in &mut got {
            names.sort();
        }
        let mut want = expected;
        for (_, names) in &mut want {
            names.sort();
        }
        assert_eq!(got, want, "{body}: {reply}");
    }
    // The metadata sentence and class-validator's messages, word for word, with the value sent.
    let (status, reply) = create(store, &m, r#"{"name":"x","metadata":"s"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply["error"]["details"],
        json!({"errors": [{"property": "metadata", "value": "s", "children": [], "constraints": {"isObject": "metadata must be an object", "ValidateMetadata": METADATA_MESSAGE}}]})
    );
    // Not JSON, or not an object: the parser's 400 with NestJS's details.
    for (body, expected) in [
        ("{", "Invalid JSON body"),
        ("name=x", "Invalid JSON body"),
        ("[]", "Request body must be a JSON object"),
        ("\"x\"", "Request body must be a JSON object"),
    ] {
        let (status, reply) = create(store, &m, body).await;
        let message = error_message(status, &reply, StatusCode::BAD_REQUEST, "BadRequestException");
        assert!(message.starts_with(expected), "{body}: {message}");
    }
    // Both expiry options truthy: the service's own words (Cal.com writes first; orgmint writes nothing).
    let (status, reply) =
        create(store, &m, r#"{"name":"x","apiKeyDaysValid":10,"apiKeyNeverExpires":true}"#).await;
    let message = error_message(status, &reply, StatusCode::BAD_REQUEST, "BadRequestException");
    assert_eq!(message, calcom_create_managed_organization::BOTH_EXPIRY_OPTIONS);
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 0);

    // Content types, and bodies over 64 KiB (413 in the same envelope).
    let ev = aimed(
        "calcom-create-success",
        &m.org_id,
        &[("authorization", Some(&m.auth)), ("content-type", Some("text/plain"))],
        Some(r#"{"name":"x"}"#),
    );
    let response = handler(store, request(&ev)).await;
    let (status, reply) = (response.status(), body_json(&response));
    assert!(error_message(status, &reply, StatusCode::BAD_REQUEST, "BadRequestException")
        .contains("Content-Type"));
    let ev = aimed(
        "calcom-create-success",
        &m.org_id,
        &[("authorization", Some(&m.auth)), ("content-type", Some("application/json; charset=utf-8"))],
        Some(r#"{"name":"Charset"}"#),
    );
    assert_eq!(handler(store, request(&ev)).await.status(), StatusCode::CREATED);
    let (status, reply) = create(store, &m, &format!(r#"{{"name":"{}"}}"#, "x".repeat(70_000))).await;
    error_message(status, &reply, StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeException");

    // `path` carries the query string as received.
    let mut ev = aimed("calcom-create-success", &m.org_id, &[("authorization", Some(&m.auth))], Some("{}"));
    ev["rawQueryString"] = json!("a=1&b=%20");
    let reply = body_json(&handler(store, request(&ev)).await);
    assert_eq!(reply["path"], format!("/v2/organizations/{}/organizations?a=1&b=%20", m.org_id));

    // The missing-name event.
    let ev = aimed("calcom-missing-name", &m.org_id, &[("authorization", Some(&m.auth))], None);
    let response = handler(store, request(&ev)).await;
    let (status, reply) = (response.status(), body_json(&response));
    assert_eq!(
        constraints(status, &reply),
        vec![("name".to_owned(), vec!["isLength".to_owned(), "isString".to_owned()])]
    );

    // Unknown properties are stripped, blanks and control characters are names, any string is a slug.
    for body in [
        r#"{"name":"Unknown","isPlatform":true,"foo":1}"#,
        r#"{"name":"   "}"#,
        "{\"name\":\"a\\u0007b\"}",
        r#"{"name":"s","slug":"Not Kebab"}"#,
    ] {
        let (status, reply) = create(store, &m, body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {reply}");
    }

    // Metadata at the limits is fine (lengths in UTF-16 units), and null optionals are "not given".
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("{i:0>40}"), json!("ü".repeat(500)))).collect();
    let (status, reply) = create(store, &m, &json!({"name": "Edge", "metadata": fifty}).to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["data"]["metadata"].as_object().unwrap().len(), 50);
    let (status, reply) =
        create(store, &m, r#"{"name":"Nulls","slug":null,"metadata":null,"apiKeyDaysValid":null}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["data"]["slug"], "nulls");
    assert!(reply["data"].get("metadata").is_none(), "{reply}");
    let (status, reply) = create(store, &m, r#"{"name":"M","metadata":{"a":"b","n":1.5,"t":true}}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reply["data"]["metadata"], json!({"a": "b", "n": 1.5, "t": true}));
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 8);
    assert_sound(store).await;
}

#[tokio::test]
async fn slugs_are_derived_unique_per_manager_and_a_duplicate_is_a_409() {
    let store = store().await;
    let m = manager(store, calcom(100)).await;
    let (status, reply) = create(store, &m, r#"{"name":"Café Über Team!"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["data"]["slug"], "cafe-uber-team");
    assert_eq!(reply["data"]["name"], "Café Über Team!");
    let (_, reply) = create(store, &m, r#"{"name":"!!!"}"#).await;
    let (id, _) = assert_created(&reply);
    assert_eq!(reply["data"]["slug"], format!("org-{id}"));
    // Cal.com's own slugify: periods and letters of any script stay; "" asks for the derived slug.
    for (body, slug) in
        [(r#"{"name":"Acme Inc. 2024"}"#, "acme-inc.-2024"), (r#"{"name":"日本","slug":""}"#, "日本")]
    {
        let (status, reply) = create(store, &m, body).await;
        assert_eq!((status, &reply["data"]["slug"]), (StatusCode::CREATED, &json!(slug)), "{reply}");
    }

    // The same slug again — explicit, or derived from another name — is a 409 that writes nothing.
    for body in [r#"{"name":"Other","slug":"cafe-uber-team"}"#, r#"{"name":"CAFE uber  team"}"#] {
        let (status, reply) = create(store, &m, body).await;
        let message = error_message(status, &reply, StatusCode::CONFLICT, "ConflictException");
        assert_eq!(
            message,
            "Organization with slug 'cafe-uber-team' already exists. Please, either provide a different slug or \
             change name so that the automatically generated slug is different."
        );
    }
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 4);
    let inventory = store.inventory().await.unwrap();
    assert_eq!(inventory.tenants.len(), 5, "the manager and four managed orgs, nothing of the 409s");

    // Another manager may use it; so may the managed org itself, in its own scope.
    let other = manager(store, calcom(100)).await;
    assert_eq!(create(store, &other, r#"{"name":"x","slug":"cafe-uber-team"}"#).await.0, StatusCode::CREATED);

    // Concurrent creates with one slug: exactly one wins, decided by the transaction.
    let m: &'static Manager = Box::leak(Box::new(m));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(async move {
                create(store, m, &format!(r#"{{"name":"Race {i}","slug":"race"}}"#)).await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 7, "{statuses:?}");
    assert_sound(store).await;
}

#[tokio::test]
async fn at_the_cap_the_caps_403_wins_over_a_duplicate_slugs_409() {
    let store = store().await;
    let m = manager(store, calcom(1)).await;
    assert_eq!(create(store, &m, r#"{"name":"Managed 1"}"#).await.0, StatusCode::CREATED);
    let (status, reply) = create(store, &m, r#"{"name":"Managed 1"}"#).await;
    let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
    assert!(message.contains("limit of 1 managed organizations"), "{message}");
    assert_sound(store).await;
}

#[tokio::test]
async fn over_the_rate_limit_is_a_429_throttler_exception() {
    let store = store().await;
    let m = manager(store, Options { rate_limit: Some(2), ..calcom(100) }).await;
    assert_eq!(create(store, &m, r#"{"name":"a"}"#).await.0, StatusCode::CREATED);
    assert_eq!(create(store, &m, "{}").await.0, StatusCode::BAD_REQUEST);
    let response = send(store, &m.org_id, &[("authorization", Some(&m.auth))], r#"{"name":"b"}"#).await;
    let (status, reply) = (response.status(), body_json(&response));
    let message = error_message(status, &reply, StatusCode::TOO_MANY_REQUESTS, "ThrottlerException");
    assert_eq!(message, "CustomThrottlerGuard - Too many requests. Please try again later.");
    assert_eq!(response.headers()["x-ratelimit-limit-default"], "2");
    assert_eq!(response.headers()["x-ratelimit-remaining-default"], "0");
    assert!(!response.headers().contains_key("retry-after"), "Cal.com's throttler sends none");
    // The platform client has a window of its own.
    let response = send(
        store,
        &m.org_id,
        &[
            ("authorization", None),
            ("x-cal-client-id", Some(&m.client_id)),
            ("x-cal-secret-key", Some(&m.secret)),
        ],
        r#"{"name":"c"}"#,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 2);
    assert_sound(store).await;
}

/// The throttler runs before authentication: without credentials a request is counted against its address
/// (120 a minute), and a caller over the limit stays blocked for 60 s from its first refusal, whatever the
/// window.
#[tokio::test]
async fn the_throttler_counts_addresses_and_blocks_for_sixty_seconds() {
    let store = store().await;
    let m = manager(store, Options { rate_limit: Some(1), ..calcom(100) }).await;
    let anonymous = |ip: &'static str| {
        let mut ev = aimed("calcom-create-success", &m.org_id, &[("authorization", None)], Some("{}"));
        ev["requestContext"]["http"]["sourceIp"] = json!(ip);
        handler(store, request(&ev))
    };
    let first = anonymous("203.0.113.7").await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let header = |r: &Response<Body>, name: &str| r.headers()[name].to_str().unwrap().parse::<u32>().unwrap();
    assert_eq!(header(&first, "x-ratelimit-limit-default"), 120);
    let second = anonymous("203.0.113.7").await;
    let other = anonymous("198.51.100.1").await;
    // Unless the minute turned between them, the same address has one request fewer left.
    if header(&second, "x-ratelimit-reset-default") <= header(&first, "x-ratelimit-reset-default") {
        assert_eq!(
            header(&first, "x-ratelimit-remaining-default") - 1,
            header(&second, "x-ratelimit-remaining-default")
        );
    }
    assert_eq!(header(&other, "x-ratelimit-remaining-default"), 119, "another address, another window");

    // A key at 1 a minute: the second request is refused and blocks the key for 60 s from then on.
    assert_eq!(create(store, &m, r#"{"name":"one"}"#).await.0, StatusCode::CREATED);
    let (status, _) = create(store, &m, r#"{"name":"two"}"#).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let until = blocked_until(store, &orgmint::rate::key_of(Vendor::Calcom, &m.auth[7..]))
        .await
        .expect("the refusal stored a block");
    let now = clock::now_ms() / 1000;
    assert!((now + 55..=now + 60).contains(&until), "blocked for 60 s from the refusal: {until} at {now}");
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 1);
    assert_sound(store).await;
}

/// The end of the block of rate key `key`, as the next request's authentication reads it.
async fn blocked_until(store: &Store, key: &str) -> Option<i64> {
    let found = store
        .authenticate_metered(Vendor::Calcom, &[], key, true, None, None)
        .await
        .expect("read the window");
    (found.rate.blocked_until_s > 0).then_some(found.rate.blocked_until_s)
}

// ---- the lifecycle around the create: list, get, update, delete (issue 17) ------------------------------

/// `method path_and_query` through its function's real handler, with `headers` (the caller's credentials,
/// an `Idempotency-Key` …): Cal.com's managed-organizations controller, one function per endpoint.
async fn call_with(
    store: &'static Store,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, Option<&str>)],
    body: &str,
) -> Response<Body> {
    let path = path_and_query.split('?').next().unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let function = match (method, segments.len()) {
        ("GET", 4) => "calcom-list-managed-organizations",
        ("GET", _) => "calcom-get-managed-organization",
        ("PATCH", _) => "calcom-update-managed-organization",
        _ => "calcom-delete-managed-organization",
    };
    let mut ev = with(event("calcom-create-success"), headers, Some(body));
    ev["requestContext"]["http"]["method"] = json!(method);
    orgmint_cli::events::aim(&mut ev, path_and_query);
    ev["pathParameters"] = json!({"orgId": segments[2]});
    if let Some(managed) = segments.get(4) {
        ev["pathParameters"]["managedOrganizationId"] = json!(managed);
    }
    let response = orgmint_cli::registry::endpoint_handler(function, store, request(&ev)).await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("x-ratelimit-limit-default"), "{function}");
    response
}

async fn call(
    store: &'static Store,
    m: &Manager,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let response = call_with(store, method, path, &[("authorization", Some(&m.auth))], body).await;
    (response.status(), body_json(&response))
}

/// The managed organization as Cal.com's output shows it: the create's answer without its API key.
fn shown(created: &Value) -> Value {
    let mut data = created["data"].clone();
    data.as_object_mut().unwrap().remove("apiKey");
    data
}

#[tokio::test]
async fn the_manager_lists_gets_updates_and_deletes_its_managed_orgs_in_cals_shapes() {
    let store = store().await;
    let m = manager(store, calcom(3)).await;
    let base = format!("/v2/organizations/{}/organizations", m.org_id);
    let mut made = Vec::new();
    for body in [
        json!({"name": "Alpha", "metadata": {"plan": "pro", "seats": 5}}),
        json!({"name": "Beta", "slug": "beta-team"}),
        json!({"name": "Gamma", "metadata": {"plan": "free"}}),
    ] {
        let (status, reply) = create(store, &m, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        made.push(reply);
    }
    made.sort_by_key(|r| r["data"]["id"].as_u64());
    let ids: Vec<u64> = made.iter().map(|r| r["data"]["id"].as_u64().unwrap()).collect();

    // The list: in id order, with getPagination's meta.
    let (status, page) = call(store, &m, "GET", &base, "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["status"], "success");
    assert_eq!(page["data"], json!(made.iter().map(shown).collect::<Vec<_>>()));
    assert_eq!(
        page["pagination"],
        json!({"returnedItems": 3, "totalItems": 3, "itemsPerPage": 250, "remainingItems": 0, "currentPage": 1,
               "totalPages": 1, "hasNextPage": false, "hasPreviousPage": false})
    );
    let (_, first) = call(store, &m, "GET", &format!("{base}?take=2"), "").await;
    assert_eq!(first["data"], json!([shown(&made[0]), shown(&made[1])]));
    assert_eq!(
        (first["pagination"]["hasNextPage"].as_bool(), first["pagination"]["remainingItems"].as_u64()),
        (Some(true), Some(1))
    );
    let (_, second) = call(store, &m, "GET", &format!("{base}?take=2&skip=2"), "").await;
    assert_eq!(second["data"], json!([shown(&made[2])]));
    assert_eq!(
        (second["pagination"]["currentPage"].as_u64(), second["pagination"]["hasPreviousPage"].as_bool()),
        (Some(2), Some(true))
    );
    // Filters: the slug; the metadata key and value (both, or neither is applied; values compare as strings).
    let (_, beta) = call(store, &m, "GET", &format!("{base}?slug=beta-team"), "").await;
    assert_eq!(
        beta["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Beta"]
    );
    let (_, pro) = call(store, &m, "GET", &format!("{base}?metadataKey=plan&metadataValue=pro"), "").await;
    assert_eq!(
        (pro["data"][0]["name"].as_str(), pro["pagination"]["totalItems"].as_u64()),
        (Some("Alpha"), Some(1))
    );
    let (_, seats) = call(store, &m, "GET", &format!("{base}?metadataKey=seats&metadataValue=5"), "").await;
    assert_eq!(seats["pagination"]["totalItems"], 0, "a number is not the string \"5\"");
    let (_, half) = call(store, &m, "GET", &format!("{base}?metadataKey=plan"), "").await;
    assert_eq!(half["pagination"]["totalItems"], 3);
    // SkipTakePagination's constraints, after the guards.
    for (query, expected) in [
        ("take=0", vec![("take", vec!["min"])]),
        ("take=251", vec![("take", vec!["max"])]),
        ("take=x&skip=-1", vec![("take", vec!["isNumber", "max", "min"]), ("skip", vec!["min"])]),
    ] {
        let (status, reply) = call(store, &m, "GET", &format!("{base}?{query}"), "").await;
        let got = constraints(status, &reply);
        let expected: Vec<(String, Vec<String>)> = expected
            .into_iter()
            .map(|(p, c)| (p.to_owned(), c.into_iter().map(str::to_owned).collect()))
            .collect();
        assert_eq!(got, expected, "{query}: {reply}");
    }

    // One of them, read with the credentials: two round trips, that read and the rate window's charge.
    let alpha = made.iter().position(|r| r["data"]["name"] == "Alpha").unwrap();
    let one = format!("{base}/{}", ids[alpha]);
    let ((status, got), trips) = round_trips::counted(call(store, &m, "GET", &one, "")).await;
    assert_eq!((status, got), (StatusCode::OK, json!({"status": "success", "data": shown(&made[alpha])})));
    assert_eq!(trips, 2, "the org is read with the credentials");
    let missing = format!("{base}/{}", ids.iter().max().unwrap() + 1);
    let (status, reply) = call(store, &m, "GET", &missing, "").await;
    let message = error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");
    assert_eq!(
        message,
        format!(
            "Managed organization with id={} within manager organization with id={} not found.",
            ids.iter().max().unwrap() + 1,
            m.org_id
        )
    );
    let (status, reply) = call(store, &m, "GET", &format!("{base}/abc"), "").await;
    error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");

    // The update: name and metadata (replaced whole); the slug and anything else are stripped.
    let body = r#"{"name":"Alpha 2","metadata":{"tier":"gold"},"slug":"ignored","zzz":1}"#;
    let (status, updated) = call(store, &m, "PATCH", &one, body).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let expected = json!({"id": ids[alpha], "name": "Alpha 2", "slug": made[alpha]["data"]["slug"], "metadata": {"tier": "gold"}});
    assert_eq!(updated, json!({"status": "success", "data": expected}));
    assert_eq!(call(store, &m, "GET", &one, "").await.1["data"], expected);
    assert_eq!(store.org(&m.tenant, &ids[alpha].to_string()).await.unwrap().unwrap().name, "Alpha 2");
    // Constraints after the managed-org guard: a bad body for an org not managed here is its 404.
    let (status, reply) = call(store, &m, "PATCH", &one, r#"{"name":"","metadata":[]}"#).await;
    let broken: Vec<(String, Vec<String>)> = constraints(status, &reply);
    assert_eq!(
        broken,
        [
            ("name".to_owned(), vec!["isLength".to_owned()]),
            ("metadata".to_owned(), vec!["isObject".to_owned()])
        ]
    );
    let (status, reply) = call(store, &m, "PATCH", &missing, r#"{"name":""}"#).await;
    error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");
    let (status, reply) = call(store, &m, "PATCH", &one, "{").await;
    error_message(status, &reply, StatusCode::BAD_REQUEST, "BadRequestException");

    // The cap is full; a delete frees a slot, and everything of the deleted org goes.
    let (status, _) = create(store, &m, r#"{"name":"Delta"}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let beta = made.iter().position(|r| r["data"]["name"] == "Beta").unwrap();
    let gone = format!("{base}/{}", ids[beta]);
    let (status, deleted) = call(store, &m, "DELETE", &gone, "").await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"status": "success", "data": shown(&made[beta])})));
    let key = made[beta]["data"]["apiKey"].as_str().unwrap();
    assert!(store.authenticate(Vendor::Calcom, key).await.is_err(), "its API key went with it");
    assert!(store.tenant(&TenantRef::new(Vendor::Calcom, ids[beta].to_string())).await.unwrap().is_none());
    let (status, reply) = call(store, &m, "DELETE", &gone, "").await;
    error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");
    // Its slug is free again, and so is the slot.
    let (status, reply) = create(store, &m, r#"{"name":"Beta again","slug":"beta-team"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 3);
    assert_sound(store).await;
}

#[tokio::test]
async fn another_manager_or_a_member_reads_changes_and_deletes_nothing() {
    let store = store().await;
    let m = manager(store, calcom(10)).await;
    let (_, made) = create(store, &m, r#"{"name":"Mine"}"#).await;
    let id = made["data"]["id"].as_u64().unwrap();
    let other = manager(store, calcom(10)).await;
    let member = manager(store, Options { restricted: true, ..calcom(10) }).await;
    for (method, body) in [("GET", ""), ("PATCH", r#"{"name":"Theirs"}"#), ("DELETE", "")] {
        // At its own organization, the other manager manages no such org.
        let theirs = format!("/v2/organizations/{}/organizations/{id}", other.org_id);
        let (status, reply) = call(store, &other, method, &theirs, body).await;
        error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");
        // At ours, its user has no role.
        let ours = format!("/v2/organizations/{}/organizations/{id}", m.org_id);
        let (status, reply) = call(store, &other, method, &ours, body).await;
        let message = error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException");
        assert!(message.starts_with("RolesGuard - "), "{message}");
        // A MEMBER without the PBAC permission is refused at its own organization too.
        let own = format!("/v2/organizations/{}/organizations/{id}", member.org_id);
        let (status, reply) = call(store, &member, method, &own, body).await;
        assert!(error_message(status, &reply, StatusCode::FORBIDDEN, "ForbiddenException")
            .starts_with("RolesGuard - "));
    }
    let (status, page) =
        call(store, &other, "GET", &format!("/v2/organizations/{}/organizations", other.org_id), "").await;
    assert_eq!((status, page["data"].clone()), (StatusCode::OK, json!([])));
    let stored = store.org(&m.tenant, &id.to_string()).await.unwrap().unwrap();
    assert_eq!(stored.name, "Mine");
    // The platform OAuth client acts for the manager as its API key does.
    let oauth =
        [("x-cal-client-id", Some(m.client_id.as_str())), ("x-cal-secret-key", Some(m.secret.as_str()))];
    let path = format!("/v2/organizations/{}/organizations/{id}", m.org_id);
    let response = call_with(store, "GET", &path, &oauth, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_sound(store).await;
}

#[tokio::test]
async fn a_retried_delete_or_update_with_its_idempotency_key_gets_the_first_answer() {
    let store = store().await;
    let m = manager(store, calcom(10)).await;
    let (_, made) = create(store, &m, r#"{"name":"Once"}"#).await;
    let path = format!("/v2/organizations/{}/organizations/{}", m.org_id, made["data"]["id"]);
    let auth = Some(m.auth.as_str());
    let send = |method: &'static str, key: &'static str, body: &'static str| {
        let path = path.clone();
        async move {
            call_with(store, method, &path, &[("authorization", auth), ("idempotency-key", Some(key))], body)
                .await
        }
    };
    let replayed = |r: &Response<Body>| r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let first = send("PATCH", "rename-1", r#"{"name":"Twice"}"#).await;
    let again = send("PATCH", "rename-1", r#"{"name":"Twice"}"#).await;
    assert_eq!((first.status(), replayed(&first)), (StatusCode::OK, false));
    assert_eq!(
        (again.status(), body_json(&again), replayed(&again)),
        (StatusCode::OK, body_json(&first), true)
    );
    // The same key for another body is the key's misuse, not a second update.
    let misuse = send("PATCH", "rename-1", r#"{"name":"Other"}"#).await;
    assert_eq!(misuse.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", body_json(&misuse));
    // Two deletes racing with one key: one deletes, the other answers as it did (no 404).
    let (a, b) = tokio::join!(send("DELETE", "delete-1", ""), send("DELETE", "delete-1", ""));
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::OK, StatusCode::OK),
        "{} {}",
        body_json(&a),
        body_json(&b)
    );
    assert_eq!(body_json(&a), body_json(&b));
    assert_eq!(body_json(&a)["data"]["name"], "Twice");
    let later = send("DELETE", "delete-1", "").await;
    assert_eq!((later.status(), replayed(&later)), (StatusCode::OK, true));
    // Without the key, a second delete is the 404.
    let (status, reply) = call(store, &m, "DELETE", &path, "").await;
    error_message(status, &reply, StatusCode::NOT_FOUND, "NotFoundException");
    assert_eq!(store.count_orgs(&m.tenant).await.unwrap(), 0);
    assert_sound(store).await;
}
