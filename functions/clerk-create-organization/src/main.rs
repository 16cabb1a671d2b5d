fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_create_organization::Clerk>()
}
