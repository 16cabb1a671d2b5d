#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<clerk_create_session_token::Clerk>().await
}
