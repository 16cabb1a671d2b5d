//! Devin's function through its real handler, with API Gateway v2 events, over DynamoDB Local.

use devin_create_enterprise_organization::handler;
use lambda_http::http::StatusCode;
use orgmint::{Store, TenantRef, Vendor};
use orgmint_tests::{assert_sound, authorization, body_json, event, request, store, tenant, with, Options};
use serde_json::{json, Value};

async fn devin(store: &Store, cap: u32) -> (String, TenantRef) {
    let p = tenant(store, &Options { cap, ..Options::new(Vendor::Devin) }).await;
    (authorization(&p), p.tenant.tenant.clone())
}

async fn create(store: &'static Store, auth: Option<&str>, body: &str) -> (StatusCode, Value) {
    let ev = with(event("devin-create-success"), &[("authorization", auth)], Some(body));
    let response = handler(store, request(&ev)).await;
    assert!(response.headers().contains_key("x-request-id"));
    (response.status(), body_json(&response))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn the_success_event_creates_an_organization() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    let ev = with(event("devin-create-success"), &[("authorization", Some(&auth))], None);
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "evt-create-success");
    let org = body_json(&response);
    let id = org["org_id"].as_str().unwrap();
    assert!(id.starts_with("org-") && is_hex(&id[4..], 32), "{id}");
    assert_eq!(org["org_name"], "Acme Research");
    assert_eq!(org["max_cycle_acu_limit"], 500);
    assert_eq!(org["max_session_acu_limit"], Value::Null);
    assert_eq!(
        (&org["org_admin_count"], &org["org_member_count"], &org["org_user_count"]),
        (&json!(1), &json!(1), &json!(1))
    );
    let created = org["created_at"].as_str().unwrap();
    assert!(created.len() == 20 && created.ends_with('Z') && &created[10..11] == "T", "{created}");
    // Stored, counted, and its creator is a member.
    let orgs = store.orgs(&tenant).await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].id, id);
    assert_eq!(store.tenant(&tenant).await.unwrap().unwrap().org_count, 1);
    let members = store.members(Vendor::Devin, id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, "admin");
    assert_sound(store).await;
}

#[tokio::test]
async fn without_the_creator_as_member_the_counts_are_zero() {
    let store = store().await;
    let (auth, _) = devin(store, 100).await;
    let (status, org) =
        create(store, Some(&auth), r#"{"display_name":"Solo","add_creator_as_member":false}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&org["org_admin_count"], &org["org_member_count"], &org["org_user_count"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(org["max_cycle_acu_limit"], Value::Null);
    assert!(store.members(Vendor::Devin, org["org_id"].as_str().unwrap()).await.unwrap().is_empty());
}

#[tokio::test]
async fn authentication_failures_are_401_as_fastapi_answers() {
    let store = store().await;
    let ev = event("devin-no-auth");
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(body_json(&response), json!({"detail": "Not authenticated"}));

    let body = r#"{"display_name":"x"}"#;
    assert_eq!(
        create(store, Some("Basic dXNlcjpwYXNz"), body).await,
        (StatusCode::UNAUTHORIZED, json!({"detail": "Not authenticated"}))
    );
    assert_eq!(
        create(store, Some("Bearer"), body).await,
        (StatusCode::UNAUTHORIZED, json!({"detail": "Not authenticated"}))
    );
    let unknown = "Bearer apk_user_0000000000000000000000000000000000000000";
    assert_eq!(
        create(store, Some(unknown), body).await,
        (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid API key"}))
    );
    assert_eq!(
        create(store, Some("Bearer cog_notadevinkey"), body).await,
        (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid API key"}))
    );
    // The placeholder key of the sample event is not a key.
    let response = handler(store, request(&event("devin-create-success"))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_key_is_refused_from_its_expiry_on() {
    let store = store().await;
    let expired = tenant(store, &Options { key_ttl: Some(0), ..Options::new(Vendor::Devin) }).await;
    let live = tenant(store, &Options { key_ttl: Some(3600), ..Options::new(Vendor::Devin) }).await;
    let body = r#"{"display_name":"x"}"#;
    assert_eq!(
        create(store, Some(&authorization(&expired)), body).await,
        (StatusCode::UNAUTHORIZED, json!({"detail": "API key has expired"}))
    );
    assert_eq!(create(store, Some(&authorization(&live)), body).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_key_that_is_not_an_enterprise_admin_is_forbidden() {
    let store = store().await;
    let p = tenant(store, &Options { restricted: true, ..Options::new(Vendor::Devin) }).await;
    let (status, body) = create(store, Some(&authorization(&p)), r#"{"display_name":"x"}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("Enterprise admin"));
    assert_eq!(store.count_orgs(&p.tenant.tenant).await.unwrap(), 0);
}

#[tokio::test]
async fn the_cap_is_403_naming_it_and_nothing_is_written() {
    let store = store().await;
    let (auth, tenant) = devin(store, 2).await;
    for _ in 0..2 {
        assert_eq!(create(store, Some(&auth), r#"{"display_name":"x"}"#).await.0, StatusCode::OK);
    }
    assert_eq!(
        create(store, Some(&auth), r#"{"display_name":"x"}"#).await,
        (StatusCode::FORBIDDEN, json!({"detail": "Enterprise organization limit reached (2)"}))
    );
    assert_eq!(store.count_orgs(&tenant).await.unwrap(), 2);
    assert_sound(store).await;
}

#[tokio::test]
async fn the_missing_display_name_event_is_a_pydantic_422() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    let ev = with(event("devin-missing-display-name"), &[("authorization", Some(&auth))], None);
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(&response),
        json!({"detail": [{"type": "missing", "loc": ["body", "display_name"], "msg": "Field required", "input": {"acu_limit": 500}}]})
    );
    assert_eq!(store.count_orgs(&tenant).await.unwrap(), 0);
}

#[tokio::test]
async fn every_validation_case_is_a_422_and_writes_nothing() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("", &[("missing", "body")]),
        ("{", &[("json_invalid", "body")]),
        ("not json", &[("json_invalid", "body")]),
        ("[]", &[("model_attributes_type", "body")]),
        ("\"Acme\"", &[("model_attributes_type", "body")]),
        ("null", &[("model_attributes_type", "body")]),
        ("{}", &[("missing", "display_name")]),
        (r#"{"display_name":null}"#, &[("string_type", "display_name")]),
        (r#"{"display_name":42}"#, &[("string_type", "display_name")]),
        (r#"{"display_name":"a","acu_limit":"lots"}"#, &[("int_parsing", "acu_limit")]),
        (r#"{"display_name":"a","acu_limit":2.5}"#, &[("int_from_float", "acu_limit")]),
        (r#"{"display_name":"a","acu_limit":{}}"#, &[("int_type", "acu_limit")]),
        (
            r#"{"display_name":"a","add_creator_as_member":"perhaps"}"#,
            &[("bool_parsing", "add_creator_as_member")],
        ),
        (r#"{"display_name":"a","add_creator_as_member":[]}"#, &[("bool_type", "add_creator_as_member")]),
        (
            r#"{"display_name":7,"acu_limit":"x","add_creator_as_member":2}"#,
            &[
                ("string_type", "display_name"),
                ("int_parsing", "acu_limit"),
                ("bool_parsing", "add_creator_as_member"),
            ],
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) = create(store, Some(&auth), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {reply}");
        let got: Vec<(String, String)> = reply["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}: {reply}"))
            .iter()
            .map(|d| {
                let loc = d["loc"].as_array().unwrap();
                assert_eq!(loc[0], "body");
                let last = loc.last().unwrap();
                let field = if loc.len() == 1 || last.is_number() {
                    "body".to_owned()
                } else {
                    last.as_str().unwrap().to_owned()
                };
                assert!(d["msg"].is_string() && d.get("input").is_some(), "{d}");
                (d["type"].as_str().unwrap().to_owned(), field)
            })
            .collect();
        let expected: Vec<(String, String)> =
            expected.iter().map(|(t, f)| ((*t).to_owned(), (*f).to_owned())).collect();
        assert_eq!(got, expected, "{body}");
    }
    assert_eq!(store.count_orgs(&tenant).await.unwrap(), 0);
    assert_sound(store).await;
}

/// Devin's published schema sets no `minLength` on `display_name` and no `minimum` on `acu_limit`.
#[tokio::test]
async fn empty_and_blank_names_and_negative_limits_are_accepted_as_devins_schema_allows() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    for (body, name, limit) in [
        (r#"{"display_name":""}"#, "", Value::Null),
        (r#"{"display_name":" \t "}"#, " \t ", Value::Null),
        ("{\"display_name\":\"a\\nb\",\"acu_limit\":-5}", "a\nb", json!(-5)),
    ] {
        let (status, org) = create(store, Some(&auth), body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {org}");
        assert_eq!((&org["org_name"], &org["max_cycle_acu_limit"]), (&json!(name), &limit), "{body}");
    }
    assert_eq!(store.count_orgs(&tenant).await.unwrap(), 3);
    assert_sound(store).await;
}

#[tokio::test]
async fn lax_values_are_coerced_as_pydantic_does() {
    let store = store().await;
    let (auth, _) = devin(store, 100).await;
    let (status, org) = create(
        store,
        Some(&auth),
        r#"{"display_name":"Lax","acu_limit":"25","add_creator_as_member":"no","extra":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["max_cycle_acu_limit"], 25);
    assert_eq!(org["org_user_count"], 0);
}

#[tokio::test]
async fn wrong_content_types_and_oversized_bodies_are_refused() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    let ev = with(
        event("devin-create-success"),
        &[("authorization", Some(&auth)), ("content-type", Some("text/plain"))],
        Some(r#"{"display_name":"x"}"#),
    );
    let response = handler(store, request(&ev)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(&response)["detail"][0]["type"], "model_attributes_type");

    let ev = with(
        event("devin-create-success"),
        &[("authorization", Some(&auth)), ("content-type", Some("application/json; charset=utf-8"))],
        Some(r#"{"display_name":"x"}"#),
    );
    assert_eq!(handler(store, request(&ev)).await.status(), StatusCode::OK);

    let huge = format!(r#"{{"display_name":"{}"}}"#, "a".repeat(70_000));
    let (status, reply) = create(store, Some(&auth), &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply["detail"].is_string());
    assert_eq!(store.count_orgs(&tenant).await.unwrap(), 1);
}

#[tokio::test]
async fn the_rate_limit_counts_every_authenticated_request_and_refuses_past_it() {
    let store = store().await;
    let p = tenant(store, &Options { rate_limit: Some(3), ..Options::new(Vendor::Devin) }).await;
    let auth = authorization(&p);
    let send = |body: &'static str| {
        let ev = with(event("devin-create-success"), &[("authorization", Some(&auth))], Some(body));
        handler(store, request(&ev))
    };
    let header = |r: &lambda_http::Response<lambda_http::Body>, name: &str| {
        r.headers().get(name).map(|v| v.to_str().unwrap().parse::<u32>().unwrap())
    };
    let first = send(r#"{"display_name":"one"}"#).await;
    let second = send(r#"{"acu_limit":1}"#).await; // a 422 counts too
    let third = send(r#"{"display_name":"three"}"#).await;
    let fourth = send(r#"{"display_name":"four"}"#).await;
    // Unless the minute turned mid-test, the fourth is refused and nothing of it is written.
    if header(&fourth, "x-ratelimit-reset") <= header(&first, "x-ratelimit-reset") {
        assert_eq!(
            [first.status(), second.status(), third.status(), fourth.status()],
            [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]
        );
        assert_eq!(
            [&first, &second, &third, &fourth].map(|r| header(r, "x-ratelimit-remaining")),
            [Some(2), Some(1), Some(0), Some(0)]
        );
        assert_eq!(body_json(&fourth), json!({"detail": "Rate limit exceeded: 3 per 1 minute"}));
        assert!(header(&fourth, "retry-after").is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(store.count_orgs(&p.tenant.tenant).await.unwrap(), 2);
    }
    assert_eq!(header(&first, "x-ratelimit-limit"), Some(3));
    // Failed authentication is neither counted nor told about limits.
    let anonymous = handler(store, request(&event("devin-no-auth"))).await;
    assert!(anonymous.headers().get("x-ratelimit-limit").is_none());
}

// ---- the lifecycle around the create: list, update, delete (issue 17) ---------------------------------

/// `method path` through its function's real handler, as the enterprise key `auth` sends it.
async fn call(
    store: &'static Store,
    method: &str,
    path_and_query: &str,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let function = match method {
        "GET" => "devin-list-enterprise-organizations",
        "PATCH" => "devin-update-enterprise-organization",
        _ => "devin-delete-enterprise-organization",
    };
    let mut ev = with(event("devin-create-success"), &[("authorization", auth)], Some(body));
    ev["requestContext"]["http"]["method"] = json!(method);
    orgmint_cli::events::aim(&mut ev, path_and_query);
    if let Some(org_id) = ev["rawPath"].as_str().unwrap().strip_prefix("/v2/enterprise/organizations/") {
        ev["pathParameters"] = json!({"org_id": org_id});
    }
    let response = orgmint_cli::registry::endpoint_handler(function, store, request(&ev)).await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    (response.status(), body_json(&response))
}

async fn created(store: &'static Store, auth: &str, name: &str) -> String {
    let (status, org) = create(store, Some(auth), &json!({"display_name": name}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    org["org_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_list_pages_oldest_first_with_devins_pagination() {
    let store = store().await;
    let (auth, _) = devin(store, 100).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(created(store, &auth, &format!("Org {i}")).await);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (status, page) = call(store, "GET", "/v2/enterprise/organizations?limit=2", Some(&auth), "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|o| o["org_id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids[..2]);
    assert_eq!(
        (page["has_more"].as_bool(), page["total"].as_u64(), page["skip"].as_u64(), page["limit"].as_u64()),
        (Some(true), Some(5), Some(0), Some(2))
    );
    assert_eq!(page["next_cursor"], 2);
    assert_eq!(page["items"][0]["org_name"], "Org 0");
    let (_, last) = call(store, "GET", "/v2/enterprise/organizations?skip=4&limit=2", Some(&auth), "").await;
    assert_eq!(
        (last["items"].as_array().unwrap().len(), last["has_more"].as_bool(), &last["next_cursor"]),
        (1, Some(false), &Value::Null)
    );
    let (_, all) = call(store, "GET", "/v2/enterprise/organizations", Some(&auth), "").await;
    assert_eq!((all["items"].as_array().unwrap().len(), all["limit"].as_u64()), (5, Some(100)));
    // FastAPI's query validation, every problem at once.
    for (query, kind) in [
        ("limit=0", "greater_than_equal"),
        ("limit=201", "less_than_equal"),
        ("skip=-1", "greater_than_equal"),
        ("limit=abc", "int_parsing"),
    ] {
        let (status, body) =
            call(store, "GET", &format!("/v2/enterprise/organizations?{query}"), Some(&auth), "").await;
        assert_eq!(
            (status, body["detail"][0]["type"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(kind)),
            "{query}: {body}"
        );
    }
    let (_, both) =
        call(store, "GET", "/v2/enterprise/organizations?skip=x&limit=500", Some(&auth), "").await;
    assert_eq!(both["detail"].as_array().unwrap().len(), 2, "{both}");
    // Another enterprise sees none of them.
    let (other, _) = devin(store, 100).await;
    let (_, theirs) = call(store, "GET", "/v2/enterprise/organizations", Some(&other), "").await;
    assert_eq!(theirs["total"], 0);
}

#[tokio::test]
async fn updates_change_the_name_and_limit_of_the_enterprises_orgs_only() {
    let store = store().await;
    let (auth, tenant) = devin(store, 100).await;
    let id = created(store, &auth, "Before").await;
    let path = format!("/v2/enterprise/organizations/{id}");
    let (status, body) =
        call(store, "PATCH", &path, Some(&auth), r#"{"display_name":"After","max_acu_limit":2000}"#).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({"status": "success"})));
    let (_, page) = call(store, "GET", "/v2/enterprise/organizations", Some(&auth), "").await;
    assert_eq!(
        (page["items"][0]["org_name"].as_str(), page["items"][0]["max_cycle_acu_limit"].as_i64()),
        (Some("After"), Some(2000))
    );
    assert_eq!(store.org(&tenant, &id).await.unwrap().unwrap().name, "After");
    // null removes the limit; a field not sent stays.
    call(store, "PATCH", &path, Some(&auth), r#"{"max_acu_limit":null}"#).await;
    let (_, page) = call(store, "GET", "/v2/enterprise/organizations", Some(&auth), "").await;
    assert_eq!(
        (page["items"][0]["org_name"].as_str(), &page["items"][0]["max_cycle_acu_limit"]),
        (Some("After"), &Value::Null)
    );
    // pydantic's errors.
    let (status, body) =
        call(store, "PATCH", &path, Some(&auth), r#"{"display_name":5,"max_acu_limit":"x"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<&str> =
        body["detail"].as_array().unwrap().iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["string_type", "int_parsing"]);
    // Unknown, and another enterprise's: 404, unchanged.
    let (other, _) = devin(store, 100).await;
    for (who, path) in [(&auth, "/v2/enterprise/organizations/org-nope".to_owned()), (&other, path.clone())] {
        let (status, body) = call(store, "PATCH", &path, Some(who), r#"{"display_name":"Hijacked"}"#).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &json!({"detail": "Organization not found"})));
    }
    assert_eq!(store.org(&tenant, &id).await.unwrap().unwrap().name, "After");
}

#[tokio::test]
async fn a_delete_frees_the_slot_and_a_second_is_404() {
    let store = store().await;
    let (auth, tenant) = devin(store, 2).await;
    let (first, _) = (created(store, &auth, "One").await, created(store, &auth, "Two").await);
    assert_eq!(create(store, Some(&auth), r#"{"display_name":"Three"}"#).await.0, StatusCode::FORBIDDEN);
    // Another enterprise cannot delete it; a key without the admin role cannot either.
    let (other, _) = devin(store, 2).await;
    let path = format!("/v2/enterprise/organizations/{first}");
    assert_eq!(call(store, "DELETE", &path, Some(&other), "").await.0, StatusCode::NOT_FOUND);
    let member = tenant_of_role(store).await;
    let (status, body) = call(store, "DELETE", &path, Some(&member), "").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::FORBIDDEN, Some("Enterprise admin permissions are required to delete organizations"))
    );
    assert_eq!(call(store, "DELETE", &path, None, "").await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = call(store, "DELETE", &path, Some(&auth), "").await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({"status": "success"})));
    assert_eq!(store.tenant(&tenant).await.unwrap().unwrap().org_count, 1);
    assert!(store.members(Vendor::Devin, &first).await.unwrap().is_empty(), "memberships went with it");
    assert_eq!(call(store, "DELETE", &path, Some(&auth), "").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        create(store, Some(&auth), r#"{"display_name":"Three"}"#).await.0,
        StatusCode::OK,
        "the slot is free"
    );
    assert_sound(store).await;
}

/// The key of a Devin tenant made with `--restricted`: authenticated, not an enterprise admin.
async fn tenant_of_role(store: &Store) -> String {
    authorization(&tenant(store, &Options { restricted: true, ..Options::new(Vendor::Devin) }).await)
}
