//! The `scopes` function: `auth_core::endpoints::scopes::handle` in the Lambda runtime.
use auth_core::{endpoints::scopes, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(scopes::handle).await
}
