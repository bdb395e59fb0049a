//! `POST /oauth/token`
use auth_core::tokens::SignerCache;
use auth_core::{endpoints::token, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    let signers = SignerCache::default();
    lambda::serve(|request| {
        let (app, signers) = (&app, &signers);
        async move { token::handle(&app.store, &app.config, signers, &request).await }
    })
    .await
}
