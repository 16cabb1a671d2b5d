fn main() -> Result<(), lambda_http::Error> {
    let serve =
        orgmint::lambda::run(clerk_override_organization::NAMED, clerk_override_organization::dispatch);
    orgmint::lambda::runtime()?.block_on(serve)
}
