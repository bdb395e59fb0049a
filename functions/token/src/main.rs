//! The `token` function: `auth_core::endpoints::token::handle` in the Lambda runtime.
use auth_core::{endpoints::token, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run_concurrent(token::handle).await
}
