//! The `userinfo` function: `auth_core::endpoints::userinfo::handle` in the Lambda runtime.
use auth_core::{endpoints::userinfo, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::run(userinfo::handle).await
}
