fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<datadog_create_child_org::Datadog>()
}
