fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_delete_organization::Clerk>()
}
