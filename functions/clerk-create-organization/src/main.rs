#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::lambda::run(clerk_create_organization::ROUTE, clerk_create_organization::handle).await
}
