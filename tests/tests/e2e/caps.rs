//! The cap, for every vendor of the registry alike: thirty concurrent creates at cap 10 create exactly ten,
//! the other twenty are the vendor's own 403 naming the cap and write nothing; a cap of 0 allows none.

use std::sync::Arc;

use orgmint::Vendor;
use orgmint_cli::registry::FUNCTIONS;
use orgmint_tests::load::{self, assert_outcomes, drive, Caller};
use orgmint_tests::{assert_sound, error_message, store, Options};

/// What each vendor says at a cap of 10, word for word.
fn cap_message(vendor: Vendor, org: &str) -> String {
    match vendor {
        Vendor::Calcom => {
            format!("Organization with id={org} has reached its limit of 10 managed organizations.")
        }
        Vendor::Clerk => "You cannot create more than 10 organizations per account.".to_owned(),
        Vendor::Datadog => "Maximum number of child organizations (10) reached".to_owned(),
        Vendor::Devin => "Enterprise organization limit reached (10)".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_concurrent_creates_at_cap_10_create_exactly_10_for_every_vendor() {
    for function in FUNCTIONS {
        let vendor = function.vendor;
        let store = store().await;
        let options = Options { cap: 10, rate_limit: Some(0), ..Options::new(vendor) };
        let callers = Arc::new(vec![Caller::new(store, &options).await]);
        let outcomes = drive(store, &callers, 30, load::jobs(30, 1)).await;
        // Every create is stored once and whole in its scope, no refusal stored anything, nothing else was.
        assert_eq!(assert_outcomes(store, &callers, &outcomes).await, vec![10], "{vendor}");
        let expected = cap_message(vendor, &callers[0].provisioned.public_id);
        for refused in outcomes.iter().filter(|o| !o.created()) {
            assert_eq!(refused.status, 403, "{vendor}: {}", refused.body);
            assert_eq!(error_message(vendor, &refused.body).as_deref(), Some(expected.as_str()), "{vendor}");
        }
        assert_eq!(store.count_orgs(&callers[0].scope()).await.unwrap(), 10, "{vendor}");
        assert_sound(store).await;
    }
}

#[tokio::test]
async fn a_cap_of_zero_allows_nothing_for_every_vendor() {
    for function in FUNCTIONS {
        let vendor = function.vendor;
        let store = store().await;
        let caller =
            Caller::new(store, &Options { cap: 0, rate_limit: Some(0), ..Options::new(vendor) }).await;
        let response = caller.create(store, "none").await;
        assert_eq!(response.status(), 403, "{vendor}");
        assert_eq!(store.count_orgs(&caller.scope()).await.unwrap(), 0, "{vendor}");
        assert_sound(store).await;
    }
}
