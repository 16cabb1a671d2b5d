//! Deletes (issue 17's store and operator part), for every vendor of the registry alike: a delete removes the
//! organization with everything that belongs to it and frees its slot of the cap; a second delete finds
//! nothing; deletes and creates racing at the cap keep the counter equal to the stored orgs; a child scope
//! that holds orgs is not deleted.

use std::sync::Arc;

use orgmint::store::Deleted;
use orgmint::{TenantRef, Vendor};
use orgmint_cli::registry::FUNCTIONS;
use orgmint_tests::load::Caller;
use orgmint_tests::{assert_sound, body_json, store, Options};

/// The id of the organization a create answered with, as the vendor's API shows it.
fn created_id(vendor: Vendor, body: &serde_json::Value) -> String {
    let id = match vendor {
        Vendor::Calcom => body["data"]["id"].to_string(),
        Vendor::Datadog => body["org"]["public_id"].as_str().unwrap().to_owned(),
        Vendor::Clerk => body["response"]["id"].as_str().unwrap().to_owned(),
        Vendor::Devin => body["org_id"].as_str().unwrap().to_owned(),
    };
    assert!(!id.is_empty() && id != "null", "{vendor}: {body}");
    id
}

#[tokio::test]
async fn a_delete_frees_a_slot_and_leaves_nothing_behind_for_every_vendor() {
    for function in FUNCTIONS {
        let vendor = function.vendor;
        let store = store().await;
        let caller =
            Caller::new(store, &Options { cap: 3, rate_limit: Some(0), ..Options::new(vendor) }).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let response = caller.create(store, &format!("Org {i}")).await;
            assert!(response.status().is_success(), "{vendor}: {}", response.status());
            ids.push(created_id(vendor, &body_json(&response)));
        }
        assert_eq!(caller.create(store, "Over").await.status(), 403, "{vendor}: at the cap");
        let before = store.inventory().await.unwrap();
        let scope = caller.scope();
        let org = store.org(&scope, &ids[1]).await.unwrap().unwrap_or_else(|| panic!("{vendor}: {}", ids[1]));
        // The org as it was comes back with the counter after the delete.
        let deleted = store.delete_org(&scope, &ids[1]).await.unwrap();
        assert!(
            matches!(&deleted, Deleted::Deleted { org_count: 2, org: gone } if **gone == org),
            "{vendor}: {deleted:?}"
        );
        // Everything of it is gone, nothing else is.
        let after = store.inventory().await.unwrap();
        assert_eq!(after.orgs.len(), before.orgs.len() - 1, "{vendor}");
        assert!(!after.orgs.iter().any(|(_, o)| o.id == ids[1]), "{vendor}");
        assert!(!after.members.iter().any(|(_, id, _)| *id == ids[1]), "{vendor}: memberships");
        assert!(
            !after.credentials.iter().any(|(_, id)| id.as_deref() == Some(ids[1].as_str())),
            "{vendor}: credentials"
        );
        assert!(!after.slugs.iter().any(|(_, _, id)| *id == ids[1]), "{vendor}: slug claim");
        assert!(!after.tenants.iter().any(|t| t.tenant.id == ids[1]), "{vendor}: its own scope");
        assert_eq!(
            after.tenants.len(),
            before.tenants.len() - usize::from(before.tenants.iter().any(|t| t.tenant.id == ids[1]))
        );
        assert!(org.slug.is_none() || after.slugs.len() == before.slugs.len() - 1, "{vendor}");
        assert_sound(store).await;
        // Its slot is free: one more create, and the cap again.
        assert!(caller.create(store, "Again").await.status().is_success(), "{vendor}");
        assert_eq!(caller.create(store, "Over again").await.status(), 403, "{vendor}");
        // A second delete finds nothing, and changes nothing.
        assert_eq!(store.delete_org(&scope, &ids[1]).await.unwrap(), Deleted::NotFound, "{vendor}");
        // Another tenant's scope does not hold it.
        let other = Caller::new(store, &Options { rate_limit: Some(0), ..Options::new(vendor) }).await;
        assert_eq!(store.delete_org(&other.scope(), &ids[0]).await.unwrap(), Deleted::NotFound, "{vendor}");
        assert_eq!(store.count_orgs(&scope).await.unwrap(), 3, "{vendor}");
        assert_sound(store).await;
    }
}

/// 32 at once on one scope at its cap of 10: 16 deletes (of 10 orgs, each asked for twice or not at all)
/// and 16 creates. Whatever order they land in, the counter equals the orgs stored and never passes the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_and_creates_racing_at_the_cap_keep_the_counter_exact() {
    // Cal.com's deletes take the managed org's own scope and API key with them: the largest transactions.
    for vendor in [Vendor::Devin, Vendor::Clerk, Vendor::Calcom] {
        let store = store().await;
        let caller = Arc::new(
            Caller::new(store, &Options { cap: 10, rate_limit: Some(0), ..Options::new(vendor) }).await,
        );
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(created_id(vendor, &body_json(&caller.create(store, &format!("Full {i}")).await)));
        }
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (deleter, id) = (caller.clone(), ids[i % 8].clone());
            tasks.push(tokio::spawn(async move {
                (true, store.delete_org(&deleter.scope(), &id).await.unwrap() != Deleted::NotFound)
            }));
            let caller = caller.clone();
            tasks.push(tokio::spawn(async move {
                (false, caller.create(store, &format!("Race {i}")).await.status().is_success())
            }));
        }
        let mut done = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                (true, true) => done.0 += 1,
                (false, true) => done.1 += 1,
                _ => {}
            }
        }
        assert_eq!(done.0, 8, "{vendor}: each of the 8 orgs deleted once");
        let stored = store.count_orgs(&caller.scope()).await.unwrap();
        assert_eq!(stored, 10 - 8 + done.1, "{vendor}");
        assert!(stored <= 10, "{vendor}");
        assert_eq!(store.tenant(&caller.scope()).await.unwrap().unwrap().org_count, stored, "{vendor}");
        assert_sound(store).await;
    }
}

/// A Datadog child is a scope of its own: with orgs of its own (a nested tenant's grandchild) it is not
/// deleted, and nothing is; emptied, it goes with the org.
#[tokio::test]
async fn a_child_scope_that_holds_orgs_is_not_deleted() {
    let store = store().await;
    let parent =
        Caller::new(store, &Options { nested: true, rate_limit: Some(0), ..Options::new(Vendor::Datadog) })
            .await;
    let created = body_json(&parent.create(store, "Child").await);
    let child_id = created_id(Vendor::Datadog, &created);
    // The child's own admin keys create a grandchild under it.
    let mut provisioned = parent.provisioned.clone();
    provisioned.public_id = child_id.clone();
    provisioned.tenant.tenant = TenantRef::new(Vendor::Datadog, &child_id);
    provisioned.headers.insert("DD-API-KEY".into(), created["api_key"]["key"].clone());
    provisioned.headers.insert("DD-APPLICATION-KEY".into(), created["application_key"]["hash"].clone());
    let child = Caller { vendor: Vendor::Datadog, provisioned };
    let grandchild = body_json(&child.create(store, "Grandchild").await);
    let grandchild_id = created_id(Vendor::Datadog, &grandchild);
    let child_scope = TenantRef::new(Vendor::Datadog, &child_id);
    assert_eq!(store.delete_org(&parent.scope(), &child_id).await.unwrap(), Deleted::HasOrgs);
    assert_eq!(store.count_orgs(&parent.scope()).await.unwrap(), 1);
    assert_sound(store).await;
    assert!(matches!(
        store.delete_org(&child_scope, &grandchild_id).await.unwrap(),
        Deleted::Deleted { org_count: 0, .. }
    ));
    assert!(matches!(
        store.delete_org(&parent.scope(), &child_id).await.unwrap(),
        Deleted::Deleted { org_count: 0, .. }
    ));
    assert!(store.tenant(&child_scope).await.unwrap().is_none(), "the child scope went with its org");
    // Its admin keys went with it: they no longer authenticate.
    assert_eq!(child.create(store, "Orphan").await.status(), 403, "the child's keys");
    assert_sound(store).await;
}

/// `orgmint org list` and `orgmint org delete`, as operators run them (local-stack.md's contract), for every
/// vendor: the ids as the vendor's API shows them, the new counter, and a second delete refused.
#[tokio::test]
async fn operators_list_and_delete_with_the_cli_for_every_vendor() {
    let store = store().await;
    let table = store.table().to_owned();
    for function in FUNCTIONS {
        let vendor = function.vendor;
        let caller =
            Caller::new(store, &Options { cap: 2, rate_limit: Some(0), ..Options::new(vendor) }).await;
        let mut ids = Vec::new();
        for name in ["First", "Second"] {
            ids.push(created_id(vendor, &body_json(&caller.create(store, name).await)));
        }
        ids.sort();
        let tenant = caller.provisioned.public_id.clone();
        let scope = ["--vendor", vendor.as_str(), "--tenant", &tenant, "--json"];
        let listed = orgmint_tests::orgmint(&table, &[&["org", "list"][..], &scope].concat());
        let listed: Vec<&str> =
            listed["orgs"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(listed, ids, "{vendor}");
        let delete = [&["org", "delete", "--org", &ids[0]][..], &scope].concat();
        let deleted = orgmint_tests::orgmint(&table, &delete);
        assert_eq!(
            (deleted["deleted"].as_str(), deleted["org_count"].as_u64()),
            (Some(ids[0].as_str()), Some(1)),
            "{vendor}"
        );
        let again = std::process::Command::new(orgmint_tests::orgmint_binary())
            .args(&delete)
            .env("ORGMINT_TABLE", &table)
            .output()
            .unwrap();
        assert!(!again.status.success(), "{vendor}: a second delete");
        assert!(String::from_utf8_lossy(&again.stderr).contains("no organization"), "{vendor}");
    }
    assert_sound(store).await;
}
