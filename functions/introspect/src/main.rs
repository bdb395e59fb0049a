//! `POST /oauth/introspect`
use auth_core::{endpoints::introspect, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    lambda::serve(|request| {
        let app = &app;
        async move { introspect::handle(&app.store, &app.config, &request).await }
    })
    .await
}
