//! The smallest Lambda: `lambda_runtime` answering every event with an empty 200. What exec, the Tokio
//! runtime and the Runtime API client cost before any of our code or the SDK runs.

use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200}))
    }))
    .await
}
