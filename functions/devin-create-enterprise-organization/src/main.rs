#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::lambda::run(
        devin_create_enterprise_organization::ROUTE,
        devin_create_enterprise_organization::handle,
    )
    .await
}
