fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_list_memberships::Clerk>()
}
