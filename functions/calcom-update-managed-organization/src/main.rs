fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<calcom_update_managed_organization::Calcom>()
}
