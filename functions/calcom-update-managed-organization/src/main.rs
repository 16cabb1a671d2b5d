#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<calcom_update_managed_organization::Calcom>().await
}
