#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<calcom_delete_managed_organization::Calcom>().await
}
