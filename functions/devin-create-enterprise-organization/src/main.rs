fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<devin_create_enterprise_organization::Devin>()
}
