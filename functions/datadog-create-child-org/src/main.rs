#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::lambda::run(datadog_create_child_org::ROUTE, datadog_create_child_org::handle).await
}
