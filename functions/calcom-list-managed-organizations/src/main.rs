fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<calcom_list_managed_organizations::Calcom>()
}
