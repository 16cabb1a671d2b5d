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
