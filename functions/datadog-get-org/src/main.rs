fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<datadog_get_org::Datadog>()
}
