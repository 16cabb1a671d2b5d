#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::lambda::run(
        calcom_create_managed_organization::ROUTE,
        calcom_create_managed_organization::handle,
    )
    .await
}
