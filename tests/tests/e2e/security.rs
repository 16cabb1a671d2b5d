//! No credential works outside its own scope: every vendor pair (each secret of one vendor in every
//! credential slot of another) and tenant pairs within each vendor are refused, with nothing written.
//! Over HTTP through `cargo lambda watch`: no secret, nor its digest, reaches any log line.

use orgmint::{Store, TenantRef, Vendor};
use orgmint_cli::vendors::clerk::{self as clerk_cli, ClientClaims};
use orgmint_tests::{
    assert_sound, caller, envelope_problem, handle, heavy, hs256_token, http, leaked, log_lines, store,
    tenant, vendor_request, Caller, Options, Watch,
};
use serde_json::Value;

/// Sends `body` to `target`'s endpoint at `path` with exactly `headers` (and `target`'s content type).
async fn send(
    store: &'static Store,
    target: &Caller,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut all: Vec<(String, Vec<u8>)> =
        vec![("content-type".into(), target.content_type.clone().into_bytes())];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())));
    let response =
        handle(target.vendor, store, vendor_request(target.vendor, path, &all, body.as_bytes())).await;
    let status = response.status().as_u16();
    let bytes = response.body().as_ref().to_vec();
    if status >= 400 {
        assert_eq!(envelope_problem(target.vendor, status, &bytes), None);
    }
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

/// What the table holds besides rate windows: orgs, tenants, credentials, memberships, slug claims.
async fn footprint(store: &Store) -> [usize; 5] {
    let inv = store.inventory().await.unwrap();
    [inv.orgs.len(), inv.tenants.len(), inv.credentials.len(), inv.members.len(), inv.slugs.len()]
}

async fn orgs_of(store: &Store, vendor: Vendor, tenant: &str) -> u32 {
    store.count_orgs(&TenantRef::new(vendor, tenant)).await.unwrap()
}

/// Every way `secret` can be presented at `target`'s endpoint, the other slots filled with `target`'s own
/// valid values where the vendor needs two (so that only the foreign secret can be at fault).
fn slots(target: &Caller, secret: &str) -> Vec<Vec<(String, String)>> {
    let own = |name: &str| {
        target
            .headers
            .iter()
            .chain(&target.platform)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let pair = |a: &str, va: String, b: &str, vb: String| vec![(a.to_owned(), va), (b.to_owned(), vb)];
    match target.vendor {
        Vendor::Devin => vec![vec![("authorization".into(), format!("Bearer {secret}"))]],
        Vendor::Calcom => vec![
            vec![("authorization".into(), format!("Bearer {secret}"))],
            pair("x-cal-client-id", own("x-cal-client-id"), "x-cal-secret-key", secret.to_owned()),
        ],
        Vendor::Datadog => vec![
            pair("dd-api-key", secret.to_owned(), "dd-application-key", own("dd-application-key")),
            pair("dd-api-key", own("dd-api-key"), "dd-application-key", secret.to_owned()),
        ],
        Vendor::Clerk => vec![
            vec![("authorization".into(), format!("Bearer {secret}"))],
            vec![("cookie".into(), format!("__session={secret}"))],
        ],
    }
}

/// The status a vendor answers an unauthenticated request with.
fn refused(vendor: Vendor) -> u16 {
    if vendor == Vendor::Datadog {
        403
    } else {
        401
    }
}

#[tokio::test]
async fn no_credential_of_one_vendor_works_at_another() {
    let store = store().await;
    let mut callers = Vec::new();
    for vendor in Vendor::ALL {
        callers.push(caller(store, vendor, 100).await);
    }
    let before = footprint(store).await;
    let mut tried = 0;
    for target in &callers {
        for other in callers.iter().filter(|c| c.vendor != target.vendor) {
            // The other vendor's headers exactly as its clients send them…
            let headers: Vec<(&str, &str)> =
                other.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (status, reply) = send(store, target, &target.path, &headers, &target.body).await;
            assert_eq!(
                status,
                refused(target.vendor),
                "{} headers at {}: {reply}",
                other.vendor,
                target.vendor
            );
            // …and each of its secrets in every credential slot of the target.
            for secret in other.secrets() {
                for slot in slots(target, &secret) {
                    let headers: Vec<(&str, &str)> =
                        slot.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let (status, reply) = send(store, target, &target.path, &headers, &target.body).await;
                    assert_eq!(
                        status,
                        refused(target.vendor),
                        "{} secret at {}: {reply}",
                        other.vendor,
                        target.vendor
                    );
                    tried += 1;
                }
            }
        }
    }
    assert!(tried >= 20, "{tried}");
    assert_eq!(footprint(store).await, before, "a refused request wrote something");
    // Each vendor's own credentials still work where they belong.
    for own in &callers {
        let headers: Vec<(&str, &str)> = own.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, reply) = send(store, own, &own.path, &headers, &own.body).await;
        assert!((200..300).contains(&status), "{}: {reply}", own.vendor);
    }
    assert_sound(store).await;
}

#[tokio::test]
async fn calcom_keys_and_clients_work_only_for_their_own_organization() {
    let store = store().await;
    // A nests, so that its managed org's key creates.
    let nested = Options { nested: true, rate_limit: Some(0), ..Options::new(Vendor::Calcom) };
    let (a, b) = (Caller::of(&tenant(store, &nested).await), caller(store, Vendor::Calcom, 100).await);
    let get = |c: &Caller, name: &str| {
        c.headers.iter().chain(&c.platform).find(|(k, _)| k == name).unwrap().1.clone()
    };
    let body = r#"{"name":"Intruder"}"#;
    let before = footprint(store).await;
    // A's API key, and A's whole platform client, at B's organization: 403.
    let (status, reply) =
        send(store, &b, &b.path, &[("authorization", &get(&a, "authorization"))], body).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (403, Some("ForbiddenException")), "{reply}");
    let a_client =
        [("x-cal-client-id", get(&a, "x-cal-client-id")), ("x-cal-secret-key", get(&a, "x-cal-secret-key"))];
    let headers: Vec<(&str, &str)> = a_client.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(send(store, &b, &b.path, &headers, body).await.0, 403);
    // A client id with the other organization's secret (both ways): not a pair, 401.
    for (client, secret) in [(&a, &b), (&b, &a)] {
        let headers = [
            ("x-cal-client-id", get(client, "x-cal-client-id")),
            ("x-cal-secret-key", get(secret, "x-cal-secret-key")),
        ];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in [&a.path, &b.path] {
            let (status, reply) = send(store, &b, path, &headers, body).await;
            assert_eq!(
                (status, reply["error"]["message"].as_str()),
                (401, Some("ApiAuthStrategy - oAuth client - Invalid client secret"))
            );
        }
    }
    assert_eq!(footprint(store).await, before, "a refused request wrote something");

    // A's managed organization C: its new key works at C only, neither at its manager A nor at B.
    let (status, created) =
        send(store, &a, &a.path, &[("authorization", &get(&a, "authorization"))], body).await;
    assert_eq!(status, 201, "{created}");
    let c_id = created["data"]["id"].as_u64().unwrap().to_string();
    let c_key = format!("Bearer {}", created["data"]["apiKey"].as_str().unwrap());
    let c_path = format!("/v2/organizations/{c_id}/organizations");
    for path in [&a.path, &b.path] {
        assert_eq!(send(store, &a, path, &[("authorization", &c_key)], body).await.0, 403, "{path}");
    }
    assert_eq!(send(store, &a, &c_path, &[("authorization", &c_key)], body).await.0, 201);
    assert_eq!(
        (orgs_of(store, Vendor::Calcom, &a.tenant).await, orgs_of(store, Vendor::Calcom, &b.tenant).await),
        (1, 0)
    );
    assert_eq!(orgs_of(store, Vendor::Calcom, &c_id).await, 1);
    assert_sound(store).await;
}

#[tokio::test]
async fn datadog_keys_of_two_organizations_never_pair_up() {
    let store = store().await;
    // A nests, so that its child's keys create.
    let nested = Options { nested: true, rate_limit: Some(0), ..Options::new(Vendor::Datadog) };
    let (a, b) = (Caller::of(&tenant(store, &nested).await), caller(store, Vendor::Datadog, 100).await);
    let key = |c: &Caller, name: &str| c.headers.iter().find(|(k, _)| k == name).unwrap().1.clone();
    let body = r#"{"name":"Intruder"}"#;
    let before = footprint(store).await;
    for (api, app) in [(&a, &b), (&b, &a)] {
        let headers =
            [("dd-api-key", key(api, "dd-api-key")), ("dd-application-key", key(app, "dd-application-key"))];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, reply) = send(store, &a, &a.path, &headers, body).await;
        assert_eq!((status, reply), (403, serde_json::json!({"errors": ["Forbidden"]})));
    }
    assert_eq!(footprint(store).await, before, "a refused request wrote something");

    // A's child C: C's keys create under C; C's API key with A's application key (and back) is refused.
    let a_headers =
        [("dd-api-key", key(&a, "dd-api-key")), ("dd-application-key", key(&a, "dd-application-key"))];
    let headers: Vec<(&str, &str)> = a_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, child) = send(store, &a, &a.path, &headers, body).await;
    assert_eq!(status, 200, "{child}");
    let c_api = child["api_key"]["key"].as_str().unwrap().to_owned();
    let c_app = child["application_key"]["hash"].as_str().unwrap().to_owned();
    for headers in [
        [("dd-api-key", c_api.as_str()), ("dd-application-key", a_headers[1].1.as_str())],
        [("dd-api-key", a_headers[0].1.as_str()), ("dd-application-key", c_app.as_str())],
    ] {
        assert_eq!(send(store, &a, &a.path, &headers, body).await.0, 403);
    }
    let headers = [("dd-api-key", c_api.as_str()), ("dd-application-key", c_app.as_str())];
    assert_eq!(send(store, &a, &a.path, &headers, body).await.0, 200);
    let c_id = child["org"]["public_id"].as_str().unwrap();
    let mut counts = Vec::new();
    for t in [a.tenant.as_str(), b.tenant.as_str(), c_id] {
        counts.push(orgs_of(store, Vendor::Datadog, t).await);
    }
    assert_eq!(counts, [1, 0, 1], "A holds its child C, B nothing, C its own");
    assert_sound(store).await;
}

#[tokio::test]
async fn clerk_sessions_work_only_at_their_own_instance_and_account() {
    let store = store().await;
    let options = |cap| Options { cap, rate_limit: Some(0), ..Options::new(Vendor::Clerk) };
    let (i, j) = (tenant(store, &options(100)).await, tenant(store, &options(100)).await);
    let (i_id, j_id) = (i.public_id.clone(), j.public_id.clone());
    let j_user = j.extra["user_id"].as_str().unwrap().to_owned();
    let i_user = i.extra["user_id"].as_str().unwrap().to_owned();
    let i_key = store
        .tenant_secret(&TenantRef::new(Vendor::Clerk, &i_id), clerk_cli::SIGNING_KEY)
        .await
        .unwrap()
        .unwrap();
    let i_public = i.tenant.attributes[clerk_cli::ATTR_PUBLIC_KEY].clone();
    let now_s = orgmint::clock::now_ms() / 1000;
    let target = Caller::of(&i);
    let i_client = orgmint_cli::jwt::claims(i.headers["Authorization"].as_str().unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let j_client = orgmint_cli::jwt::claims(j.headers["Authorization"].as_str().unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = |ins: &str, client: &str, user: &str| ClientClaims {
        iss: clerk_cli::issuer(ins),
        id: client.to_owned(),
        sub: user.to_owned(),
        rotating_token: "r".into(),
        iat: now_s,
        exp: now_s + 600,
    };
    let forged = [
        // Signed by I, claiming J's issuer, client and user: checked with J's key.
        (
            "another instance's issuer",
            clerk_cli::sign(&i_key, &i_id, &claims(&j_id, &j_client, &j_user)).unwrap(),
        ),
        // Signed by I for J's client and user: no such client or account in I.
        (
            "another instance's client",
            clerk_cli::sign(&i_key, &i_id, &claims(&i_id, &j_client, &j_user)).unwrap(),
        ),
        // Signed by I for I's client, claiming J's user.
        (
            "another instance's user",
            clerk_cli::sign(&i_key, &i_id, &claims(&i_id, &i_client, &j_user)).unwrap(),
        ),
        // HS256 keyed with I's public key (algorithm confusion).
        ("HS256 with the public key", hs256_token(i_public.as_bytes(), &claims(&i_id, &i_client, &i_user))),
        // `alg: none`, no signature.
        ("alg none", {
            let header = serde_json::json!({"alg": "none", "typ": "JWT"});
            orgmint_cli::jwt::encode(&header, &claims(&i_id, &i_client, &i_user), |_| Ok(Vec::new())).unwrap()
        }),
    ];
    let before = footprint(store).await;
    for (what, token) in &forged {
        let (status, reply) =
            send(store, &target, &target.path, &[("authorization", token)], "name=Intruder").await;
        assert_eq!(
            (status, reply["errors"][0]["code"].as_str()),
            (401, Some("authentication_invalid")),
            "{what}"
        );
    }
    assert_eq!(footprint(store).await, before, "a refused request wrote something");
    // I's own session creates in I's user's account, and in nobody else's.
    let auth = i.headers["Authorization"].as_str().unwrap();
    assert_eq!(send(store, &target, &target.path, &[("authorization", auth)], "name=Mine").await.0, 200);
    let account = |ins: &str, user: &str| format!("{ins}/{user}");
    assert_eq!(orgs_of(store, Vendor::Clerk, &account(&i_id, &i_user)).await, 1);
    assert_eq!(orgs_of(store, Vendor::Clerk, &account(&j_id, &j_user)).await, 0);
    assert_sound(store).await;
}

#[tokio::test]
async fn devin_keys_create_only_in_their_own_enterprise() {
    let store = store().await;
    let a = tenant(store, &Options { rate_limit: Some(0), ..Options::new(Vendor::Devin) }).await;
    let b = tenant(store, &Options { rate_limit: Some(0), ..Options::new(Vendor::Devin) }).await;
    let member =
        tenant(store, &Options { restricted: true, rate_limit: Some(0), ..Options::new(Vendor::Devin) })
            .await;
    let target = Caller::of(&a);
    let path = target.path.clone();
    let body = r#"{"display_name":"Mine"}"#;
    let auth =
        |p: &orgmint_cli::vendors::Provisioned| p.headers["Authorization"].as_str().unwrap().to_owned();
    let before = footprint(store).await;
    assert_eq!(send(store, &target, &path, &[("authorization", &auth(&member))], body).await.0, 403);
    assert_eq!(footprint(store).await, before, "a refused request wrote something");
    assert_eq!(send(store, &target, &path, &[("authorization", &auth(&a))], body).await.0, 200);
    assert_eq!(
        (
            orgs_of(store, Vendor::Devin, &a.public_id).await,
            orgs_of(store, Vendor::Devin, &b.public_id).await
        ),
        (1, 0)
    );
    assert_sound(store).await;
}

/// Minted secrets in a success answer: Cal.com's new API key, Datadog's new API and application keys;
/// with the header and path that use them.
fn minted(vendor: Vendor, reply: &Value) -> Option<(String, Vec<(String, String)>)> {
    match vendor {
        Vendor::Calcom => {
            let key = reply["data"]["apiKey"].as_str()?;
            let path = format!("/v2/organizations/{}/organizations", reply["data"]["id"].as_u64()?);
            Some((path, vec![("authorization".into(), format!("Bearer {key}"))]))
        }
        Vendor::Datadog => {
            let api = reply["api_key"]["key"].as_str()?.to_owned();
            let app = reply["application_key"]["hash"].as_str()?.to_owned();
            Some(("/api/v1/org".into(), vec![("dd-api-key".into(), api), ("dd-application-key".into(), app)]))
        }
        Vendor::Clerk | Vendor::Devin => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_nor_its_digest_reaches_any_log_line() {
    let _heavy = heavy().await;
    let store = store().await;
    // Cap 1: the second create meets the cap. Rate limit 6: the run ends in 429s. Nested: minted keys create.
    let mut callers = Vec::new();
    for vendor in Vendor::ALL {
        let options = Options { cap: 1, rate_limit: Some(6), nested: true, ..Options::new(vendor) };
        callers.push(Caller::of(&tenant(store, &options).await));
    }
    let mut secrets: Vec<String> = callers.iter().flat_map(Caller::secrets).collect();
    // A JWT's signature on its own is as secret as the token.
    let signatures: Vec<String> =
        secrets.iter().filter_map(|s| s.rsplit_once('.').map(|(_, sig)| sig.to_owned())).collect();
    secrets.extend(signatures.into_iter().filter(|s| s.len() > 20));
    let watch = Watch::start(store.table());
    let mut sent = 0;
    for (n, c) in callers.iter().enumerate() {
        let vendor = c.vendor;
        let other = &callers[(n + 1) % callers.len()];
        let mut post = |headers: &[(&str, &str)], path: &str, body: &str| {
            sent += 1;
            let (status, _, reply) = http(watch.port, "POST", path, headers, body);
            if status >= 400 {
                assert_eq!(envelope_problem(vendor, status, reply.as_bytes()), None);
            }
            (status, serde_json::from_str::<Value>(&reply).unwrap_or(Value::Null))
        };
        let own = c.http_headers();
        let json = (
            "content-type",
            if vendor == Vendor::Clerk { "application/x-www-form-urlencoded" } else { "application/json" },
        );

        // Success, and the minted credentials at once.
        let (status, reply) = post(&own, &c.path, &c.body);
        assert!((200..300).contains(&status), "{vendor}: {status} {reply}");
        if let Some((path, headers)) = minted(vendor, &reply) {
            secrets.extend(headers.iter().map(|(_, v)| v.trim_start_matches("Bearer ").to_owned()));
            let mut all = vec![json];
            all.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            assert!((200..300).contains(&post(&all, &path, &c.body).0), "{vendor}: minted credentials");
        }
        // The cap, an invalid body, a wrong content type, a body over 64 KiB.
        assert_eq!(post(&own, &c.path, &c.body).0, 403, "{vendor}: cap");
        let invalid = if vendor == Vendor::Clerk { "slug=Not_A_Slug" } else { r#"{"unexpected":true}"# };
        assert!(matches!(post(&own, &c.path, invalid).0, 400 | 422), "{vendor}: invalid body");
        let mut plain: Vec<(&str, &str)> =
            own.iter().filter(|(k, _)| *k != "content-type").copied().collect();
        plain.push(("content-type", "text/plain"));
        assert!(matches!(post(&plain, &c.path, &c.body).0, 400 | 422), "{vendor}: content type");
        let huge = format!("{}{}", c.body, " ".repeat(65 * 1024));
        assert_eq!(post(&own, &c.path, &huge).0, 413, "{vendor}: too large");
        // A damaged secret, and another vendor's credentials: refused.
        let damaged: Vec<(String, String)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), if k == "x-cal-client-id" { v.clone() } else { format!("{v}0") }))
            .collect();
        secrets.extend(damaged.iter().map(|(_, v)| v.trim_start_matches("Bearer ").to_owned()));
        let mut headers = vec![json];
        headers.extend(damaged.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(post(&headers, &c.path, &c.body).0, refused(vendor), "{vendor}: damaged");
        let mut headers = vec![json];
        headers.extend(other.headers.iter().chain(&other.platform).map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(post(&headers, &c.path, &c.body).0, refused(vendor), "{vendor}: foreign");
        // Cal.com's platform client.
        if !c.platform.is_empty() {
            let mut headers = vec![json];
            headers.extend(c.platform.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            assert_eq!(post(&headers, &c.path, &c.body).0, 403, "{vendor}: platform client at the cap");
        }
        // Over the rate limit.
        let throttled = (0..12).any(|_| post(&own, &c.path, &c.body).0 == 429);
        assert!(throttled, "{vendor}: never throttled");
    }
    let log = watch.stop();
    // Every request left its line (so the log was really read), and none of them a secret.
    assert_eq!(log_lines(&log, None).len(), sent, "{log}");
    let found = leaked(&log, &secrets);
    assert!(found.is_empty(), "secrets (or their digests) in the log: {found:?}");
    assert!(secrets.len() >= 12, "{}", secrets.len());
}

/// A request for `route` ("METHOD /path/{param}") of `vendor`, its path parameters filled from `values`
/// (by name, else `fallback`), with `query`, exactly `headers` and a JSON `body`.
fn route_request(
    vendor: Vendor,
    route: &str,
    values: &[(&str, &str)],
    fallback: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> lambda_http::Request {
    let (method, template) = route.split_once(' ').unwrap();
    let mut params = serde_json::Map::new();
    let path: Vec<String> = template
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let value = values.iter().find(|(n, _)| *n == name).map_or(fallback, |(_, v)| v);
                params.insert(name.to_owned(), Value::from(value));
                value.to_owned()
            }
            None => segment.to_owned(),
        })
        .collect();
    let path = path.join("/");
    let mut all: Vec<(String, Vec<u8>)> = vec![("content-type".into(), b"application/json".to_vec())];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())));
    let target = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
    let mut req = vendor_request(vendor, &target, &all, body.as_bytes());
    *req.method_mut() = method.parse().unwrap();
    lambda_http::RequestExt::with_path_parameters(req, params_of(&params))
}

fn params_of(params: &serde_json::Map<String, Value>) -> lambda_http::aws_lambda_events::query_map::QueryMap {
    let map: std::collections::HashMap<String, String> =
        params.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
    map.into()
}

#[tokio::test]
async fn no_credential_reads_changes_or_deletes_another_vendors_or_tenants_orgs() {
    let store = store().await;
    // Two tenants of every vendor, each holding one organization.
    let mut owners = Vec::new();
    for vendor in Vendor::ALL {
        for _ in 0..2 {
            let owner = caller(store, vendor, 100).await;
            let headers: Vec<(&str, &str)> =
                owner.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (status, created) = send(store, &owner, &owner.path, &headers, &owner.body).await;
            assert!((200..300).contains(&status), "{vendor}: {created}");
            let id = match vendor {
                Vendor::Calcom => created["data"]["id"].to_string(),
                Vendor::Datadog => created["org"]["public_id"].as_str().unwrap().to_owned(),
                Vendor::Clerk => created["response"]["id"].as_str().unwrap().to_owned(),
                Vendor::Devin => created["org_id"].as_str().unwrap().to_owned(),
            };
            owners.push((owner, id));
        }
    }
    let before = store.inventory().await.unwrap();
    let endpoints = orgmint_cli::registry::ENDPOINTS;
    let mut tried = 0;
    for (owner, org_id) in &owners {
        let query = owner.path.split_once('?').map_or("", |(_, q)| q);
        for endpoint in endpoints.iter().filter(|e| e.vendor == owner.vendor) {
            // clerk-js's method override asks for a delete.
            let query = match endpoint.name {
                "clerk-override-organization" => format!("{query}&_method=DELETE"),
                _ => query.to_owned(),
            };
            // Everyone else's credentials: the other vendors' tenants and the owner's neighbour.
            for (intruder, _) in owners.iter().filter(|(c, _)| c.tenant != owner.tenant) {
                let headers: Vec<(&str, &str)> =
                    intruder.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let values = [("orgId", owner.tenant.as_str())];
                let body = r#"{"name":"Intruded","display_name":"Intruded"}"#;
                let req =
                    route_request(owner.vendor, endpoint.route, &values, org_id, &query, &headers, body);
                let response =
                    orgmint_cli::registry::endpoint_handler(endpoint.name, store, req).await.unwrap();
                let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
                // Refused (an envelope may echo the path it was sent), or answered about the intruder's own
                // scope: never with the owner's organization.
                let status = response.status();
                assert!(
                    !status.is_success()
                        || !(text.contains(org_id.as_str()) || endpoint.route.starts_with("DELETE")),
                    "{} at {} ({}): {status} {text}",
                    intruder.vendor,
                    endpoint.name,
                    owner.vendor,
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 100, "{tried}");
    // Nothing changed: every organization is there with its name, and no other item was written.
    let after = store.inventory().await.unwrap();
    let names = |inv: &orgmint::store::Inventory| {
        let mut all: Vec<(String, String)> =
            inv.orgs.iter().map(|(_, o)| (o.id.clone(), o.name.clone())).collect();
        all.sort();
        all
    };
    assert_eq!(names(&after), names(&before));
    assert_eq!(
        (after.tenants.len(), after.credentials.len(), after.members.len(), after.slugs.len()),
        (before.tenants.len(), before.credentials.len(), before.members.len(), before.slugs.len())
    );
    assert_sound(store).await;
}
