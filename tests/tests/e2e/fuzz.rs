//! Hostile input at every vendor's real handler, over DynamoDB Local: arbitrary bytes and arbitrary JSON
//! bodies, odd content types, odd and duplicated headers, the tenant's own credential (intact or damaged),
//! another vendor's, or none. Every answer must be a non-5xx in the vendor's error envelope (or a
//! success), no handler may panic, only the intact credential may create, and afterwards every invariant
//! of the table holds and each vendor's organizations are exactly its successes.
//!
//! `ORGMINT_FUZZ_CASES` sets the cases per vendor (default 250, about a minute for all four).

use std::collections::BTreeMap;

use lambda_http::http::StatusCode;
use orgmint::{arbitrary, Vendor};
use orgmint_tests::{assert_sound, caller, envelope_problem, handle, store, vendor_request, Caller};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// How the case authenticates.
#[derive(Debug, Clone)]
enum Auth {
    /// The tenant's own headers, intact.
    Own,
    /// The tenant's own headers with one value damaged: cut, extended, or a character changed.
    Damaged {
        header: prop::sample::Index,
        how: u8,
    },
    /// Another vendor's tenant's headers.
    Foreign(prop::sample::Index),
    None,
}

#[derive(Debug, Clone)]
struct Case {
    auth: Auth,
    content_type: Option<Vec<u8>>,
    /// Appended after the credential's headers (so a duplicate never displaces it).
    headers: Vec<(String, Vec<u8>)>,
    /// Cal.com: another `{orgId}` than the tenant's.
    org_id: Option<String>,
    body: Vec<u8>,
}

fn fields(vendor: Vendor) -> &'static [&'static str] {
    match vendor {
        Vendor::Devin => &["display_name", "acu_limit", "add_creator_as_member"],
        Vendor::Datadog => &["name", "billing", "subscription"],
        Vendor::Calcom => &["name", "slug", "metadata", "apiKeyDaysValid", "apiKeyNeverExpires"],
        Vendor::Clerk => &["name", "slug"],
    }
}

fn case(vendor: Vendor) -> impl Strategy<Value = Case> {
    let auth = prop_oneof![
        5 => Just(Auth::Own),
        1 => (any::<prop::sample::Index>(), 0u8..3).prop_map(|(header, how)| Auth::Damaged { header, how }),
        1 => any::<prop::sample::Index>().prop_map(Auth::Foreign),
        1 => Just(Auth::None),
    ];
    let content_type = prop_oneof![
        2 => Just(None),
        3 => Just(Some(b"application/json".to_vec())),
        4 => prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/json;;",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/problem+json",
            "",
            ";",
        ])
        .prop_map(|t| Some(t.as_bytes().to_vec())),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
    ];
    let header_name = prop::sample::select(vec![
        "authorization",
        "content-type",
        "cookie",
        "dd-api-key",
        "dd-application-key",
        "x-cal-client-id",
        "x-cal-secret-key",
        "idempotency-key",
        "x-request-id",
        "content-length",
        "transfer-encoding",
        "accept",
        "x-forwarded-for",
    ]);
    let header_value = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..64),
        1 => arbitrary::text().prop_map(String::into_bytes),
        1 => "(Bearer|bearer|Basic|BEARER) ?[ -~]{0,60}".prop_map(String::into_bytes),
    ];
    let headers = prop::collection::vec((header_name.prop_map(str::to_owned), header_value), 0..4);
    let org_id = if vendor == Vendor::Calcom {
        prop_oneof![4 => Just(None), 1 => "[0-9]{1,20}|[A-Za-z0-9%+._~-]{0,24}".prop_map(Some)].boxed()
    } else {
        Just(None).boxed()
    };
    (auth, content_type, headers, org_id, arbitrary::body(fields(vendor))).prop_map(
        |(auth, content_type, headers, org_id, body)| Case { auth, content_type, headers, org_id, body },
    )
}

/// The credential's headers of `case` for `own`'s endpoint, and whether they are `own`'s intact.
fn credential_headers(case: &Case, own: &Caller, others: &[&Caller]) -> (Vec<(String, Vec<u8>)>, bool) {
    let bytes = |c: &Caller| c.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
    match &case.auth {
        Auth::Own => (bytes(own), true),
        Auth::None => (Vec::new(), false),
        Auth::Foreign(which) => (bytes(others[which.index(others.len())]), false),
        Auth::Damaged { header, how } => {
            let mut headers: Vec<(String, Vec<u8>)> = bytes(own);
            let at = header.index(headers.len());
            let value = &mut headers[at].1;
            match how {
                0 => {
                    value.pop();
                }
                1 => value.push(b'0'),
                _ => {
                    let last = value.len() - 1;
                    value[last] = if value[last] == b'a' { b'b' } else { b'a' };
                }
            }
            (headers, false)
        }
    }
}

/// One case against `own`'s endpoint: the status it was answered with.
fn check(
    rt: &tokio::runtime::Runtime,
    store: &'static orgmint::Store,
    own: &Caller,
    others: &[&Caller],
    case: &Case,
) -> Result<u16, TestCaseError> {
    let vendor = own.vendor;
    let (mut headers, intact) = credential_headers(case, own, others);
    if let Some(content_type) = &case.content_type {
        headers.push(("content-type".to_owned(), content_type.clone()));
    }
    headers.extend(case.headers.iter().cloned());
    let path = match &case.org_id {
        Some(id) => format!("/v2/organizations/{id}/organizations"),
        None => own.path.clone(),
    };
    let response = rt.block_on(handle(vendor, store, vendor_request(vendor, &path, &headers, &case.body)));
    let status = response.status();
    let body = response.body().as_ref().to_vec();
    let text = String::from_utf8_lossy(&body);
    prop_assert!(!status.is_server_error(), "{vendor}: {status} {text}");
    prop_assert!(response.headers().contains_key("x-request-id"), "{vendor}: no x-request-id");
    prop_assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{}",
        vendor
    );
    if status.as_u16() >= 400 {
        if let Some(problem) = envelope_problem(vendor, status.as_u16(), &body) {
            return Err(TestCaseError::fail(problem));
        }
    }
    if !intact {
        // Without the tenant's own credential, nothing passes authentication (Datadog refuses with 403).
        let refused =
            if vendor == Vendor::Datadog { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
        prop_assert_eq!(status, refused, "{}: {:?} → {}", vendor, case.auth, text);
    }
    Ok(status.as_u16())
}

#[test]
fn every_handler_answers_hostile_input_in_its_envelope_and_never_5xx() {
    let cases = std::env::var("ORGMINT_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(250);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (store, callers) = rt.block_on(async {
        let store = store().await;
        let mut callers = Vec::new();
        for vendor in Vendor::ALL {
            callers.push(caller(store, vendor, 1_000_000).await);
        }
        (store, callers)
    });
    // Per vendor: how often each status was answered.
    let mut statuses: Vec<(Vendor, BTreeMap<u16, usize>)> = Vec::new();
    for own in &callers {
        let others: Vec<&Caller> = callers.iter().filter(|c| c.vendor != own.vendor).collect();
        let config = Config { cases, failure_persistence: None, ..Config::default() };
        // `run` takes an `Fn`: the tally lives in a cell.
        let seen = std::cell::RefCell::new(BTreeMap::new());
        TestRunner::new(config)
            .run(&case(own.vendor), |case| {
                let status = check(&rt, store, own, &others, &case)?;
                *seen.borrow_mut().entry(status).or_default() += 1;
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{}: {failure}", own.vendor));
        statuses.push((own.vendor, seen.into_inner()));
    }
    let inventory = rt.block_on(async {
        assert_sound(store).await;
        store.inventory().await.unwrap()
    });
    for (vendor, seen) in &statuses {
        // No case failed, so nothing was shrunk: every status counted is one generated case.
        let created: usize = seen.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
        let stored = inventory.orgs.iter().filter(|(t, _)| t.vendor == *vendor).count();
        assert_eq!(stored, created, "{vendor}: organizations stored vs. successful answers");
        println!("{vendor}: {} cases, statuses {seen:?}", seen.values().sum::<usize>());
    }
}
