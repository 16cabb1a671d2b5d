fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<calcom_delete_managed_organization::Calcom>()
}
