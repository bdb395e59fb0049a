//! The `account` function: `auth_core::endpoints::account::handle` in the Lambda runtime.
use auth_core::{endpoints::account, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(account::handle).await
}
