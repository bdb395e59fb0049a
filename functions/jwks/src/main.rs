//! The `jwks` function: `auth_core::endpoints::jwks::handle` in the Lambda runtime.
use auth_core::{endpoints::jwks, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(jwks::handle).await
}
