fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<devin_delete_enterprise_organization::Devin>()
}
