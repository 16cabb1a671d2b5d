#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::run::<calcom_list_managed_organizations::Calcom>().await
}
