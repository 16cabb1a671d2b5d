//! The SDK floor: what a function costs when it does nothing but DynamoDB. It loads `aws-config` from the
//! environment, builds the client with the store's own configuration ([`Store::client_builder`]: timeouts,
//! retries, the round-trip interceptor), primes the connection at init as the functions do, and sends one
//! `GetItem` per invocation. It stays the plain SDK on purpose: what the functions do beyond this is what
//! `make bench` measures.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use orgmint::Store;
use serde_json::{json, Value};

/// One `GetItem` of a key that never exists (the same read `Store::prime` makes).
async fn get_item(client: &Client, table: &str) -> Result<(), Error> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S("FLOOR".into()))
        .key("sk", AttributeValue::S("FLOOR".into()))
        .send()
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The standard loader, with the local fallbacks of `Store::from_env` (no effect in Lambda, where the
    // region and credentials are in the environment).
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let env_set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if !env_set("AWS_REGION") && !env_set("AWS_DEFAULT_REGION") {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if env_set("AWS_ENDPOINT_URL_DYNAMODB") && !env_set("AWS_ACCESS_KEY_ID") {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "floor",
        ));
    }
    let sdk = loader.load().await;
    let client: &'static Client = Box::leak(Box::new(Client::from_conf(Store::client_builder(&sdk).build())));
    let table: &'static str = std::env::var("ORGMINT_TABLE").unwrap_or_else(|_| "orgmint".into()).leak();
    let _ = get_item(client, table).await;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        get_item(client, table).await?;
        Ok::<_, Error>(json!({"statusCode": 200}))
    }))
    .await
}
