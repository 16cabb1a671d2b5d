fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<devin_list_enterprise_organizations::Devin>()
}
