//! `POST /oauth/introspect`
use auth_core::cache::WarmCache;
use auth_core::{endpoints::introspect, lambda, App};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let app = App::from_env().await?;
    let cache = WarmCache::default();
    lambda::serve(|request| {
        let (app, cache) = (&app, &cache);
        async move { introspect::handle(&app.store, &app.config, cache, &request).await }
    })
    .await
}
