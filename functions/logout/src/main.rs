//! The `logout` function: `auth_core::endpoints::logout::handle` in the Lambda runtime.
use auth_core::{endpoints::logout, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(logout::handle).await
}
