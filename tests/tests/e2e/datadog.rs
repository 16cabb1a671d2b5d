//! Datadog's function through its real handler, with API Gateway v2 events, over DynamoDB Local.

use datadog_create_child_org::handler;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orgmint::{Store, TenantRef, Vendor};
use orgmint_cli::vendors::Provisioned;
use orgmint_tests::{assert_sound, body_json, event, request, store, tenant, with, Options};
use serde_json::{json, Value};

struct Keys {
    api: String,
    app: String,
    tenant: TenantRef,
}

async fn parent(store: &Store, options: Options) -> Keys {
    let p: Provisioned = tenant(store, &options).await;
    Keys {
        api: p.headers["DD-API-KEY"].as_str().unwrap().to_owned(),
        app: p.headers["DD-APPLICATION-KEY"].as_str().unwrap().to_owned(),
        tenant: p.tenant.tenant.clone(),
    }
}

/// A sample event with the parent's keys in place of its placeholders.
fn keyed(name: &str, keys: &Keys) -> Value {
    with(event(name), &[("dd-api-key", Some(&keys.api)), ("dd-application-key", Some(&keys.app))], None)
}

fn datadog(cap: u32) -> Options {
    Options { cap, ..Options::new(Vendor::Datadog) }
}

async fn send(store: &'static Store, api: Option<&str>, app: Option<&str>, body: &str) -> Response<Body> {
    let ev = with(
        event("datadog-create-success"),
        &[("dd-api-key", api), ("dd-application-key", app)],
        Some(body),
    );
    let response = handler(store, request(&ev)).await;
    assert!(response.headers().contains_key("x-request-id"));
    response
}

async fn create(store: &'static Store, keys: &Keys, body: &str) -> (StatusCode, Value) {
    let response = send(store, Some(&keys.api), Some(&keys.app), body).await;
    (response.status(), body_json(&response))
}

fn is_hex(v: &Value, len: usize) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[tokio::test]
async fn the_success_event_creates_a_child_organization_with_working_keys() {
    let store = store().await;
    let keys = parent(store, datadog(9)).await;
    let ev = keyed("datadog-create-success", &keys);
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let created = body_json(&response);
    assert!(is_hex(&created["api_key"]["key"], 32), "{created}");
    assert!(is_hex(&created["application_key"]["hash"], 40));
    assert!(is_hex(&created["org"]["public_id"], 12));
    assert_eq!(created["api_key"]["name"], "Default");
    let api_created = created["api_key"]["created"].as_str().unwrap();
    assert_eq!((api_created.len(), &api_created[10..11]), (19, " "), "{api_created}");
    let org_created = created["org"]["created"].as_str().unwrap();
    assert!(org_created.len() == 20 && org_created.ends_with('Z'), "{org_created}");
    assert_eq!(created["org"]["name"], "New child org");
    assert_eq!(created["org"]["billing"], json!({"type": "parent_billing"}));
    assert_eq!(created["org"]["subscription"], json!({"type": "pro"}));
    assert_eq!(created["org"]["trial"], false);
    assert_eq!(created["org"]["description"], "");
    assert_eq!(created["org"]["settings"]["saml_autocreate_access_role"], "st");
    assert_eq!(created["user"]["access_role"], "adm");
    assert_eq!(created["api_key"]["created_by"], created["user"]["handle"]);
    assert_eq!(created["application_key"]["owner"], created["user"]["handle"]);
    // Rate-limit headers, truthful: the first request of the window leaves limit - 1.
    assert_eq!(response.headers()["x-ratelimit-limit"], "120");
    assert_eq!(response.headers()["x-ratelimit-period"], "60");
    assert_eq!(response.headers()["x-ratelimit-name"], "org");
    assert!(response.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 1);

    // The child is a tenant of its own with the parent's cap and rate limit: its keys work at once, but
    // without the multi-organization feature it creates nothing (the parent's cap bounds everything).
    let child_keys = child_keys(&created);
    let child = store.tenant(&child_keys.tenant).await.unwrap().expect("the child is a tenant");
    assert_eq!((child.cap, child.rate_limit, child.org_count), (9, 120, 0));
    let (status, grandchild) = create(store, &child_keys, r#"{"name":"Grandchild"}"#).await;
    assert_eq!((status, grandchild), (StatusCode::FORBIDDEN, json!({"errors": ["Forbidden"]})));
    assert_eq!(store.count_orgs(&child_keys.tenant).await.unwrap(), 0);
    assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 1);
    assert_sound(store).await;
}

fn child_keys(created: &Value) -> Keys {
    Keys {
        api: created["api_key"]["key"].as_str().unwrap().to_owned(),
        app: created["application_key"]["hash"].as_str().unwrap().to_owned(),
        tenant: TenantRef::new(Vendor::Datadog, created["org"]["public_id"].as_str().unwrap()),
    }
}

#[tokio::test]
async fn a_nested_parents_children_create_their_own_under_the_parents_cap() {
    let store = store().await;
    let keys = parent(store, Options { nested: true, ..datadog(2) }).await;
    let (status, created) = create(store, &keys, r#"{"name":"Child"}"#).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let child_keys = child_keys(&created);
    for name in ["Grandchild 1", "Grandchild 2"] {
        let (status, grandchild) = create(store, &child_keys, &json!({ "name": name }).to_string()).await;
        assert_eq!(status, StatusCode::OK, "{grandchild}");
    }
    let (status, refused) = create(store, &child_keys, r#"{"name":"One too many"}"#).await;
    assert_eq!(
        (status, refused),
        (StatusCode::FORBIDDEN, json!({"errors": ["Maximum number of child organizations (2) reached"]}))
    );
    assert_eq!(store.count_orgs(&child_keys.tenant).await.unwrap(), 2);
    assert_sound(store).await;
}

#[tokio::test]
async fn key_checks_answer_in_datadogs_order_and_words() {
    let store = store().await;
    let keys = parent(store, datadog(100)).await;
    let other = parent(store, datadog(100)).await;
    let body = r#"{"name":"x"}"#;
    let forbidden = json!({"errors": ["Forbidden"]});
    let (unknown_api, unknown_app) = ("f".repeat(32), "e".repeat(40));
    let cases: Vec<(Option<&str>, Option<&str>, Value)> = vec![
        (None, None, json!({"errors": ["API key required"]})),
        (None, Some(&keys.app), json!({"errors": ["API key required"]})),
        (Some(&unknown_api), None, forbidden.clone()),
        (Some(&keys.api), None, json!({"errors": ["Application key required"]})),
        (Some(&keys.api), Some(&unknown_app), forbidden.clone()),
        // An API key of one parent with the application key of another.
        (Some(&keys.api), Some(&other.app), forbidden.clone()),
        // Keys in each other's places.
        (Some(&keys.app), Some(&keys.api), forbidden.clone()),
    ];
    for (api, app, expected) in cases {
        let response = send(store, api, app, body).await;
        assert_eq!(
            (response.status(), body_json(&response)),
            (StatusCode::FORBIDDEN, expected),
            "{api:?} {app:?}"
        );
        assert!(
            response.headers().get("x-ratelimit-limit").is_none(),
            "failed authentication is not counted"
        );
    }
    let no_keys = handler(store, request(&event("datadog-no-keys"))).await;
    assert_eq!(body_json(&no_keys), json!({"errors": ["API key required"]}));
    // The sample event's placeholder keys are not keys.
    assert_eq!(
        handler(store, request(&event("datadog-create-success"))).await.status(),
        StatusCode::FORBIDDEN
    );
    // A Devin key is nothing here.
    let devin = tenant(store, &Options::new(Vendor::Devin)).await;
    let devin_key = devin.headers["Authorization"].as_str().unwrap().trim_start_matches("Bearer ");
    assert_eq!(send(store, Some(devin_key), Some(devin_key), body).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 0);
}

/// Datadog's v1 spec still lists `?api_key=…&application_key=…`: accepted, and headers win over them.
#[tokio::test]
async fn the_deprecated_query_string_keys_work_and_headers_win() {
    let store = store().await;
    let keys = parent(store, datadog(100)).await;
    let other = parent(store, datadog(100)).await;
    let with_query = |headers: &[(&str, Option<&str>)], api: &str, app: &str, name: &str| {
        let mut ev =
            with(event("datadog-create-success"), headers, Some(&json!({ "name": name }).to_string()));
        ev["rawQueryString"] = json!(format!("api_key={api}&application_key={app}"));
        ev["queryStringParameters"] = json!({"api_key": api, "application_key": app});
        handler(store, request(&ev))
    };
    let no_headers = [("dd-api-key", None), ("dd-application-key", None)];
    let response = with_query(&no_headers, &keys.api, &keys.app, "Via query").await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body_json(&response));
    // Headers win: the other parent's keys in the query change nothing, and bad headers are not rescued.
    let headers = [("dd-api-key", Some(keys.api.as_str())), ("dd-application-key", Some(keys.app.as_str()))];
    assert_eq!(with_query(&headers, &other.api, &other.app, "Headers win").await.status(), StatusCode::OK);
    let bad = [("dd-api-key", Some("f".repeat(32))), ("dd-application-key", Some(keys.app.clone()))];
    let bad: Vec<(&str, Option<&str>)> = bad.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    let response = with_query(&bad, &keys.api, &keys.app, "Not rescued").await;
    assert_eq!(
        (response.status(), body_json(&response)),
        (StatusCode::FORBIDDEN, json!({"errors": ["Forbidden"]}))
    );
    assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 2);
    assert_eq!(store.count_orgs(&other.tenant).await.unwrap(), 0);
    assert_sound(store).await;
}

#[tokio::test]
async fn without_org_management_or_multi_org_it_is_forbidden() {
    let store = store().await;
    for options in
        [Options { restricted: true, ..datadog(100) }, Options { no_multi_org: true, ..datadog(100) }]
    {
        let keys = parent(store, options).await;
        let response = send(store, Some(&keys.api), Some(&keys.app), r#"{"name":"x"}"#).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(body_json(&response), json!({"errors": ["Forbidden"]}));
        assert_eq!(response.headers()["x-ratelimit-limit"], "120", "an authenticated refusal is counted");
        assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn bad_bodies_are_400_with_what_is_wrong_and_write_nothing() {
    let store = store().await;
    let keys = parent(store, datadog(100)).await;
    let cases = [
        ("", "required"),
        ("{", "Invalid JSON"),
        ("name=x", "Invalid JSON"),
        ("[]", "JSON object"),
        ("{}", "'name' is required"),
        (r#"{"name":null}"#, "'name' is required"),
        (r#"{"name":12}"#, "'name' must be a string"),
        (r#"{"name":""}"#, "blank"),
        (r#"{"name":"   "}"#, "blank"),
        ("{\"name\":\"a\\u0000b\"}", "control characters"),
        (r#"{"name":"123456789012345678901234567890123"}"#, "at most 32 characters"),
        (
            r#"{"name":"x","billing":{"type":"own_billing"}}"#,
            "'billing.type' must be one of 'parent_billing'",
        ),
        (r#"{"name":"x","billing":"parent_billing"}"#, "'billing' must be an object"),
        (r#"{"name":"x","subscription":{"type":"enterprise"}}"#, "'subscription.type' must be one of"),
        (r#"{"name":"x","subscription":{"type":1}}"#, "'subscription.type' must be a string"),
    ];
    for (body, expected) in cases {
        let (status, reply) = create(store, &keys, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
        let message = reply["errors"][0].as_str().unwrap_or_else(|| panic!("{body}: {reply}"));
        assert!(message.contains(expected), "{body}: {message}");
    }
    let ev = with(
        event("datadog-create-success"),
        &[
            ("dd-api-key", Some(&keys.api)),
            ("dd-application-key", Some(&keys.app)),
            ("content-type", Some("text/plain")),
        ],
        None,
    );
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(&response)["errors"][0].as_str().unwrap().contains("Content-Type"));
    let (status, reply) = create(store, &keys, &format!(r#"{{"name":"{}"}}"#, "x".repeat(70_000))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply["errors"].is_array());
    assert_eq!(store.count_orgs(&keys.tenant).await.unwrap(), 0);
    // 32 characters are fine, however many bytes they take.
    let (status, reply) = create(store, &keys, &format!(r#"{{"name":"{}"}}"#, "ü".repeat(32))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, trial) = create(store, &keys, r#"{"name":"Trial","subscription":{"type":"trial"}}"#).await;
    assert_eq!(
        (&trial["org"]["trial"], &trial["org"]["subscription"]["type"]),
        (&json!(true), &json!("trial"))
    );
    assert_sound(store).await;
}

#[tokio::test]
async fn the_missing_name_event_is_a_400() {
    let store = store().await;
    let keys = parent(store, datadog(100)).await;
    let ev = keyed("datadog-missing-name", &keys);
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&response), json!({"errors": ["'name' is required"]}));
}

// ---- the organizations around the create: list, get, update (issue 17; Datadog has no delete) ---------

/// `method path` through its function's real handler, with `p`'s keys.
async fn org_call(
    store: &'static Store,
    p: &orgmint_cli::vendors::Provisioned,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let function = match (method, path) {
        ("GET", "/api/v1/org") => "datadog-list-orgs",
        ("GET", _) => "datadog-get-org",
        _ => "datadog-update-org",
    };
    let mut ev = orgmint_tests::tenant_event(p, &[], Some(body));
    ev["requestContext"]["http"]["method"] = json!(method);
    orgmint_cli::events::aim(&mut ev, path);
    if let Some(public_id) = path.strip_prefix("/api/v1/org/") {
        ev["pathParameters"] = json!({"public_id": public_id});
    }
    let response = orgmint_cli::registry::endpoint_handler(function, store, request(&ev)).await.unwrap();
    (response.status(), body_json(&response))
}

#[tokio::test]
async fn parents_list_read_and_rename_their_children_only() {
    let store = store().await;
    let parent = tenant(store, &Options { rate_limit: Some(0), ..Options::new(Vendor::Datadog) }).await;
    let other = tenant(store, &Options { rate_limit: Some(0), ..Options::new(Vendor::Datadog) }).await;
    let mut ids = Vec::new();
    for name in ["First", "Second"] {
        let ev = orgmint_tests::tenant_event(&parent, &[], Some(&json!({"name": name}).to_string()));
        let created = body_json(&handler(store, request(&ev)).await);
        ids.push(created["org"]["public_id"].as_str().unwrap().to_owned());
    }
    let (status, listed) = org_call(store, &parent, "GET", "/api/v1/org", "").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let names: Vec<&str> =
        listed["orgs"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["First", "Second"]);
    assert_eq!(org_call(store, &other, "GET", "/api/v1/org", "").await.1["orgs"], json!([]));
    let path = format!("/api/v1/org/{}", ids[0]);
    let (status, got) = org_call(store, &parent, "GET", &path, "").await;
    assert_eq!((status, got["org"]["public_id"].as_str()), (StatusCode::OK, Some(ids[0].as_str())));
    let (status, updated) = org_call(
        store,
        &parent,
        "PUT",
        &path,
        r#"{"name":"Renamed","settings":{"private_widget_share":true}}"#,
    )
    .await;
    assert_eq!((status, updated["org"]["name"].as_str()), (StatusCode::OK, Some("Renamed")), "{updated}");
    assert_eq!(updated["org"]["settings"]["private_widget_share"], true);
    assert_eq!(updated["org"]["settings"]["saml_autocreate_access_role"], "st", "settings merge");
    // Bad bodies: Datadog's 400 with each problem.
    let (status, body) = org_call(store, &parent, "PUT", &path, r#"{"name":"","settings":3}"#).await;
    assert_eq!(
        (status, body["errors"].as_array().map(Vec::len)),
        (StatusCode::BAD_REQUEST, Some(2)),
        "{body}"
    );
    // Another parent's child: Datadog's 403, unchanged.
    for (method, body) in [("GET", ""), ("PUT", r#"{"name":"Hijacked"}"#)] {
        let (status, reply) = org_call(store, &other, method, &path, body).await;
        assert_eq!((status, &reply), (StatusCode::FORBIDDEN, &json!({"errors": ["Forbidden"]})), "{method}");
    }
    assert_eq!(org_call(store, &parent, "GET", &path, "").await.1["org"]["name"], "Renamed");
    assert_sound(store).await;
}
