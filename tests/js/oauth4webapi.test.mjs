// A client developer's view: oauth4webapi configured from the metadata document alone
// runs the authorization code flow with PKCE (the user's side, login and consent, is
// driven with plain fetch and a hand-kept cookie jar), and an API developer's view:
// the access token verified offline with jose against the published JWKS.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { ISSUER, FLOW_TIMEOUT, STEP_TIMEOUT, createClient, createScope, createUser, unique, userAgent, formFields, form } from './helpers.mjs';

const AUDIENCE = process.env.AUTH_AUDIENCE || ISSUER;
// Nothing listens here: the flow stops at the redirect, whose Location we read.
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
// The local stack is plain http; every request gets its own (generous) time limit.
const insecure = { [oauth.allowInsecureRequests]: true, signal: () => AbortSignal.timeout(STEP_TIMEOUT) };

/** The metadata document, through oauth4webapi's own discovery and its checks. */
async function discover() {
  const response = await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oauth2', ...insecure });
  return oauth.processDiscoveryResponse(new URL(ISSUER), response);
}

/**
 * The user's side of the flow with fetch: authorize -> login -> authorize -> consent -> 303.
 * Returns the callback URL the browser would be sent to.
 */
async function signInAndApprove(authorizationUrl, user) {
  const { request, jar } = userAgent();

  // 1. No session: authorize sends the user to sign in, with a relative return_to.
  let response = await request(authorizationUrl);
  assert.equal(response.status, 302, await response.text());
  const toLogin = new URL(response.headers.get('location'), ISSUER);
  assert.equal(toLogin.origin + toLogin.pathname, `${ISSUER}/login`);
  const returnTo = toLogin.searchParams.get('return_to');
  assert.equal(returnTo, `/oauth/authorize?${authorizationUrl.search.slice(1)}`);

  // 2. The login form: a hidden csrf_token, the same value as the login_csrf cookie (double submit).
  response = await request(toLogin);
  assert.equal(response.status, 200);
  const loginFields = formFields(await response.text(), '/login');
  assert.ok(loginFields.csrf_token, 'the login form carries a CSRF token');
  assert.equal(jar.get('login_csrf'), loginFields.csrf_token, 'login_csrf cookie matches the form');
  assert.equal(loginFields.return_to, returnTo);

  // 3. POST /login: 303 back to the authorization request, with a session cookie.
  response = await request(`${ISSUER}/login`, form({ ...loginFields, username: user.username, password: user.password }));
  assert.equal(response.status, 303, await response.text());
  const session = response.headers.getSetCookie().find((c) => c.startsWith('session='));
  assert.ok(session, 'a session cookie is set');
  assert.match(session, /HttpOnly/i);
  assert.match(session, /SameSite=Lax/i);
  assert.match(session, /Path=\//);
  const back = response.headers.get('location');
  assert.equal(new URL(back, ISSUER).href, new URL(returnTo, ISSUER).href);

  // 4. Signed in, no consent yet: the consent page, whose form carries the request.
  response = await request(back);
  assert.equal(response.status, 200, 'the consent page is shown');
  const consentFields = formFields(await response.text(), '/oauth/consent');
  for (const name of ['client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method']) {
    assert.equal(consentFields[name], authorizationUrl.searchParams.get(name), `hidden field ${name}`);
  }
  assert.ok(consentFields.csrf_token, 'the consent form carries a CSRF token');

  // 5. Approve: 303 (RFC 9700 4.12) to the redirect URI.
  response = await request(`${ISSUER}/oauth/consent`, form({ ...consentFields, decision: 'approve' }));
  assert.equal(response.status, 303, await response.text());
  return new URL(response.headers.get('location'));
}

async function verifyAccessToken(as, accessToken) {
  const jwks = createRemoteJWKSet(new URL(as.jwks_uri), { timeoutDuration: STEP_TIMEOUT });
  assert.equal(decodeProtectedHeader(accessToken).alg, 'RS256');
  assert.ok(decodeProtectedHeader(accessToken).kid, 'the token names its key');
  const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  for (const claim of ['iss', 'sub', 'aud', 'client_id', 'scope', 'iat', 'exp', 'jti']) {
    assert.ok(payload[claim] !== undefined, `claim ${claim} is present`);
  }
  return payload;
}

const scopeSet = (scope) => new Set(scope.split(' ').filter(Boolean));

describe('oauth4webapi: authorization code flow configured from the metadata alone', { timeout: FLOW_TIMEOUT * 2 }, () => {
  let as;
  let scopes;
  let user;

  before(async () => {
    as = await discover();
    scopes = [createScope('js-o4w-read', 'Read your test things'), createScope('js-o4w-write', 'Change your test things')];
    user = createUser('js-o4w');
  });

  it('metadata names this issuer and what the flow needs', () => {
    assert.equal(as.issuer, ISSUER);
    assert.equal(as.authorization_endpoint, `${ISSUER}/oauth/authorize`);
    assert.equal(as.token_endpoint, `${ISSUER}/oauth/token`);
    assert.ok(as.code_challenge_methods_supported.includes('S256'));
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    for (const method of ['client_secret_basic', 'none']) {
      assert.ok(as.token_endpoint_auth_methods_supported.includes(method), method);
    }
  });

  async function runFlow(client, clientAuth, scope) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint);
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    }).toString();

    const callback = await signInAndApprove(authorizationUrl, user);
    assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
    // Checks state, iss (RFC 9207, strictly: the metadata says it is always sent) and errors.
    const params = oauth.validateAuthResponse(as, client, callback, state);
    assert.ok(params.get('code'));

    const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, codeVerifier, insecure);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    assert.equal(tokens.token_type, 'bearer'); // oauth4webapi lower-cases it
    assert.ok(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0);
    assert.deepEqual(scopeSet(tokens.scope), scopeSet(scope));

    const claims = await verifyAccessToken(as, tokens.access_token);
    assert.equal(claims.client_id, client.client_id);
    assert.equal(claims.sub, user.sub);
    assert.deepEqual(scopeSet(claims.scope), scopeSet(scope));
    assert.ok(claims.exp > claims.iat);
    return tokens;
  }

  it('confidential client, client_secret_basic, refresh token rotates', { timeout: FLOW_TIMEOUT }, async () => {
    const registered = createClient({
      name: unique('JS o4w confidential'),
      redirectUris: [REDIRECT_URI],
      scopes: scopes.map((s) => s.name),
      grants: ['authorization_code', 'refresh_token'],
    });
    assert.ok(registered.client_secret);
    const client = { client_id: registered.client_id };
    const clientAuth = oauth.ClientSecretBasic(registered.client_secret);
    const scope = scopes.map((s) => s.name).join(' ');
    const tokens = await runFlow(client, clientAuth, scope);
    assert.ok(tokens.refresh_token, 'a client allowed refresh_token gets one');

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, insecure),
    );
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotates');
    const claims = await verifyAccessToken(as, refreshed.access_token);
    assert.equal(claims.sub, user.sub);
    assert.equal(claims.client_id, client.client_id);
    assert.deepEqual(scopeSet(claims.scope), scopeSet(scope));
  });

  it('public client, no client authentication (PKCE only)', { timeout: FLOW_TIMEOUT }, async () => {
    const registered = createClient({
      name: unique('JS o4w public'),
      redirectUris: [REDIRECT_URI],
      scopes: [scopes[0].name],
      public: true,
    });
    assert.equal(registered.client_secret ?? undefined, undefined, 'a public client has no secret');
    const client = { client_id: registered.client_id, token_endpoint_auth_method: 'none' };
    const tokens = await runFlow(client, oauth.None(), scopes[0].name);
    assert.equal(tokens.refresh_token, undefined, 'no refresh_token grant, no refresh token');
  });
});
