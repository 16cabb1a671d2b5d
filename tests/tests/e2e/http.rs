//! Over HTTP, exactly as a user runs it: the `orgmint` CLI provisions a tenant, `cargo lambda watch` serves
//! the workspace's router, and plain HTTP requests create organizations.

use std::path::PathBuf;

use base64::Engine;
use std::process::Command;
use std::time::Instant;

use orgmint_tests::{
    envelope_problem, heavy, http, http_bytes, log_lines, orgmint, orgmint_binary, root, store, Watch,
};
use serde_json::{json, Value};

/// `orgmint tenant show` agrees: the cap, and the counter equal to the organizations stored.
fn assert_tenant(table: &str, vendor: &str, tenant: &str, user: Option<&str>, cap: u64, orgs: u64) {
    let mut args = vec!["tenant", "show", "--vendor", vendor, "--tenant", tenant, "--json"];
    if let Some(user) = user {
        args.extend(["--user", user]);
    }
    let shown = orgmint(table, &args);
    assert_eq!(
        (shown["cap"].as_u64(), shown["org_count"].as_u64(), shown["orgs"].as_u64()),
        (Some(cap), Some(orgs), Some(orgs)),
        "{shown}"
    );
}

/// `orgmint verify` finds every invariant of the table holding.
fn assert_verified(table: &str) {
    let verified = orgmint(table, &["verify", "--json"]);
    assert_eq!(verified["ok"], true, "{verified}");
}

/// Datadog's two official clients, Python (`datadog-api-client`, PyPI) and TypeScript
/// (`@datadog/datadog-api-client`, npm), each against a parent of its own, over HTTP.
#[tokio::test(flavor = "multi_thread")]
async fn datadogs_official_python_and_typescript_clients_work_unchanged() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let parent = |cap: &str| {
        orgmint(&table, &["tenant", "create", "--vendor", "datadog", "--cap", cap, "--nested", "--json"])
    };
    let (python_parent, typescript_parent) = (parent("5"), parent("2"));
    assert_eq!(python_parent["path"], "/api/v1/org");
    let watch = Watch::start(&table);
    let run = |program: PathBuf, script: &str, parent: &Value| {
        let out = Command::new(program)
            .arg(root().join("tests/clients").join(script))
            .env("ORGMINT_URL", format!("http://127.0.0.1:{}", watch.port))
            .env("DD_API_KEY", parent["headers"]["DD-API-KEY"].as_str().unwrap())
            .env("DD_APP_KEY", parent["headers"]["DD-APPLICATION-KEY"].as_str().unwrap())
            .env("NODE_PATH", root().join(".tools/node_modules"))
            .output()
            .expect("the client's interpreter (make test installs both clients)");
        assert!(
            out.status.success(),
            "{script} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let python = run(root().join(".tools/venv/bin/python"), "datadog_client.py", &python_parent);
    let typescript = run(PathBuf::from("node"), "datadog_client.js", &typescript_parent);
    drop(watch);
    // --nested: each child created a grandchild, under its parent's cap.
    assert_tenant(&table, "datadog", python["child"].as_str().unwrap(), None, 5, 1);
    assert_tenant(&table, "datadog", typescript["child"].as_str().unwrap(), None, 2, 1);
    let typescript_parent = typescript_parent["tenant"].as_str().unwrap();
    assert_tenant(&table, "datadog", typescript_parent, None, 2, 2);
    assert_verified(&table);
}

#[tokio::test(flavor = "multi_thread")]
async fn devin_over_http_through_cargo_lambda_watch() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let tenant = orgmint(&table, &["tenant", "create", "--vendor", "devin", "--cap", "5", "--json"]);
    assert_eq!(tenant["vendor"], "devin");
    assert_eq!(tenant["path"], "/v2/enterprise/organizations");
    let auth = tenant["headers"]["Authorization"].as_str().unwrap().to_owned();
    assert!(auth.starts_with("Bearer apk_user_"));

    let watch = Watch::start(&table);
    let port = watch.port;
    let post = move |body: String| {
        let auth = auth.clone();
        std::thread::spawn(move || {
            http(
                port,
                "POST",
                "/v2/enterprise/organizations",
                &[("authorization", &auth), ("content-type", "application/json")],
                &body,
            )
        })
    };

    // The first request waits for watch to start the function.
    let (status, headers, body) = post(r#"{"display_name":"Over HTTP"}"#.into()).join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(headers.iter().any(|(k, v)| k == "x-request-id" && !v.is_empty()));
    let org: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(org["org_name"], "Over HTTP");
    assert!(org["org_id"].as_str().unwrap().starts_with("org-"));

    // Concurrent requests are served concurrently, and the cap holds over HTTP.
    let threads: Vec<_> = (0..12).map(|i| post(format!(r#"{{"display_name":"Org {i}"}}"#))).collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap().0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 8, "{statuses:?}");

    // A route that does not exist is watch's own 404, and a malformed body is a 422, not a 5xx.
    let (status, _, _) = http(port, "POST", "/v2/nowhere", &[], "{}");
    assert_eq!(status, 404);
    let (status, _, body) = post("{not json".into()).join().unwrap();
    assert_eq!(status, 422, "{body}");
    let log = watch.stop();

    // One JSON log line per request, with the round trips: two for each create. No secret in any line.
    let lines = log_lines(&log, Some("POST /v2/enterprise/organizations"));
    assert_eq!(lines.len(), 1 + 12 + 1, "{log}");
    let created: Vec<&Value> = lines.iter().filter(|l| l["status"] == 200).collect();
    assert_eq!(created.len(), 5);
    assert!(
        created.iter().all(|l| l["dynamodb_round_trips"] == 2 && l["request_id"].is_string()),
        "{created:?}"
    );
    assert!(lines.iter().filter(|l| l["status"] == 403).all(|l| l["error"] == "cap_reached"));
    // Every line names the function, the vendor, the caller's tenant and the outcome in one vocabulary.
    let tenant_id = tenant["tenant"].as_str().unwrap();
    for line in &lines {
        assert_eq!(
            (&line["function"], &line["vendor"], &line["tenant"], &line["replayed"]),
            (
                &json!("devin-create-enterprise-organization"),
                &json!("devin"),
                &json!(tenant_id),
                &json!(false)
            ),
            "{line}"
        );
    }
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "created").count(), 5, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "cap_reached").count(), 8, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "invalid").count(), 1, "{outcomes:?}");
    let secret = tenant["headers"]["Authorization"].as_str().unwrap().trim_start_matches("Bearer ");
    assert!(!log.contains(secret), "a secret reached the log");

    // CloudWatch Embedded Metric Format after each request: namespace orgmint, dimensions function and
    // vendor only (no tenant), counters that add up to what was served, DynamoDB and request latencies.
    let emf: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(!emf.is_empty(), "no EMF document in {log}");
    for doc in &emf {
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            (&declared["Namespace"], &declared["Dimensions"]),
            (&json!("orgmint"), &json!([["function", "vendor"]]))
        );
        assert_eq!(
            (&doc["function"], &doc["vendor"]),
            (&json!("devin-create-enterprise-organization"), &json!("devin"))
        );
        assert!(doc.get("tenant").is_none(), "{doc}");
    }
    let total = |name: &str| emf.iter().filter_map(|d| d[name].as_f64()).sum::<f64>();
    assert_eq!((total("Creates"), total("CapReached")), (5.0, 8.0));
    assert!(emf.iter().any(|d| d["DynamoDbLatency"].is_number() || d["DynamoDbLatency"].is_array()));
    assert!(emf.iter().any(|d| d["Latency"].is_number() || d["Latency"].is_array()));

    assert_tenant(&table, "devin", tenant["tenant"].as_str().unwrap(), None, 5, 5);
    assert_verified(&table);
}

#[tokio::test(flavor = "multi_thread")]
async fn calcom_over_http_through_cargo_lambda_watch() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let manager =
        orgmint(&table, &["tenant", "create", "--vendor", "calcom", "--cap", "5", "--nested", "--json"]);
    assert_eq!(manager["vendor"], "calcom");
    let org_id = manager["tenant"].as_str().unwrap().to_owned();
    assert!(org_id.parse::<u64>().is_ok_and(|id| id > 0 && id < (1 << 53)), "{org_id}");
    let path = format!("/v2/organizations/{org_id}/organizations");
    assert_eq!(manager["path"], path.as_str());
    let auth = manager["headers"]["Authorization"].as_str().unwrap().to_owned();
    assert!(auth.starts_with("Bearer cal_") && auth.len() == 7 + 36, "{auth}");
    let client_id = manager["platform_headers"]["x-cal-client-id"].as_str().unwrap().to_owned();
    let secret = manager["platform_headers"]["x-cal-secret-key"].as_str().unwrap().to_owned();

    let watch = Watch::start(&table);
    let port = watch.port;
    let post = move |path: String, headers: Vec<(String, String)>, body: String| {
        std::thread::spawn(move || {
            let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
            all.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            http(port, "POST", &path, &all, &body)
        })
    };
    let bearer = |auth: &str| vec![("authorization".to_owned(), auth.to_owned())];

    // The first request waits for watch to start the function.
    let (status, headers, body) =
        post(path.clone(), bearer(&auth), r#"{"name":"Café Über Team!","metadata":{"k":"v"}}"#.into())
            .join()
            .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(headers.iter().any(|(k, v)| k == "x-request-id" && !v.is_empty()));
    assert!(headers.iter().any(|(k, v)| k == "x-ratelimit-remaining-default" && v == "119"), "{headers:?}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["status"], "success");
    assert_eq!(created["data"]["slug"], "cafe-uber-team");
    let new_id = created["data"]["id"].as_u64().unwrap();
    let new_key = created["data"]["apiKey"].as_str().unwrap().to_owned();

    // The new key works at once, on the new organization's own path.
    let (status, _, body) = post(
        format!("/v2/organizations/{new_id}/organizations"),
        bearer(&format!("Bearer {new_key}")),
        r#"{"name":"Grandchild"}"#.into(),
    )
    .join()
    .unwrap();
    assert_eq!(status, 201, "{body}");

    // The platform OAuth client route.
    let platform = vec![("x-cal-client-id".to_owned(), client_id), ("x-cal-secret-key".to_owned(), secret)];
    let (status, _, body) = post(path.clone(), platform, r#"{"name":"Via platform"}"#.into()).join().unwrap();
    assert_eq!(status, 201, "{body}");

    // A path id that is not a plain number names no organization: IsOrgGuard's 403 in Cal.com's envelope.
    // A malformed body is a 400.
    for bad in ["abc", "%2B1", "1e3"] {
        let (status, _, body) =
            post(format!("/v2/organizations/{bad}/organizations"), bearer(&auth), r#"{"name":"x"}"#.into())
                .join()
                .unwrap();
        assert_eq!(status, 403, "{bad}: {body}");
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["error"]["code"], "ForbiddenException");
        assert_eq!(reply["path"], format!("/v2/organizations/{bad}/organizations"));
    }
    let (status, _, body) = post(path.clone(), bearer(&auth), "{not json".into()).join().unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = post(path.clone(), vec![], r#"{"name":"x"}"#.into()).join().unwrap();
    assert_eq!(status, 401);

    // Concurrent requests: the cap of 5 holds over HTTP (2 made already).
    let threads: Vec<_> =
        (0..8).map(|i| post(path.clone(), bearer(&auth), format!(r#"{{"name":"Org {i}"}}"#))).collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap().0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 5, "{statuses:?}");
    drop(watch);

    assert_tenant(&table, "calcom", &org_id, None, 5, 5);
    assert_verified(&table);
}

#[tokio::test(flavor = "multi_thread")]
async fn clerk_over_http_with_form_bodies_and_a_second_user() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let instance = orgmint(&table, &["tenant", "create", "--vendor", "clerk", "--cap", "3", "--json"]);
    assert_eq!(instance["vendor"], "clerk");
    let ins = instance["tenant"].as_str().unwrap().to_owned();
    let first_user = instance["user_id"].as_str().unwrap().to_owned();
    let session = instance["session_id"].as_str().unwrap();
    assert_eq!(instance["path"], format!("/v1/organizations?_is_native=1&_clerk_session_id={session}"));
    // Native clerk-js's `Authorization`: the client token itself, no scheme.
    let auth = instance["headers"]["Authorization"].as_str().unwrap().to_owned();
    assert!(auth.starts_with("ey") && auth == instance["client_token"], "{instance}");
    // `pk_test_` + standard base64 of `<host with a dot>:<port>$`.
    let key = instance["publishable_key"].as_str().unwrap().strip_prefix("pk_test_").unwrap();
    let host = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(key).unwrap()).unwrap();
    assert!(host.ends_with('$') && host.contains('.') && !key.contains(['_', '-']), "{host}");
    let second = orgmint(&table, &["clerk", "session", "--tenant", &ins, "--json"]);
    let second_user = second["user_id"].as_str().unwrap().to_owned();
    assert_ne!(second_user, first_user);
    let second_auth = second["headers"]["Authorization"].as_str().unwrap().to_owned();
    let (first_path, second_path) =
        (instance["path"].as_str().unwrap().to_owned(), second["path"].as_str().unwrap().to_owned());

    let watch = Watch::start(&table);
    let port = watch.port;
    let post = move |auth: String, path: String, body: String| {
        std::thread::spawn(move || {
            http(
                port,
                "POST",
                &format!("{path}&_clerk_js_version=6.40.0"),
                &[("authorization", &auth), ("content-type", "application/x-www-form-urlencoded")],
                &body,
            )
        })
    };

    // The first request waits for watch to start the function.
    let (status, headers, body) =
        post(auth.clone(), first_path.clone(), "name=Over%20HTTP&slug=over-http".into()).join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(headers.iter().any(|(k, v)| k == "x-request-id" && !v.is_empty()));
    let created: Value = serde_json::from_str(&body).unwrap();
    let org = &created["response"];
    assert_eq!((org["name"].as_str(), org["slug"].as_str()), (Some("Over HTTP"), Some("over-http")));
    assert!(org["id"].as_str().unwrap().starts_with("org_"));
    assert_eq!(created["client"]["sessions"][0]["user"]["organization_memberships"][0]["organization"], *org);

    // Each user has their own cap of 3, concurrently.
    let threads: Vec<_> = (0..8)
        .flat_map(|i| {
            [
                post(auth.clone(), first_path.clone(), format!("name=A+{i}")),
                post(second_auth.clone(), second_path.clone(), format!("name=B+{i}")),
            ]
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap().0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2 + 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 16 - 5, "{statuses:?}");

    // A JSON body, a forged token, a malformed body: Clerk's answers, never a 5xx.
    let (status, _, body) = http(
        port,
        "POST",
        &second_path,
        &[("authorization", &second_auth), ("content-type", "application/json")],
        "{not json",
    );
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = post("a.b.c".into(), first_path.clone(), "name=x".into()).join().unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["code"], "authentication_invalid");
    drop(watch);

    for user in [None, Some(second_user.as_str())] {
        assert_tenant(&table, "clerk", &ins, user, 3, 3);
    }
    assert_verified(&table);
}

/// Clerk's browser path over HTTP through `cargo lambda watch`: preflights answered for the instance's origin
/// (and refused for another without CORS headers), the `__client` cookie authenticating from that origin with
/// the origin echoed and credentials allowed, a foreign origin refused with the same cookie.
#[tokio::test(flavor = "multi_thread")]
async fn clerks_browser_path_over_http_cookie_origin_and_preflight() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let app = "https://app.example.com";
    let instance = orgmint(&table, &["tenant", "create", "--vendor", "clerk", "--origin", app, "--json"]);
    let cookie = format!("__client={}", instance["client_token"].as_str().unwrap());
    let session = instance["session_id"].as_str().unwrap();
    let watch = Watch::start(&table);
    let header = |headers: &[(String, String)], name: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    // The preflight a browser sends before the create.
    let preflight = [
        ("origin", app),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    let (status, headers, _) = http(watch.port, "OPTIONS", "/v1/organizations", &preflight, "");
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "access-control-allow-origin").as_deref(), Some(app));
    assert_eq!(header(&headers, "access-control-allow-credentials").as_deref(), Some("true"));
    let foreign = [("origin", "https://evil.example"), ("access-control-request-method", "POST")];
    let (status, headers, _) = http(watch.port, "OPTIONS", "/v1/organizations", &foreign, "");
    assert_eq!((status, header(&headers, "access-control-allow-origin")), (400, None));
    // The create with the cookie from the instance's origin, as a browser sends it.
    let path = format!("/v1/organizations?_clerk_session_id={session}");
    let browser =
        [("origin", app), ("cookie", cookie.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let (status, headers, body) = http(watch.port, "POST", &path, &browser, "name=From+a+browser");
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "access-control-allow-origin").as_deref(), Some(app));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["response"]["name"], "From a browser");
    let (status, _, body) = http(watch.port, "GET", "/v1/client", &browser[..2], "");
    assert_eq!(status, 200, "{body}");
    // The same cookie from another origin.
    let evil = [
        ("origin", "https://evil.example"),
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let (status, headers, body) = http(watch.port, "POST", &path, &evil, "name=Evil");
    assert_eq!((status, header(&headers, "access-control-allow-origin")), (400, None), "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["code"], "origin_invalid");
    drop(watch);
    assert_tenant(&table, "clerk", instance["tenant"].as_str().unwrap(), None, 100, 1);
    assert_verified(&table);
}

/// Clerk's own client, `@clerk/clerk-js` (npm, pinned), headless in Node as Expo runs it, against the
/// Frontend API over HTTP (tests/clients/clerk_client.mjs): it loads the signed-in user, creates an
/// organization, makes it active and takes session tokens for it that verify with the published JWKS; an
/// empty name and the cap come back as `ClerkAPIResponseError`s with Clerk's status and code.
#[tokio::test(flavor = "multi_thread")]
async fn clerks_own_clerk_js_works_unchanged() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let instance = orgmint(&table, &["tenant", "create", "--vendor", "clerk", "--cap", "2", "--json"]);
    let ins = instance["tenant"].as_str().unwrap().to_owned();
    let watch = Watch::start(&table);
    let url = format!("http://127.0.0.1:{}", watch.port);
    // The first request waits for watch to build and start the functions clerk-js calls first.
    for path in ["/v1/environment?_is_native=1", "/v1/client?_is_native=1", "/v1/me/organization_memberships"]
    {
        assert_ne!(http(watch.port, "GET", path, &[], "").0, 0, "{path}: no answer");
    }
    let clerk_js_as = |scenario: &str, name: &str, token: &str| {
        let out = Command::new("node")
            .arg(root().join("tests/clients/clerk_client.mjs"))
            .arg(scenario)
            .env("ORGMINT_URL", &url)
            .env("CLERK_CLIENT_TOKEN", token)
            .env("CLERK_PUBLISHABLE_KEY", instance["publishable_key"].as_str().unwrap())
            .env("CLERK_ORG_NAME", name)
            .env("NODE_PATH", root().join(".tools/node_modules"))
            .output()
            .expect("node (make test installs @clerk/clerk-js into .tools/node_modules)");
        assert!(
            out.status.success(),
            "clerk-js {scenario} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let clerk_js =
        |scenario: &str, name: &str| clerk_js_as(scenario, name, instance["client_token"].as_str().unwrap());
    let flow = clerk_js("flow", "Acme via clerk-js");
    assert_eq!(
        (flow["user_id"].as_str(), flow["session_id"].as_str()),
        (instance["user_id"].as_str(), instance["session_id"].as_str()),
        "{flow}"
    );
    let org_id = flow["organization"]["id"].as_str().unwrap().to_owned();
    assert!(org_id.starts_with("org_"), "{flow}");
    assert_eq!(flow["organization"]["name"], "Acme via clerk-js");
    assert_eq!(flow["organization"]["slug"], "acme-via-clerk-js");
    assert_eq!(flow["active_organization_id"], org_id.as_str(), "setActive made it active");
    for claims in [&flow["claims"], &flow["fresh_claims"]] {
        assert_eq!(claims["o"]["id"], org_id.as_str(), "{flow}");
        assert_eq!(
            (claims["o"]["rol"].as_str(), claims["sub"].as_str()),
            (Some("admin"), instance["user_id"].as_str())
        );
    }
    assert!(
        flow["memberships"].as_array().unwrap().iter().any(|m| m["organization_id"] == org_id.as_str()),
        "{flow}"
    );
    // An empty name: Clerk's 422, as clerk-js hands it to the app.
    let empty = clerk_js("error", "");
    assert_eq!(
        (empty["status"].as_u64(), empty["code"].as_str()),
        (Some(422), Some("form_param_nil")),
        "{empty}"
    );
    assert_eq!(empty["isClerkAPIResponseError"], true);
    // The second organization fills the cap of 2; the third is Clerk's 403.
    clerk_js("flow", "Second via clerk-js");
    let capped = clerk_js("error", "Third");
    assert_eq!(
        (capped["status"].as_u64(), capped["code"].as_str()),
        (Some(403), Some("organization_quota_exceeded")),
        "{capped}"
    );
    assert_eq!(capped["long_message"], "You cannot create more than 2 organizations per account.");
    // The lifecycle (organization.update, user.getOrganizationMemberships, organization.destroy) on a
    // second user's client: the destroy frees the slot it took.
    let second = orgmint(&table, &["clerk", "session", "--tenant", &ins, "--json"]);
    let lifecycle = clerk_js_as("lifecycle", "Lifecycle", second["client_token"].as_str().unwrap());
    let org_id = lifecycle["organization"]["id"].as_str().unwrap();
    assert_eq!(lifecycle["organization"]["renamed"], "Renamed via clerk-js", "{lifecycle}");
    assert!(lifecycle["memberships_before"].as_array().unwrap().iter().any(|id| id == org_id), "{lifecycle}");
    assert_eq!(lifecycle["memberships_after"], json!([]), "{lifecycle}");
    drop(watch);
    assert_tenant(&table, "clerk", &ins, None, 2, 2);
    assert_tenant(&table, "clerk", &ins, second["user_id"].as_str(), 2, 0);
    assert_verified(&table);
}

/// A burst over HTTP through `cargo lambda watch` (its 8 concurrent function instances, like a reserved
/// concurrency): 50 concurrent creates on each vendor's route, each tenant capped at 25. Exactly the cap,
/// zero 5xx, `orgmint verify` clean.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_over_http_fills_each_vendors_tenant_to_its_cap() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let vendors = ["devin", "datadog", "calcom", "clerk"];
    let tenants: Vec<Value> = vendors
        .iter()
        .map(|v| {
            orgmint(
                &table,
                &["tenant", "create", "--vendor", v, "--cap", "25", "--rate-limit", "10000", "--json"],
            )
        })
        .collect();
    let watch = Watch::start(&table);
    let port = watch.port;
    let post = |t: &Value, name: String| {
        let body = match t["vendor"].as_str().unwrap() {
            "devin" => serde_json::json!({ "display_name": name }),
            "datadog" => {
                serde_json::json!({ "name": name, "billing": {"type": "parent_billing"}, "subscription": {"type": "pro"} })
            }
            _ => serde_json::json!({ "name": name }),
        };
        let mut headers: Vec<(String, String)> = t["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        headers.push(("content-type".into(), "application/json".into()));
        let path = t["path"].as_str().unwrap().to_owned();
        std::thread::spawn(move || {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let started = Instant::now();
            let (status, _, body) = http(port, "POST", &path, &headers, &body.to_string());
            (status, body, started.elapsed())
        })
    };
    // The first request of each route waits for watch to start its function.
    for t in &tenants {
        let (status, body, _) = post(t, "First".into()).join().unwrap();
        assert!(status == 200 || status == 201, "{status} {body}");
    }
    let started = Instant::now();
    let threads: Vec<_> = (0..50)
        .flat_map(|i| tenants.iter().map(move |t| (t, i)))
        .map(|(t, i)| (t, post(t, format!("Burst {i}"))))
        .collect();
    let mut latencies = Vec::new();
    let mut created = std::collections::HashMap::<&str, usize>::new();
    for (t, thread) in threads {
        let (status, body, latency) = thread.join().unwrap();
        let vendor = t["vendor"].as_str().unwrap();
        assert!(status == 200 || status == 201 || status == 403, "{vendor}: {status} {body}");
        *created.entry(vendor).or_default() += usize::from(status != 403);
        latencies.push(latency);
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(watch);
    latencies.sort();
    println!(
        "HTTP burst: 200 creates in {seconds:.1} s ({:.0} req/s), p50 {:?}, p99 {:?}",
        200.0 / seconds,
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100]
    );
    for (t, vendor) in tenants.iter().zip(vendors) {
        assert_eq!(created.get(vendor), Some(&24), "{vendor}: the first create and 24 more");
        assert_tenant(&table, vendor, t["tenant"].as_str().unwrap(), None, 25, 25);
    }
    assert_verified(&table);
}

/// `make dev`'s front door (scripts/dev-proxy.py) in front of watch: a body that is not UTF-8 reaches the
/// function and gets the vendor's 4xx envelope, where watch alone answers 500 before any function runs.
#[tokio::test(flavor = "multi_thread")]
async fn make_devs_front_door_hands_bodies_that_are_not_utf8_to_the_functions() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let watch = Watch::start(&table);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut proxy = Command::new(root().join(".tools/venv/bin/python"))
        .arg(root().join("scripts/dev-proxy.py"))
        .args([port.to_string(), watch.port.to_string()])
        .spawn()
        .expect("the project venv's python (make test creates it)");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for vendor in ["calcom", "clerk", "datadog", "devin"] {
        let tenant = orgmint(&table, &["tenant", "create", "--vendor", vendor, "--json"]);
        let path = tenant["path"].as_str().unwrap();
        let mut headers: Vec<(&str, &str)> = tenant["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        for content_type in [Some("application/json"), None] {
            let mut sent = headers.clone();
            sent.extend(content_type.map(|c| ("content-type", c)));
            let (status, _, body) = http_bytes(port, "POST", path, &sent, b"\xff\x13{\"name\":\"x\"}");
            assert!((400..500).contains(&status), "{vendor} {content_type:?}: {status} {body}");
            let vendor: orgmint::Vendor = vendor.parse().unwrap();
            assert_eq!(envelope_problem(vendor, status, body.as_bytes()), None, "{body}");
        }
        // Everything else passes through as it came.
        headers.push(("content-type", "application/json"));
        let (status, _, body) = http(port, "POST", path, &headers, "{}");
        assert!((400..500).contains(&status), "{vendor}: {status} {body}");
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
    drop(watch);
    assert_verified(&table);
}

/// `make dev` as a newcomer meets it: the line it prints points the CLI in another terminal at its DynamoDB
/// Local, the curl line it prints works as pasted, and a burst of 64 connections opened at once through its
/// port each gets an answer with a status (some were reset before any answer: issue 13), exactly the cap
/// created.
#[tokio::test(flavor = "multi_thread")]
async fn make_dev_answers_every_request_of_a_burst_and_its_printed_lines_work() {
    use std::os::unix::process::CommandExt;

    let _heavy = heavy().await;
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ddb_port, api_port) = (free_port(), free_port());
    // Its output goes to a file read while it runs (a pipe left unread would stop it).
    let output = std::env::temp_dir().join(format!("orgmint-make-dev-{api_port}.out"));
    let mut dev = Command::new("bash")
        .arg(root().join("scripts/dev.sh"))
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env("ORGMINT_TABLE", "orgmint")
        .env("ORGMINT_DDB_PORT", ddb_port.to_string())
        .env("ORGMINT_API_PORT", api_port.to_string())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(std::process::Stdio::null())
        .process_group(0) // stopped as a whole below, as Ctrl-C stops it
        .spawn()
        .expect("bash scripts/dev.sh");
    let stop = StopGroup(dev.id());
    let deadline = Instant::now() + std::time::Duration::from_secs(300);
    let printed = loop {
        let printed = std::fs::read_to_string(&output).unwrap_or_default();
        // The Devin tenant is the last demo tenant, its delete line its last: watch starts after it.
        if printed
            .lines()
            .any(|l| l.starts_with("curl -sS -X DELETE") && l.contains("/v2/enterprise/organizations/"))
        {
            break printed;
        }
        assert!(dev.try_wait().unwrap().is_none(), "make dev exited: {printed}");
        assert!(Instant::now() < deadline, "make dev printed no demo tenants: {printed}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let export = printed.lines().find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL_DYNAMODB="));
    let devin_curl =
        printed.lines().find(|l| l.starts_with("curl ") && l.contains("/v2/enterprise/organizations"));
    let endpoint = export.expect("make dev prints the export line for the CLI");
    assert_eq!(endpoint, format!("http://127.0.0.1:{ddb_port}"));
    let devin_curl = devin_curl.unwrap();

    // The CLI, as pasted into another terminal after the export line, creates a tenant there.
    let cli = |args: &[&str]| {
        let out = Command::new(orgmint_binary())
            .args(args)
            .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("ORGMINT_TABLE", "orgmint")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let tenant =
        cli(&["tenant", "create", "--vendor", "devin", "--cap", "40", "--rate-limit", "0", "--json"]);
    let tenant_id = tenant["tenant"].as_str().unwrap().to_owned();
    let auth = tenant["headers"]["Authorization"].as_str().unwrap().to_owned();

    // The port may refuse connections until make dev has started serving (local-stack.md): wait for it.
    while std::net::TcpStream::connect(("127.0.0.1", api_port)).is_err() {
        assert!(Instant::now() < deadline, "make dev never listened on {api_port}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The printed curl line as pasted (the first request also waits for watch to start the function).
    let pasted =
        Command::new("bash").args(["-c", &format!("{devin_curl} -w '\\n%{{http_code}}'")]).output().unwrap();
    let pasted = String::from_utf8_lossy(&pasted.stdout).into_owned();
    assert!(pasted.ends_with("\n200"), "{pasted}");
    assert!(pasted.contains("\"org_id\":\"org-"), "{pasted}");
    // Its lifecycle lines as pasted, `<id>` replaced by the id the create answered with: the list holds it,
    // the update renames it, the delete removes it.
    let created: Value = serde_json::from_str(pasted.rsplit_once('\n').unwrap().0).unwrap();
    let org_id = created["org_id"].as_str().unwrap();
    let devin_lines: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("curl ") && l.contains("/v2/enterprise/organizations"))
        .collect();
    let paste = |method: &str| {
        let line = devin_lines.iter().find(|l| l.starts_with(&format!("curl -sS -X {method} "))).unwrap();
        let line = line.replace("<id>", org_id);
        let out =
            Command::new("bash").args(["-c", &format!("{line} -w '\\n%{{http_code}}'")]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = paste("GET");
    assert!(listed.ends_with("\n200") && listed.contains(org_id), "{listed}");
    assert!(paste("PATCH").ends_with("\n200"));
    let deleted = paste("DELETE");
    assert!(deleted.ends_with("\n200") && deleted.contains("success"), "{deleted}");
    assert!(!paste("GET").contains(org_id));

    // Clerk's curl line (a quoted URL with its query) and its clerk-js line, as pasted from the work tree.
    let clerk_curl = printed.lines().find(|l| l.starts_with("curl ") && l.contains("/v1/organizations?"));
    let clerk_curl = clerk_curl.expect("make dev prints Clerk's curl line");
    let pasted =
        Command::new("bash").args(["-c", &format!("{clerk_curl} -w '\\n%{{http_code}}'")]).output().unwrap();
    let pasted = String::from_utf8_lossy(&pasted.stdout).into_owned();
    assert!(pasted.ends_with("\n200") && pasted.contains("\"response\":{"), "{pasted}");
    let clerk_js = printed.lines().find_map(|l| l.trim().strip_prefix("clerk-js: "));
    let clerk_js = clerk_js.expect("make dev prints a clerk-js line");
    let ran = Command::new("bash").args(["-c", clerk_js]).current_dir(root()).output().unwrap();
    assert!(
        ran.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );

    // 64 connections opened at the same moment.
    let start = std::sync::Arc::new(std::sync::Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let (start, auth) = (start.clone(), auth.clone());
            std::thread::spawn(move || {
                start.wait();
                let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
                let body = format!(r#"{{"display_name":"Burst {i}"}}"#);
                std::panic::catch_unwind(|| {
                    http(api_port, "POST", "/v2/enterprise/organizations", &headers, &body).0
                })
                .unwrap_or(0)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(!statuses.contains(&0), "connections ended without an answer: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 40, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 24, "{statuses:?}");
    let shown = cli(&["tenant", "show", "--vendor", "devin", "--tenant", &tenant_id, "--json"]);
    assert_eq!((shown["org_count"].as_u64(), shown["orgs"].as_u64()), (Some(40), Some(40)), "{shown}");
    drop(stop);
    let _ = dev.wait();
    let _ = std::fs::remove_file(&output);
}

/// SIGTERM to a whole process group when dropped (also when the test fails).
struct StopGroup(u32);
impl Drop for StopGroup {
    fn drop(&mut self) {
        // `--`: without it procps' kill takes "-PGID" for something else and signals nothing.
        let _ = Command::new("kill").args(["-s", "TERM", "--", &format!("-{}", self.0)]).status();
    }
}

/// The CLI pointed at nothing says which endpoint it tried and how to reach the local stack, and exits
/// non-zero: never a bare "dispatch failure".
#[test]
fn the_cli_without_a_reachable_endpoint_explains_itself() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let out = Command::new(orgmint_binary())
        .args(["tenant", "create", "--vendor", "devin", "--json"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout when it fails");
    assert!(stderr.contains(&format!("cannot reach DynamoDB at {endpoint}")), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(stderr.contains("export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000"), "{stderr}");
}

/// What the runtime itself reports reaches the logs, as Lambda's advanced logging asks: an event no
/// handler can read (here, not an API Gateway event) is a JSON line at ERROR under
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, not silence.
#[tokio::test(flavor = "multi_thread")]
async fn the_runtimes_own_errors_reach_the_logs_as_json() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let watch = Watch::start_with(&table, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    let invoked = Command::new("cargo")
        .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &watch.port.to_string()])
        .args(["devin-create-enterprise-organization", "--data-ascii", r#"{"not":"an API Gateway event"}"#])
        .current_dir(root())
        .output()
        .expect("cargo lambda invoke");
    assert!(!invoked.status.success(), "the invocation fails: the event is no API Gateway event");
    let log = watch.stop();
    let reported = log
        .lines()
        .filter_map(|l| l.find("{\"").map(|at| &l[at..]))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["level"] == "ERROR");
    let reported = reported.unwrap_or_else(|| panic!("no JSON line at ERROR from the runtime:\n{log}"));
    assert!(
        reported["fields"]["message"].as_str().is_some_and(|m| m.contains("deserialization")),
        "{reported}"
    );
    assert!(reported["span"]["requestId"].is_string(), "{reported}");
}

/// A 5xx explains itself in its log line: the functions pointed at a DynamoDB that refuses connections
/// answer every vendor's 503, and each line names the cause (the SDK's error kind), never a secret.
#[tokio::test(flavor = "multi_thread")]
async fn every_503_names_its_cause_in_the_log_line() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let tenant = orgmint(&table, &["tenant", "create", "--vendor", "devin", "--json"]);
    let auth = tenant["headers"]["Authorization"].as_str().unwrap().to_owned();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = format!("http://127.0.0.1:{closed}");
    let watch = Watch::start_with(&table, &[("AWS_ENDPOINT_URL_DYNAMODB", nowhere.as_str())]);
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let (status, _, body) =
        http(watch.port, "POST", "/v2/enterprise/organizations", &headers, r#"{"display_name":"Nowhere"}"#);
    assert_eq!(status, 503, "{body}");
    let log = watch.stop();
    let lines = log_lines(&log, Some("POST /v2/enterprise/organizations"));
    assert_eq!(lines.len(), 1, "{log}");
    assert_eq!((lines[0]["status"].as_u64(), lines[0]["error"].as_str()), (Some(503), Some("unavailable")));
    let cause = lines[0]["cause"].as_str().unwrap_or_default();
    assert!(cause.starts_with("BatchGetItem: ") && cause.contains("Connection refused"), "{}", lines[0]);
    assert!(!body.contains("Connection refused"), "the cause is for the log, not the client: {body}");
    let secret = auth.trim_start_matches("Bearer ");
    assert!(!log.contains(secret), "a secret reached the log");
}
