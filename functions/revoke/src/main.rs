//! `POST /oauth/revoke`
use auth_core::{endpoints::revoke, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    lambda::serve(|request| {
        let app = &app;
        async move { revoke::handle(&app.store, &app.config, &request).await }
    })
    .await
}
