#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<devin_list_enterprise_organizations::Devin>().await
}
