fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<calcom_get_managed_organization::Calcom>()
}
