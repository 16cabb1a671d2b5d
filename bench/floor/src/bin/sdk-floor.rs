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
    // The functions' loader and client builder, but the SDK's default HTTPS client.
    let sdk = Store::sdk_loader().load().await;
    let client: &'static Client = Box::leak(Box::new(Client::from_conf(Store::client_builder(&sdk).build())));
    let table: &'static str = std::env::var("ORGMINT_TABLE").unwrap_or_else(|_| "orgmint".into()).leak();
    let _ = get_item(client, table).await;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        get_item(client, table).await?;
        Ok::<_, Error>(json!({"statusCode": 200}))
    }))
    .await
}
