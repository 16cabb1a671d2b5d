//! `Idempotency-Key` on all four endpoints, through the real handlers over DynamoDB Local: a retry gets the
//! first answer (minted secrets included) without creating again, another request under the same key is
//! refused, concurrent duplicates create once, and the stored answer is sealed.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orgmint::{round_trips, Store, Vendor};
use orgmint_cli::vendors::Provisioned;
use orgmint_tests::{
    assert_sound, body_json, call, error_message, heavy, http, join_all, minted_secret, orgmint, store,
    tenant, tenant_event, Options, Watch,
};
use serde_json::Value;

/// A valid body for each vendor other than its sample body.
const OTHER_BODIES: [(Vendor, &str); 4] = [
    (Vendor::Calcom, r#"{"name":"Another Org"}"#),
    (Vendor::Clerk, "name=Another%20Org"),
    (Vendor::Datadog, r#"{"name":"Another Org"}"#),
    (Vendor::Devin, r#"{"display_name":"Another Org"}"#),
];

async fn provision(store: &Store, vendor: Vendor) -> Provisioned {
    tenant(store, &Options::new(vendor)).await
}

async fn send(
    store: &'static Store,
    p: &Provisioned,
    key: Option<&str>,
    body: Option<&str>,
) -> Response<Body> {
    let extra: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    call(store, p.tenant.tenant.vendor, &tenant_event(p, &extra, body)).await
}

fn replayed(response: &Response<Body>) -> bool {
    response.headers().get("idempotent-replayed").is_some_and(|v| v == "true")
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

/// The orgs created by the provisioned tenant's credentials: under the tenant itself, or for Clerk under
/// the accounts (`<instance>/<user>`) of the instance.
async fn org_count(store: &Store, p: &Provisioned) -> usize {
    let ours = &p.tenant.tenant;
    let inventory = store.inventory().await.unwrap();
    let account_prefix = format!("{}/", ours.id);
    inventory
        .orgs
        .iter()
        .filter(|(t, _)| t.vendor == ours.vendor && (t.id == ours.id || t.id.starts_with(&account_prefix)))
        .count()
}

/// Every string and binary attribute of every item, as text.
async fn stored_text(store: &Store) -> String {
    let out = store.client().scan().table_name(store.table()).send().await.unwrap();
    let mut all = String::new();
    for item in out.items() {
        for value in item.values() {
            match value {
                AttributeValue::S(s) => all.push_str(s),
                AttributeValue::B(b) => all.push_str(&String::from_utf8_lossy(b.as_ref())),
                _ => {}
            }
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_answer_and_creates_once() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let p = provision(store, vendor).await;
        let first = send(store, &p, Some("retry-1"), None).await;
        assert!(first.status().is_success(), "{vendor}: {} {}", first.status(), text(&first));
        assert!(!replayed(&first));
        let again = send(store, &p, Some("retry-1"), None).await;
        assert_eq!(again.status(), first.status(), "{vendor}: {}", text(&again));
        assert_eq!(text(&again), text(&first), "{vendor}: the replay is the first answer, byte for byte");
        assert!(replayed(&again), "{vendor}: a replay says so");
        assert_eq!(again.headers()["content-type"], "application/json");
        assert_eq!(org_count(store, &p).await, 1, "{vendor}: created once");
        if let Some(secret) = minted_secret(vendor, &body_json(&first)) {
            // Shown again to its caller, but never stored where the table's readers could see it.
            assert!(
                !stored_text(store).await.contains(&secret),
                "{vendor}: the minted secret is stored sealed"
            );
        }
    }
    // Without a key, the same request twice is two creates (Devin has no unique slug to stop it).
    let p = provision(store, Vendor::Devin).await;
    for _ in 0..2 {
        assert_eq!(send(store, &p, None, None).await.status(), StatusCode::OK);
    }
    assert_eq!(org_count(store, &p).await, 2);
    assert_sound(store).await;
}

#[tokio::test]
async fn a_replayed_secret_is_the_one_that_works() {
    let store = store().await;
    let p = provision(store, Vendor::Datadog).await;
    let first = send(store, &p, Some("keys"), None).await;
    let again = body_json(&send(store, &p, Some("keys"), None).await);
    let key = minted_secret(Vendor::Datadog, &again).unwrap();
    assert_eq!(Some(key.clone()), minted_secret(Vendor::Datadog, &body_json(&first)));
    assert!(store.authenticate(Vendor::Datadog, &key).await.is_ok());
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_in_the_vendors_envelope() {
    let store = store().await;
    for (vendor, other) in OTHER_BODIES {
        let p = provision(store, vendor).await;
        assert!(send(store, &p, Some("k"), None).await.status().is_success());
        let refused = send(store, &p, Some("k"), Some(other)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{vendor}: {}", text(&refused));
        let message = error_message(vendor, &body_json(&refused)).unwrap_or_default();
        assert!(message.contains("Idempotency-Key has already been used"), "{vendor}: {message}");
        assert!(!replayed(&refused));
        assert_eq!(org_count(store, &p).await, 1, "{vendor}: nothing more was created");
    }
    assert_sound(store).await;
}

#[tokio::test]
async fn concurrent_duplicates_create_exactly_one_org_and_all_get_its_answer() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let p: &'static Provisioned = Box::leak(Box::new(provision(store, vendor).await));
        let answers =
            join_all((0..12).map(|_| round_trips::counted(send(store, p, Some("burst"), None)))).await;
        // The duplicates that lost the race are answered from the record their transaction returned.
        assert!(answers.iter().all(|(_, trips)| *trips <= 2), "{vendor}: round trips {answers:?}");
        let answers: Vec<_> = answers.into_iter().map(|(answer, _)| answer).collect();
        let first = &answers[0];
        for answer in &answers {
            assert!(answer.status().is_success(), "{vendor}: {} {}", answer.status(), text(answer));
            assert_eq!(text(answer), text(first), "{vendor}: every duplicate answers with the one org");
        }
        assert_eq!(answers.iter().filter(|a| !replayed(a)).count(), 1, "{vendor}: one answer is the create");
        assert_eq!(org_count(store, p).await, 1, "{vendor}");
    }
    assert_sound(store).await;
}

#[tokio::test]
async fn a_key_belongs_to_its_caller() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let (a, b) = (provision(store, vendor).await, provision(store, vendor).await);
        let from_a = send(store, &a, Some("shared-key"), None).await;
        let from_b = send(store, &b, Some("shared-key"), None).await;
        assert!(from_b.status().is_success(), "{vendor}: {}", text(&from_b));
        assert!(!replayed(&from_b), "{vendor}: another caller's key is not ours");
        assert_ne!(text(&from_a), text(&from_b));
        assert_eq!((org_count(store, &a).await, org_count(store, &b).await), (1, 1), "{vendor}");
    }
}

#[tokio::test]
async fn malformed_keys_are_400_in_the_vendors_envelope_after_authentication() {
    let store = store().await;
    let long = "k".repeat(256);
    for vendor in Vendor::ALL {
        let p = provision(store, vendor).await;
        for bad in [long.as_str(), "caf\u{e9}"] {
            let refused = send(store, &p, Some(bad), None).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{vendor}: {}", text(&refused));
            let message = error_message(vendor, &body_json(&refused)).unwrap_or_default();
            assert!(message.contains("Idempotency-Key must be"), "{vendor}: {message}");
        }
        assert_eq!(org_count(store, &p).await, 0);
        // Authentication still comes first.
        let mut anonymous = tenant_event(&p, &[("Idempotency-Key", long.as_str())], None);
        for name in ["authorization", "dd-api-key", "x-cal-secret-key", "cookie"] {
            anonymous["headers"].as_object_mut().unwrap().remove(name);
        }
        let status = call(store, vendor, &anonymous).await.status();
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{vendor}: {status}");
    }
}

/// The bar of every route: a create is two round trips, with or without a key, and so is a replay.
#[tokio::test]
async fn every_create_and_every_replay_takes_two_round_trips() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let p = provision(store, vendor).await;
        let plain = Some(OTHER_BODIES.iter().find(|(v, _)| *v == vendor).unwrap().1);
        let (created, trips) = round_trips::counted(send(store, &p, None, plain)).await;
        assert!(created.status().is_success(), "{vendor}: {}", text(&created));
        assert_eq!(trips, 2, "{vendor}: BatchGetItem (credentials, rate window) + TransactWriteItems");
        let (first, trips) = round_trips::counted(send(store, &p, Some("rt"), None)).await;
        assert!(first.status().is_success());
        assert_eq!(trips, 2, "{vendor}: BatchGetItem (… and the key's record) + TransactWriteItems");
        let (again, trips) = round_trips::counted(send(store, &p, Some("rt"), None)).await;
        assert!(replayed(&again));
        assert_eq!(trips, 2, "{vendor}: BatchGetItem + the rate window's charge");
    }
}

#[tokio::test]
async fn an_expired_record_no_longer_holds_its_key() {
    let store = store().await;
    let p = provision(store, Vendor::Devin).await;
    let first = send(store, &p, Some("old"), None).await;
    // Age the record past its 24 hours; DynamoDB's TTL removes items late, so the code must not trust it.
    let out = store.client().scan().table_name(store.table()).send().await.unwrap();
    let record = out.items().iter().find(|i| i.get("type") == Some(&AttributeValue::S("idempotency".into())));
    let record = record.expect("the create wrote its idempotency record");
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", record["pk"].clone())
        .key("sk", record["sk"].clone())
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let again = send(store, &p, Some("old"), None).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(!replayed(&again));
    assert_ne!(text(&again), text(&first));
    assert_eq!(org_count(store, &p).await, 2);
    assert_sound(store).await;
}

#[tokio::test]
async fn a_creates_record_outlives_the_orgs_delete_and_still_answers_as_it_did() {
    let store = store().await;
    let p = provision(store, Vendor::Devin).await;
    let first = send(store, &p, Some("kept"), None).await;
    assert!(first.status().is_success());
    let org_id = serde_json::from_str::<Value>(&text(&first)).unwrap()["org_id"].as_str().unwrap().to_owned();
    let deleted = store.delete_org(&p.tenant.tenant, &org_id).await.unwrap();
    assert!(matches!(deleted, orgmint::store::Deleted::Deleted { .. }), "{deleted:?}");
    // The record answers for an org that is gone: the table is still sound, and the key still means the
    // first request (a retry of it must not create a second org).
    assert_sound(store).await;
    let again = send(store, &p, Some("kept"), None).await;
    assert!(replayed(&again));
    assert_eq!((again.status(), text(&again)), (first.status(), text(&first)));
    assert_eq!(org_count(store, &p).await, 0);
}

/// Over HTTP through `cargo lambda watch`, as a client retries after a lost answer: every vendor replays,
/// and Clerk replays for a fresh session token of the same user (its tokens live a minute).
#[tokio::test(flavor = "multi_thread")]
async fn retries_over_http_replay_for_every_vendor() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let tenants: Vec<Value> = ["calcom", "clerk", "datadog", "devin"]
        .iter()
        .map(|vendor| orgmint(&table, &["tenant", "create", "--vendor", vendor, "--json"]))
        .collect();
    let watch = Watch::start(&table);
    let port = watch.port;
    let post = |tenant: &Value, headers: &Value, body: &str| {
        let (path, body) = (tenant["path"].as_str().unwrap().to_owned(), body.to_owned());
        let content_type = if tenant["vendor"] == "clerk" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let mut sent: Vec<(String, String)> = vec![
            ("content-type".into(), content_type.into()),
            ("idempotency-key".into(), "http-retry-1".into()),
        ];
        sent.extend(
            headers.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
        );
        std::thread::spawn(move || {
            let headers: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            http(port, "POST", &path, &headers, &body)
        })
        .join()
        .unwrap()
    };
    for tenant in &tenants {
        let vendor = tenant["vendor"].as_str().unwrap();
        let body = OTHER_BODIES.iter().find(|(v, _)| v.as_str() == vendor).unwrap().1;
        let (status, headers, first) = post(tenant, &tenant["headers"], body);
        assert!((200..300).contains(&status), "{vendor}: {status} {first}");
        assert!(!headers.iter().any(|(k, _)| k == "idempotent-replayed"));
        // Clerk: the retry comes from another client of the same user (its own session and path).
        let retry = if vendor == "clerk" {
            let id = tenant["tenant"].as_str().unwrap();
            let user = tenant["user_id"].as_str().unwrap();
            let mut session =
                orgmint(&table, &["clerk", "session", "--tenant", id, "--user", user, "--json"]);
            session["vendor"] = tenant["vendor"].clone();
            session
        } else {
            tenant.clone()
        };
        let retry_headers = retry["headers"].clone();
        assert_ne!(vendor == "clerk", retry_headers == tenant["headers"]);
        let (again_status, again_headers, again) = post(&retry, &retry_headers, body);
        assert_eq!((again_status, &again), (status, &first), "{vendor}");
        assert!(again_headers.iter().any(|(k, v)| k == "idempotent-replayed" && v == "true"), "{vendor}");
    }
    // The log says which answers were replays: one per vendor, in the same vocabulary.
    let log = watch.stop();
    let lines = orgmint_tests::log_lines(&log, None);
    let replays: Vec<&Value> = lines.iter().filter(|l| l["replayed"] == true).collect();
    assert_eq!(replays.len(), tenants.len(), "{log}");
    assert!(replays.iter().all(|l| l["outcome"] == "replayed" && l["tenant"].is_string()), "{replays:?}");
    assert_eq!(orgmint(&table, &["verify", "--json"])["ok"], true);
}

/// A delete (or update) whose authentication read came before its twin committed finds the org gone: it
/// answers with the twin's record, not a 404 (the race `calcom::a_retried_delete…` once lost).
#[tokio::test]
async fn a_change_that_finds_its_org_gone_answers_as_the_twin_that_changed_it() {
    use orgmint::idempotency::IdempotencyKey;
    use orgmint::lambda::{delete_once, update_once};
    use orgmint::store::{Deleted, OrgChange, Updated};

    let store = store().await;
    let p = provision(store, Vendor::Devin).await;
    let created = send(store, &p, None, None).await;
    let org_id =
        serde_json::from_str::<Value>(&text(&created)).unwrap()["org_id"].as_str().unwrap().to_owned();
    let tenant = &p.tenant.tenant;
    let now_ms = orgmint::clock::now_ms();
    let answer = |org: &orgmint::Org| (StatusCode::OK, serde_json::json!({"gone": org.id}));
    let key = IdempotencyKey::new(Vendor::Devin, "twin", &["k"], "/delete", b"").unwrap();
    let first = delete_once(store, tenant, &org_id, Some(&key), now_ms, answer).await.unwrap().unwrap();
    // The twin, as if its authentication read had found no record: the org is gone, the record answers.
    let twin = delete_once(store, tenant, &org_id, Some(&key), now_ms, answer).await.unwrap().unwrap();
    assert_eq!(twin.headers()["idempotent-replayed"], "true");
    assert_eq!((twin.status(), text(&twin)), (first.status(), text(&first)));
    // Without a key, or with another key, it is not there.
    let other = IdempotencyKey::new(Vendor::Devin, "other", &["k"], "/delete", b"").unwrap();
    for key in [None, Some(&other)] {
        let gone = delete_once(store, tenant, &org_id, key, now_ms, answer).await.unwrap();
        assert!(matches!(gone, Err(Deleted::NotFound)), "{key:?}");
    }
    let change = |org: &orgmint::Org| OrgChange { name: "x".into(), slug: None, doc: org.doc.clone() };
    let updated =
        update_once(store, (tenant, tenant, &org_id), change, Some(&other), now_ms, answer).await.unwrap();
    assert!(matches!(updated, Err(Updated::NotFound)));
    assert_sound(store).await;
}
