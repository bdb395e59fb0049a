//! `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`
use auth_core::{endpoints::metadata, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    lambda::serve(|request| {
        let app = &app;
        async move { metadata::handle(&app.store, &app.config, &request).await }
    })
    .await
}
