fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<devin_update_enterprise_organization::Devin>()
}
