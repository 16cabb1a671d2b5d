#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<devin_delete_enterprise_organization::Devin>().await
}
