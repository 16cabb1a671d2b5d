fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<calcom_create_managed_organization::Calcom>()
}
