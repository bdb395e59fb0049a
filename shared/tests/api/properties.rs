//! Property tests of every parser of untrusted input (issue 14.2): for any input, no panic,
//! and the rule each one promises. The fuzz targets in `fuzz/` drive the same functions with
//! coverage guidance on nightly; these run on stable in `cargo test`.

use auth_core::client::check_redirect_uri;
use auth_core::client_auth::{basic, Basic};
use auth_core::config::Config;
use auth_core::endpoints::login::safe_return_to;
use auth_core::http::{form_encode, HttpRequest, Params};
use auth_core::lambda::HttpApiEvent;
use auth_core::model::{ClientKind, PkceChallenge, PkceMethod, ScopeSet};
use auth_core::pkce;
use auth_core::secret::sha256_b64;
use auth_core::tokens::verify_access_token;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::Method;
use proptest::prelude::*;

use crate::common::fixtures::shared_key;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings with the characters that parsers trip over: separators, escapes, controls,
/// multi-byte and invalid sequences once percent-decoded.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>().prop_map(String::from),
            prop::sample::select(vec![
                "&", "=", "%", "%2", "%zz", "%FF", "%C3", "+", ";", ":", "/", "//", "\\", "?", "#",
                "@", "\"", "'", "<", "\n", "\r", "\0", " ", "..", "é", "\u{202e}",
            ])
            .prop_map(str::to_string),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    /// Form and query parsing: any bytes give parameters or a refusal, never a panic; what
    /// `form_encode` writes is read back as written.
    #[test]
    fn params_parse_any_bytes(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Params::parse(&input);
    }

    #[test]
    fn params_read_back_what_was_encoded(
        pairs in prop::collection::vec(("[a-z_]{1,12}", hostile()), 0..6)
    ) {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(_, value)| !value.contains('\0'))
            .collect();
        let borrowed: Vec<(&str, &str)> =
            pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let encoded = form_encode(&borrowed);
        let parsed = Params::parse(encoded.as_bytes());
        prop_assert!(parsed.is_ok(), "{encoded}");
        let parsed = parsed.unwrap_or_default();
        for (name, value) in &pairs {
            if pairs.iter().filter(|(other, _)| other == name).count() == 1 {
                // RFC 6749 3.1: a parameter without a value is as if omitted.
                let expected = (!value.is_empty()).then_some(value.as_str());
                prop_assert_eq!(parsed.get(name), expected);
            } else {
                prop_assert!(parsed.is_repeated(name));
            }
        }
    }

    /// HTTP Basic: any header value decodes to credentials, a malformed attempt, or another
    /// scheme; what a client library encodes (RFC 6749 2.3.1) decodes to what it encoded.
    #[test]
    fn basic_decodes_any_header(value in hostile()) {
        let _ = basic(&value);
        let _ = basic(&format!("Basic {value}"));
    }

    #[test]
    fn basic_reads_back_what_a_client_encodes(id in hostile(), secret in hostile()) {
        let encode = |s: &str| form_encode(&[("x", s)])[2..].to_string();
        let header = format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret))));
        prop_assert_eq!(
            basic(&header),
            Basic::Credentials { client_id: id, secret }
        );
    }

    /// Cookies: any `Cookie` header is searched without a panic; a name is never matched by
    /// a longer or shorter one.
    #[test]
    fn cookies_are_found_by_their_exact_name(header in hostile(), value in "[A-Za-z0-9._-]{0,50}") {
        let request = HttpRequest::new(Method::GET, "/")
            .with_header("cookie", &format!("{header}; session_x=other; session={value}"));
        let _ = request.cookie("session_x");
        if !header.contains("session=") && !header.contains('\r') && !header.contains('\n') && !header.contains('\0') {
            let found = request.cookie("session");
            prop_assert!(found == Some(value.as_str()) || request.header("cookie").is_none());
        }
    }

    /// `return_to`: whatever is accepted is a path of this service, so that signing in can
    /// never send the browser elsewhere.
    #[test]
    fn return_to_is_always_a_local_path(value in hostile()) {
        for candidate in [value.clone(), format!("/{value}"), format!("//{value}")] {
            if let Some(accepted) = safe_return_to(Some(&candidate)) {
                let path = accepted.split('?').next().unwrap_or("");
                prop_assert!(path.starts_with('/') && !path.starts_with("//"), "{accepted:?}");
                prop_assert!(!path.contains('\\'), "{accepted:?}");
                prop_assert!(!accepted.chars().any(|c| c.is_control() || c.is_whitespace()));
            }
        }
    }

    /// Redirect URIs: whatever registration accepts has no user information and no fragment,
    /// and uses `http` only on a loopback host.
    #[test]
    fn accepted_redirect_uris_keep_the_rules(value in hostile(), host in "[a-z0-9.:@\\[\\]-]{0,30}") {
        for candidate in [value.clone(), format!("https://{host}/{value}"), format!("http://{host}/{value}"), format!("com.example.app:/{value}")] {
            for kind in [ClientKind::Public, ClientKind::Confidential] {
                if check_redirect_uri(&candidate, kind).is_ok() {
                    prop_assert!(!candidate.contains('#'), "{candidate:?}");
                    let parsed = url::Url::parse(&candidate);
                    prop_assert!(parsed.is_ok(), "{candidate:?}");
                    let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert!(parsed.username().is_empty() && parsed.password().is_none(), "{candidate:?}");
                    if parsed.scheme() == "http" {
                        let host = parsed.host_str().unwrap_or("");
                        prop_assert!(matches!(host, "127.0.0.1" | "[::1]" | "localhost"), "{candidate:?}");
                    }
                }
            }
        }
    }

    /// Scopes: any value parses or is refused; a parsed set prints as a value that parses to
    /// the same set.
    #[test]
    fn scopes_round_trip(value in hostile()) {
        if let Some(set) = ScopeSet::parse(&value) {
            prop_assert_eq!(ScopeSet::parse(&set.to_string()), Some(set));
        }
    }

    /// PKCE: a verifier matches only the challenge derived from it, and any input is safe.
    #[test]
    fn pkce_accepts_only_the_verifier_of_the_challenge(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in hostile(),
    ) {
        let challenge = PkceChallenge { challenge: sha256_b64(verifier.as_bytes()), method: PkceMethod::S256 };
        prop_assert!(pkce::verify(&challenge, &verifier));
        prop_assert!(!pkce::verify(&challenge, &other) || other == verifier);
        let _ = pkce::is_well_formed(&other);
    }

    /// JWT verification: no string verifies without our signature, including tokens that
    /// claim `none`, HS256 keyed with our public key (algorithm confusion), or our `kid`.
    #[test]
    fn no_forged_token_verifies(payload in hostile(), signature in hostile(), junk in hostile()) {
        let config = Config::for_tests();
        let key = shared_key();
        let keys = [key.public_half()];
        let kid = &keys[0].kid;
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let claims = part(&format!(
            r#"{{"iss":"{}","aud":"{}","sub":"s","exp":9999999999,"jti":"j","client_id":"c","scope":"read","iat":1,"x":{payload:?}}}"#,
            config.issuer, config.audience
        ));
        for header in [
            r#"{"alg":"none","typ":"at+jwt"}"#.to_string(),
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}"}}"#),
        ] {
            for signature in ["".to_string(), part(&signature), URL_SAFE_NO_PAD.encode(&keys[0].n)] {
                let token = format!("{}.{claims}.{signature}", part(&header));
                prop_assert!(verify_access_token(&config, &keys, &token).is_none(), "{token}");
            }
        }
        prop_assert!(verify_access_token(&config, &keys, &junk).is_none());
    }

    /// The API Gateway event conversion: any event becomes a request without a panic, its raw
    /// query string kept as sent (lambda_http 1.3's own conversion panicked on some).
    #[test]
    fn any_accepted_event_converts(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "get", "", "X"]),
        path in hostile(),
        query in hostile(),
        cookie in hostile(),
        body in hostile(),
        encoded in any::<bool>(),
        source_ip in hostile(),
    ) {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "cookies": [cookie],
            "headers": { "content-type": "application/x-www-form-urlencoded", "x": body },
            "requestContext": {
                "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "t" },
                "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0
            },
            "body": body,
            "isBase64Encoded": encoded
        });
        // Every value of these fields is an event the runtime accepts; it becomes a request or,
        // only for a method that is not a token or a body that is not base64, a 400.
        let parsed = HttpApiEvent::from_json(&event.to_string());
        prop_assert!(parsed.is_ok(), "{event}");
        if let Ok(parsed) = parsed {
            match parsed.into_request() {
                Ok(request) => {
                    prop_assert_eq!(request.query.as_deref().unwrap_or(""), query.as_str());
                    let _ = request.query_params();
                    let _ = request.form_params();
                    let _ = request.cookie("session");
                }
                Err(_) => prop_assert!(method.is_empty() || encoded),
            }
        }
    }
}
