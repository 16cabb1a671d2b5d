fn main() -> Result<(), lambda_http::Error> {
    orgmint::pipeline::main::<clerk_touch_session::Clerk>()
}
