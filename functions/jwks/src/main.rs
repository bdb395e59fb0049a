//! `GET /.well-known/jwks.json`
use auth_core::{endpoints::jwks, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    lambda::serve(|request| {
        let app = &app;
        async move { jwks::handle(&app.store, &request).await }
    })
    .await
}
