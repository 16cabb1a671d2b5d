fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<datadog_update_org::Datadog>()
}
