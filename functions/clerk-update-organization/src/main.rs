fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_update_organization::Clerk>()
}
