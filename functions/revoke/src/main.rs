//! The `revoke` function: `auth_core::endpoints::revoke::handle` in the Lambda runtime.
use auth_core::{endpoints::revoke, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(revoke::handle).await
}
