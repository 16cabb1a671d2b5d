//! Size limits on all four endpoints, with valid credentials: a body over 64 KiB is 413, a header value
//! over 8 KiB or headers over 16 KiB in all are 431, each in the vendor's envelope and with nothing
//! written; right at each limit the request is served.

use orgmint::lambda::{MAX_BODY_BYTES, MAX_HEADERS_TOTAL_BYTES, MAX_HEADER_BYTES};
use orgmint::{Store, Vendor};
use orgmint_tests::{assert_sound, caller, envelope_problem, handle, store, vendor_request, Caller};

/// `c`'s own credential and content type, then `extra` headers, and `body`: the status.
async fn send(store: &'static Store, c: &Caller, extra: &[(&str, String)], body: &[u8]) -> u16 {
    let mut headers: Vec<(String, Vec<u8>)> =
        vec![("content-type".into(), c.content_type.clone().into_bytes())];
    headers.extend(c.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone().into_bytes())));
    let response = handle(c.vendor, store, vendor_request(c.vendor, &c.path, &headers, body)).await;
    let status = response.status().as_u16();
    if status >= 400 {
        assert_eq!(envelope_problem(c.vendor, status, response.body().as_ref()), None);
    }
    status
}

async fn orgs(store: &Store) -> usize {
    store.inventory().await.unwrap().orgs.len()
}

/// The caller's sample body padded with trailing white space to exactly `len` bytes.
fn padded(c: &Caller, len: usize) -> Vec<u8> {
    let mut body = c.body.clone().into_bytes();
    body.resize(len, if c.vendor == Vendor::Clerk { b'&' } else { b' ' });
    body
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_at_the_limit_served() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let c = caller(store, vendor, 100).await;
        let before = orgs(store).await;
        assert_eq!(send(store, &c, &[], &padded(&c, MAX_BODY_BYTES + 1)).await, 413, "{vendor}");
        assert_eq!(orgs(store).await, before, "{vendor}: a refused body wrote something");
        let status = send(store, &c, &[], &padded(&c, MAX_BODY_BYTES)).await;
        assert!((200..300).contains(&status), "{vendor}: {status} at exactly {MAX_BODY_BYTES} bytes");
    }
    assert_sound(store).await;
}

#[tokio::test]
async fn headers_over_their_limits_are_431_and_at_the_limits_served() {
    let store = store().await;
    for vendor in Vendor::ALL {
        let c = caller(store, vendor, 100).await;
        let before = orgs(store).await;
        // One header over its limit: an oversized credential, and an oversized header of no meaning.
        let (name, value) = &c.headers[0];
        let long_credential = format!("{value}{}", "0".repeat(MAX_HEADER_BYTES + 1 - value.len()));
        let oversized: Vec<(&str, String)> = vec![(name.as_str(), long_credential)];
        // The credential header is replaced: its own value comes first, so send only the long one.
        let own_replaced = Caller { headers: c.headers[1..].to_vec(), ..c.clone() };
        assert_eq!(
            send(store, &own_replaced, &oversized, c.body.as_bytes()).await,
            431,
            "{vendor}: credential"
        );
        let padding = |n: usize| "p".repeat(n);
        assert_eq!(
            send(store, &c, &[("x-padding", padding(MAX_HEADER_BYTES + 1))], c.body.as_bytes()).await,
            431
        );
        // All headers together over their limit, each within its own.
        let many: Vec<(&str, String)> =
            ["x-a", "x-b", "x-c"].iter().map(|n| (*n, padding(MAX_HEADERS_TOTAL_BYTES / 3))).collect();
        assert_eq!(send(store, &c, &many, c.body.as_bytes()).await, 431, "{vendor}: in all");
        assert_eq!(orgs(store).await, before, "{vendor}: a refused request wrote something");
        // Right at the limit of one header: served.
        let status = send(store, &c, &[("x-padding", padding(MAX_HEADER_BYTES))], c.body.as_bytes()).await;
        assert!(
            (200..300).contains(&status),
            "{vendor}: {status} with a header of exactly {MAX_HEADER_BYTES}"
        );
    }
    assert_sound(store).await;
}
