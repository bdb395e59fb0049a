//! The `introspect` function: `auth_core::endpoints::introspect::handle` in the Lambda runtime.
use auth_core::{endpoints::introspect, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(introspect::handle).await
}
