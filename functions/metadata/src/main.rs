//! The `metadata` function: `auth_core::endpoints::metadata::handle` in the Lambda runtime.
use auth_core::{endpoints::metadata, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(metadata::handle).await
}
