#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<clerk_get_organization::Clerk>().await
}
