fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_get_organization::Clerk>()
}
