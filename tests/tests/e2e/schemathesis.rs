//! Each function's OpenAPI document against the function itself, through `cargo lambda watch`, with
//! schemathesis (installed into .tools/venv by make test): zero 5xx, and statuses, content types and
//! bodies as documented. Tenants come from `orgmint tenant create` (rate limit off, a large cap).
//!
//! Two runs per document: the coverage phase with invalid data too (structured, UTF-8), then examples
//! and fuzzing with valid data. Fuzzing's invalid data includes bodies that are not UTF-8, which
//! `cargo lambda watch` itself answers with a 500 before any function sees them (API Gateway delivers them
//! base64-encoded instead; tests/tests/e2e/fuzz.rs sends such bodies to the handlers).

use std::process::Command;

use orgmint_tests::{heavy, http, orgmint, root, store, Watch};

const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// The OpenAPI document under functions/ that documents `function`'s route (a function's own, or its
/// dialect's: Clerk's covers its six endpoints).
fn document_of(function: &str) -> std::path::PathBuf {
    let route = orgmint_cli::registry::FUNCTIONS.iter().find(|f| f.name == function).unwrap().route;
    let path = route.split_once(' ').unwrap().1;
    let own = root().join("functions").join(function).join("openapi.yaml");
    let documents =
        std::fs::read_dir(root().join("functions")).unwrap().map(|e| e.unwrap().path().join("openapi.yaml"));
    std::iter::once(own)
        .chain(documents)
        .find(|doc| std::fs::read_to_string(doc).is_ok_and(|text| text.contains(&format!("\n  {path}:"))))
        .unwrap_or_else(|| panic!("no OpenAPI document names {route}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_openapi_document_holds_against_its_function() {
    let _heavy = heavy().await;
    let table = store().await.table().to_owned();
    let watch = Watch::start(&table);
    let url = format!("http://127.0.0.1:{}", watch.port);
    let work = std::env::temp_dir().join(format!("orgmint-schemathesis-{}", watch.port));
    std::fs::create_dir_all(&work).unwrap();
    let examples = std::env::var("ORGMINT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "40".into());
    for (vendor, function) in orgmint_cli::registry::FUNCTIONS.map(|f| (f.vendor.as_str(), f.name)) {
        let tenant = orgmint(
            &table,
            &["tenant", "create", "--vendor", vendor, "--rate-limit", "0", "--cap", "1000000", "--json"],
        );
        // The first request waits for watch to build and start the function.
        let path = tenant["path"].as_str().unwrap();
        assert_ne!(http(watch.port, "POST", path, &[], "{}").0, 0, "{vendor}: no answer");
        // Cal.com's {orgId}: the tenant's own organization, so that creates succeed too; Clerk's
        // {session_id}: the tenant's session.
        let config = work.join(format!("{vendor}.toml"));
        let org_id = if vendor == "calcom" { tenant["tenant"].as_str().unwrap() } else { "1" };
        let session = tenant["session_id"].as_str().unwrap_or("sess_none");
        let parameters =
            format!("[parameters]\n\"path.orgId\" = {org_id}\n\"path.session_id\" = \"{session}\"\n");
        std::fs::write(&config, parameters).unwrap();
        let document = document_of(function);
        for run in [
            ["--mode", "all", "--phases", "coverage"],
            ["--mode", "positive", "--phases", "examples,fuzzing"],
        ] {
            let mut command = Command::new(root().join(".tools/venv/bin/schemathesis"));
            command.current_dir(&work).arg("--config-file").arg(&config).arg("run").arg(&document);
            command.args(["--url", &url, "--checks", CHECKS, "-n", &examples, "--no-color"]);
            command.args(["--generation-database", "none", "--request-timeout", "60"]).args(run);
            for (name, value) in tenant["headers"].as_object().unwrap() {
                command.args(["-H", &format!("{name}: {}", value.as_str().unwrap())]);
            }
            let out = command.output().expect("schemathesis (make test installs it into .tools/venv)");
            let text = String::from_utf8_lossy(&out.stdout);
            let summary: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("generated") || l.contains(" passed") || l.contains("failed"))
                .collect();
            println!("{vendor} {}: {}", run[3], summary.join(" | ").trim());
            assert!(
                out.status.success(),
                "{vendor} ({}):\n{text}{}",
                run[3],
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    drop(watch);
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!(orgmint(&table, &["verify", "--json"])["ok"], true);
}
