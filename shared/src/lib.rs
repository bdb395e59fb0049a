//! Domain crate of Auth API: everything an endpoint does, behind storage traits,
//! so that each Lambda function's `main.rs` only wires configuration and clients.

pub mod account;
pub mod app;
pub mod authorization;
pub mod authorization_context;
pub mod bearer;
pub mod cache;
pub mod client;
pub mod client_assertion;
pub mod client_auth;
pub mod config;
pub mod consent;
pub mod cors;
pub mod endpoints;
pub mod http;
pub mod id_token_hint;
pub mod ids;
pub mod jwks_fetch;
pub mod keys;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod openid_request;
pub mod pages;
pub mod password;
pub mod pkce;
pub mod profile;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod session;
pub mod store;
pub mod throttle;
pub mod tokens;

pub use app::App;
pub use config::Config;
