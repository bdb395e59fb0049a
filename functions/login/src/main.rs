//! The `login` function: `auth_core::endpoints::login::handle` in the Lambda runtime.
use auth_core::{endpoints::login, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run_concurrent(login::handle).await
}
