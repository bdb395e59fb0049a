//! The `consent` function: `auth_core::endpoints::consent::handle` in the Lambda runtime.
use auth_core::{endpoints::consent, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(consent::handle).await
}
