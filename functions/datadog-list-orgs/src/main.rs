fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<datadog_list_orgs::Datadog>()
}
