//! The OpenID Connect parameters of an authorization request (Core 3.1.2.1): `nonce`,
//! `prompt`, `max_age` and `login_hint`, checked with the rest of the request by
//! `authorization::validate`, and the rule that says whether a session's sign-in is recent
//! enough for the request (`prompt=login`, `max_age`).
//!
//! Forcing a new sign-in needs to tell, when the browser comes back from `/login`, that the
//! session is a new one. authorize sends the browser to sign in with a `return_to` that
//! repeats the request plus `signed_in_after=<ms>` (`SIGNED_IN_AFTER`), the time the server
//! first saw the request; a session that began after it satisfies `prompt=login` and
//! `max_age`, however long the sign-in took. The marker is no secret and needs none: it is
//! part of the client's own request, and whoever sets it can only spare themselves a sign-in
//! they asked for. The ID token's `auth_time` (always present) tells the truth either way.
//!
//! `id_token_hint` is kept as it came: authorize verifies it against the published keys
//! (`AuthorizationRequest::verify_id_token_hint`) and `AuthorizationRequest::next_step`
//! requires the user it names to be the signed-in one; it never travels in the consent form.
//! `request` and `request_uri` are refused with their own errors (Core 6.1, 6.2).

use crate::http::Params;
use crate::ids;
use crate::oauth::ErrorCode;

/// The parameter of authorize's own `return_to` that says when the request was first seen
/// (milliseconds since the Unix epoch): a sign-in after it is fresh enough for the request.
pub const SIGNED_IN_AFTER: &str = "signed_in_after";

/// The longest `nonce` (bytes). Clients use 128 to 256 bits of randomness, a few dozen
/// characters; 255 leaves room for a hash or a structured value and keeps the code item, the
/// consent form and the ID token small.
pub const MAX_NONCE_BYTES: usize = 255;

/// The longest `max_age` written in decimal: 10 digits, over 300 years.
const MAX_AGE_DIGITS: usize = 10;

/// The `prompt` values (Core 3.1.2.1), a space-delimited set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Show no page: answer with an error where one would be needed.
    pub none: bool,
    /// Sign in again, even with a session.
    pub login: bool,
    /// Ask for consent again, even when it was given before.
    pub consent: bool,
    /// Let the user choose the account. There is one account per browser session, so the
    /// choice is the sign-in form: as `login`, where the user may sign in as anyone.
    pub select_account: bool,
}

/// What discovery advertises (`prompt_values_supported`).
pub const PROMPT_VALUES: [&str; 4] = ["none", "login", "consent", "select_account"];

impl Prompt {
    /// `None` for an unknown value, or `none` with another (Core 3.1.2.1: an error).
    pub fn parse(value: &str) -> Option<Self> {
        let mut prompt = Prompt::default();
        for word in value.split(' ').filter(|word| !word.is_empty()) {
            match word {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                _ => return None,
            }
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return None;
        }
        Some(prompt)
    }

    /// Whether the user must sign in again whatever their session.
    pub fn forces_sign_in(&self) -> bool {
        self.login || self.select_account
    }

    /// The set as the consent form carries it; `None` when empty.
    pub fn as_value(&self) -> Option<String> {
        let words: Vec<&str> = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
            (self.select_account, "select_account"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect();
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// The OpenID Connect parameters of a request that passed the checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenIdParameters {
    /// Echoed in the ID token of the code (Core 3.1.2.1, 3.1.3.6).
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// Seconds: the longest time since the user last entered their password.
    pub max_age: Option<i64>,
    /// Prefills the username on the sign-in form; only a value that could be a username, and
    /// never more than a suggestion.
    pub login_hint: Option<String>,
    /// `SIGNED_IN_AFTER`, from authorize's own `return_to`.
    pub signed_in_after_ms: Option<i64>,
    /// An ID token the client received before, naming the user it expects (Core 3.1.2.1);
    /// unverified here: authorize checks it against the published keys.
    pub id_token_hint: Option<String>,
}

/// Why the parameters were refused: the error and its fixed description.
pub type Refusal = (ErrorCode, &'static str);

impl OpenIdParameters {
    /// Reads and checks the parameters (the request's repeated parameters were refused before).
    pub fn parse(params: &Params) -> Result<Self, Refusal> {
        if params.get("request").is_some() {
            return Err((
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if params.get("request_uri").is_some() {
            return Err((
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        let nonce = match params.get("nonce") {
            Some(nonce) if nonce.len() > MAX_NONCE_BYTES => {
                return Err((ErrorCode::InvalidRequest, "nonce must be at most 255 bytes"))
            }
            Some(nonce) if nonce.chars().any(char::is_control) => {
                return Err((
                    ErrorCode::InvalidRequest,
                    "nonce must not contain control characters",
                ))
            }
            nonce => nonce.map(str::to_string),
        };
        let prompt = match params.get("prompt") {
            Some(value) => Prompt::parse(value).ok_or((
                ErrorCode::InvalidRequest,
                "prompt must be none, or any of login, consent and select_account",
            ))?,
            None => Prompt::default(),
        };
        let max_age = match params.get("max_age") {
            Some(value) => Some(parse_digits(value, MAX_AGE_DIGITS).ok_or((
                ErrorCode::InvalidRequest,
                "max_age must be a number of seconds",
            ))?),
            None => None,
        };
        // A hint is a hint: one that cannot be a username is left out, never an error.
        let login_hint = params
            .get("login_hint")
            .filter(|hint| ids::is_username(hint))
            .map(str::to_string);
        // Only ever written by authorize; a value that is not a time is no marker.
        let signed_in_after_ms = params
            .get(SIGNED_IN_AFTER)
            .and_then(|value| parse_digits(value, 15));
        let id_token_hint = params.get("id_token_hint").map(str::to_string);
        Ok(OpenIdParameters {
            nonce,
            prompt,
            max_age,
            login_hint,
            signed_in_after_ms,
            id_token_hint,
        })
    }

    /// Whether the request asks for a recent sign-in (`prompt=login`, `select_account`, or
    /// `max_age`): then a sign-in it sends the browser to is marked with `SIGNED_IN_AFTER`.
    pub fn wants_recent_sign_in(&self) -> bool {
        self.prompt.forces_sign_in() || self.max_age.is_some()
    }

    /// Whether a session that began at `signed_in_at_ms` is recent enough for the request at
    /// `now_ms`: it began after the request was first seen (a sign-in the request sent the
    /// browser to), or, without `prompt=login`, within `max_age` (`max_age=0`: never).
    pub fn sign_in_is_recent_enough(&self, signed_in_at_ms: i64, now_ms: i64) -> bool {
        if self.signed_in_by_this_request(signed_in_at_ms, now_ms) {
            return true;
        }
        // `max_age=0`: a sign-in of this very millisecond is not one the request asked for.
        if self.prompt.forces_sign_in() || self.max_age == Some(0) {
            return false;
        }
        match self.max_age {
            Some(max_age) => now_ms - signed_in_at_ms <= max_age.saturating_mul(1000),
            None => true,
        }
    }

    /// Whether a session that began at `signed_in_at_ms` is a sign-in this request sent the
    /// browser to: it began after the request was first seen (`SIGNED_IN_AFTER`, not from the
    /// future at `now_ms`).
    pub fn signed_in_by_this_request(&self, signed_in_at_ms: i64, now_ms: i64) -> bool {
        self.signed_in_after_ms
            .is_some_and(|after| after <= now_ms && signed_in_at_ms > after)
    }

    /// The fields the consent form carries, so that the code gets the `nonce` (the marker and
    /// the `id_token_hint` stay behind: consent is bound to the very session authorize judged).
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        if let Some(nonce) = &self.nonce {
            fields.push(("nonce", nonce.clone()));
        }
        if let Some(prompt) = self.prompt.as_value() {
            fields.push(("prompt", prompt));
        }
        if let Some(max_age) = self.max_age {
            fields.push(("max_age", max_age.to_string()));
        }
        if let Some(hint) = &self.login_hint {
            fields.push(("login_hint", hint.clone()));
        }
        fields
    }
}

/// A non-negative decimal of 1 to `max_digits` digits.
fn parse_digits(value: &str, max_digits: usize) -> Option<i64> {
    if value.is_empty() || value.len() > max_digits || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// authorize's `return_to` query: the request's query without any `SIGNED_IN_AFTER`, then
/// (when `marker_ms` is given) the marker of this sign-in.
pub fn return_to_query(query: &str, marker_ms: Option<i64>) -> String {
    let prefix = format!("{SIGNED_IN_AFTER}=");
    let mut kept: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && *pair != SIGNED_IN_AFTER && !pair.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    if let Some(marker) = marker_ms {
        kept.push(format!("{prefix}{marker}"));
    }
    kept.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<OpenIdParameters, Refusal> {
        let params = Params::parse(query.as_bytes()).unwrap_or_default();
        OpenIdParameters::parse(&params)
    }

    #[test]
    fn prompt_values_and_their_combinations() {
        assert_eq!(Prompt::parse(""), Some(Prompt::default()));
        assert_eq!(
            Prompt::parse("login consent").map(|p| (p.login, p.consent)),
            Some((true, true))
        );
        assert_eq!(Prompt::parse("login login").map(|p| p.login), Some(true));
        for refused in [
            "none login",
            "consent none",
            "none select_account",
            "bogus",
            "Login",
        ] {
            assert_eq!(Prompt::parse(refused), None, "{refused}");
        }
        assert_eq!(
            Prompt::parse("consent login").and_then(|p| p.as_value()),
            Some("login consent".to_string())
        );
        assert_eq!(Prompt::default().as_value(), None);
        for value in PROMPT_VALUES {
            assert!(Prompt::parse(value).is_some(), "{value}");
        }
    }

    #[test]
    fn nonce_max_age_and_login_hint_are_checked() {
        assert!(parse(&format!("nonce={}", "n".repeat(255))).is_ok());
        assert!(parse(&format!("nonce={}", "n".repeat(256))).is_err());
        assert!(parse("nonce=a%0Ab").is_err());
        for bad in ["-1", "1.5", "abc", "12345678901", "+3"] {
            assert!(parse(&format!("max_age={bad}")).is_err(), "{bad}");
        }
        assert_eq!(parse("max_age=0").map(|p| p.max_age), Ok(Some(0)));
        assert_eq!(
            parse("login_hint=alice").map(|p| p.login_hint),
            Ok(Some("alice".to_string()))
        );
        assert_eq!(
            parse("login_hint=%3Cscript%3E").map(|p| p.login_hint),
            Ok(None)
        );
        assert_eq!(
            parse("request=eyJ").map_err(|(code, _)| code),
            Err(ErrorCode::RequestNotSupported)
        );
        assert_eq!(
            parse("request_uri=https%3A%2F%2Fx").map_err(|(code, _)| code),
            Err(ErrorCode::RequestUriNotSupported)
        );
        let hinted = parse("id_token_hint=eyJ.eyJ.sig&claims=%7B%7D");
        assert_eq!(
            hinted.as_ref().map(|p| p.id_token_hint.as_deref()),
            Ok(Some("eyJ.eyJ.sig"))
        );
        assert!(hinted.is_ok_and(|p| p
            .form_fields()
            .iter()
            .all(|(name, _)| *name != "id_token_hint")));
    }

    #[test]
    fn a_sign_in_is_recent_enough_after_the_request_or_within_max_age() {
        let now = 1_000_000;
        let plain = OpenIdParameters::default();
        assert!(plain.sign_in_is_recent_enough(0, now));

        let login = parse("prompt=login").unwrap_or_default();
        assert!(!login.sign_in_is_recent_enough(now, now));
        let marked = parse("prompt=login&signed_in_after=999000").unwrap_or_default();
        assert!(marked.sign_in_is_recent_enough(999_001, now));
        assert!(!marked.sign_in_is_recent_enough(999_000, now));
        // A marker from the future is no marker.
        let future = parse("prompt=login&signed_in_after=2000000").unwrap_or_default();
        assert!(!future.sign_in_is_recent_enough(now, now));

        let max_age = parse("max_age=60").unwrap_or_default();
        assert!(max_age.sign_in_is_recent_enough(now - 60_000, now));
        assert!(!max_age.sign_in_is_recent_enough(now - 60_001, now));
        let zero = parse("max_age=0").unwrap_or_default();
        assert!(!zero.sign_in_is_recent_enough(now - 1, now));
        assert!(!zero.sign_in_is_recent_enough(now, now));
        let zero_marked = parse("max_age=0&signed_in_after=999000").unwrap_or_default();
        assert!(zero_marked.sign_in_is_recent_enough(999_500, now));
    }

    #[test]
    fn the_return_to_query_carries_one_marker() {
        assert_eq!(
            return_to_query("a=1&signed_in_after=5&b=2", Some(7)),
            "a=1&b=2&signed_in_after=7"
        );
        assert_eq!(return_to_query("a=1&signed_in_after", None), "a=1");
        assert_eq!(return_to_query("", Some(7)), "signed_in_after=7");
    }
}
