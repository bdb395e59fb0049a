//! The `authorize` function: `auth_core::endpoints::authorize::handle` in the Lambda runtime.
use auth_core::{endpoints::authorize, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run_concurrent(authorize::handle).await
}
