#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::lambda::run(clerk_override_organization::NAMED, clerk_override_organization::dispatch).await
}
