// A relying party's view (issue 13): openid-client v6, a strict OpenID Connect client,
// configured from the discovery document alone, signs a user in with the authorization code
// flow, PKCE and a nonce, and validates the ID token (signature by the published key, iss,
// aud, exp, iat, nonce, at_hash, auth_time against max_age, and after a refresh the same sub).
// The user's side (login and consent) is driven with plain fetch and a cookie jar, as in
// oauth4webapi.test.mjs. The stack is plain http on 127.0.0.1: allowInsecureRequests, for
// these tests only.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { ISSUER, FLOW_TIMEOUT, STEP_TIMEOUT, authctl, createClient, createUser, unique, userAgent, formFields, form } from './helpers.mjs';

const AUDIENCE = process.env.AUTH_AUDIENCE || ISSUER;
// Nothing listens here: the flow stops at the redirect, whose Location we read.
const REDIRECT_URI = 'http://127.0.0.1:8766/callback';

/** openid-client's configuration from the discovery document, for this client. */
async function discover(registered) {
  const config = await client.discovery(
    new URL(ISSUER),
    registered.client_id,
    registered.client_secret,
    registered.client_secret ? client.ClientSecretPost(registered.client_secret) : client.None(),
    { execute: [client.allowInsecureRequests], timeout: STEP_TIMEOUT / 1000 },
  );
  // Every later request (token, JWKS) gets the same generous limit.
  config.timeout = STEP_TIMEOUT / 1000;
  return config;
}

/** A new authorization request with PKCE, state and nonce; `extra` adds parameters. */
async function newRequest(config, extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

/** Signs in on the form authorize sent the browser to; returns where the server sends it next. */
async function signIn(agent, response, user) {
  assert.equal(response.status, 302, await response.text());
  const toLogin = new URL(response.headers.get('location'), ISSUER);
  assert.equal(toLogin.origin + toLogin.pathname, `${ISSUER}/login`);
  const page = await agent.request(toLogin);
  assert.equal(page.status, 200);
  const fields = formFields(await page.text(), '/login');
  const signedIn = await agent.request(`${ISSUER}/login`, form({ ...fields, username: user.username, password: user.password }));
  assert.equal(signedIn.status, 303, await signedIn.text());
  return signedIn.headers.get('location');
}

/** Approves on the consent page; returns the callback URL. */
async function approve(agent, response) {
  assert.equal(response.status, 200, 'the consent page is shown');
  const fields = formFields(await response.text(), '/oauth/consent');
  const approved = await agent.request(`${ISSUER}/oauth/consent`, form({ ...fields, decision: 'approve' }));
  assert.equal(approved.status, 303, await approved.text());
  return new URL(approved.headers.get('location'));
}

/** The redirect to the client, as a URL. */
function callback(response) {
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location'));
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  return location;
}

/** The code on `callbackUrl` exchanged for `request`'s tokens: openid-client checks state, iss,
 * PKCE, the nonce and the ID token; `checks` adds its other checks (`maxAge`). */
function redeem(config, callbackUrl, request, checks = {}) {
  return client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: request.codeVerifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    ...checks,
    idTokenExpected: true,
  });
}

describe('openid-client v6: OpenID Connect sign-in configured from discovery alone', { timeout: FLOW_TIMEOUT * 3 }, () => {
  let registered;
  let config;
  let user;

  before(async () => {
    registered = createClient({
      name: unique('JS openid-client'),
      redirectUris: [REDIRECT_URI],
      scopes: ['openid', 'profile', 'email'],
      grants: ['authorization_code', 'refresh_token'],
    });
    user = createUser('js-oidc');
    config = await discover(registered);
  });

  it('discovery describes an OpenID Provider of the code flow and nothing more', () => {
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, ISSUER);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    assert.deepEqual(metadata.subject_types_supported, ['public']);
    assert.deepEqual(metadata.id_token_signing_alg_values_supported, ['RS256']);
    assert.ok(metadata.scopes_supported.includes('openid'));
    assert.deepEqual(metadata.prompt_values_supported, ['none', 'login', 'consent', 'select_account']);
    assert.equal(metadata.claims_parameter_supported, false);
    assert.equal(metadata.request_parameter_supported, false);
    assert.equal(metadata.request_uri_parameter_supported, false);
  });

  it('signs in with code, PKCE and nonce; prompt=none, max_age=0 and a refresh follow', { timeout: FLOW_TIMEOUT * 2 }, async () => {
    const agent = userAgent();
    const first = await newRequest(config);
    const back = await signIn(agent, await agent.request(first.url), user);
    const callbackUrl = await approve(agent, await agent.request(back));

    // openid-client checks state, iss (RFC 9207), the code exchange, and the ID token.
    const tokens = await redeem(config, callbackUrl, first);
    const claims = tokens.claims();
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, user.sub);
    assert.equal(claims.aud, registered.client_id);
    assert.equal(claims.nonce, first.nonce);
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.at_hash, 'string');
    assert.equal(claims.name, undefined, 'no profile claims in the ID token of the code flow');
    assert.equal(decodeProtectedHeader(tokens.id_token).typ, 'JWT');

    // API Gateway's JWT authorizer: the access token's aud is the API, the ID token's the client.
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri), { timeoutDuration: STEP_TIMEOUT });
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' });
    assert.equal(access.payload.aud, AUDIENCE);
    assert.notEqual(registered.client_id, AUDIENCE);
    await assert.rejects(jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: AUDIENCE }), 'an ID token is no access token');

    // prompt=none with the session and the consent: the code at once, no page.
    const silent = await newRequest(config, { prompt: 'none' });
    const silentTokens = await redeem(config, callback(await agent.request(silent.url)), silent);
    assert.equal(silentTokens.claims().sub, user.sub);
    assert.equal(silentTokens.claims().sid, claims.sid, 'the same session');

    // prompt=none from a browser without a session: login_required, to the redirect URI.
    const stranger = userAgent();
    const refused = callback(await stranger.request((await newRequest(config, { prompt: 'none' })).url));
    assert.equal(refused.searchParams.get('error'), 'login_required');

    // max_age=0: sign in again although signed in; openid-client checks auth_time against it.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await newRequest(config, { max_age: '0' });
    const backAgain = await signIn(agent, await agent.request(again.url), user);
    const reauthenticated = await redeem(config, callback(await agent.request(backAgain)), again, { maxAge: 0 });
    assert.ok(reauthenticated.claims().auth_time > claims.auth_time, 'a new sign-in');
    assert.notEqual(reauthenticated.claims().sid, claims.sid, 'a new session');

    // A refresh: a new ID token of the same user and client, without nonce (Core 12.2).
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    const refreshedClaims = refreshed.claims();
    assert.equal(refreshedClaims.sub, claims.sub);
    assert.equal(refreshedClaims.aud, claims.aud);
    assert.equal(refreshedClaims.nonce, undefined);
    assert.equal(refreshedClaims.auth_time, claims.auth_time);
    assert.equal(decodeJwt(refreshed.id_token).iss, ISSUER);
  });
});

// Sign-out with a real ID token (issue 13.6): the ID token of an openid-client sign-in serves
// as `id_token_hint` at authorize (prompt=none) and at the end_session_endpoint, whose URL
// openid-client builds from discovery (buildEndSessionUrl).
describe('openid-client v6: UserInfo, id_token_hint and sign-out with the ID token it received', { timeout: FLOW_TIMEOUT * 3 }, () => {
  const SIGNED_OUT = 'http://127.0.0.1:8766/';
  let registered;
  let config;
  let user;
  const name = `Ada ${unique('Lovelace')}`;

  before(async () => {
    registered = authctl(['client', 'create', '--name', unique('JS sign-out'), '--redirect-uri', REDIRECT_URI,
      '--post-logout-redirect-uri', SIGNED_OUT, '--scope', 'openid', '--scope', 'profile', '--scope', 'email']);
    user = createUser('js-signout');
    authctl(['user', 'update', user.username, '--name', name]);
    config = await discover(registered);
  });

  it('signs in, reads the name from UserInfo, re-authorizes with the hint, signs out with it', { timeout: FLOW_TIMEOUT * 2 }, async () => {
    const agent = userAgent();
    const first = await newRequest(config, { scope: 'openid profile email' });
    const back = await signIn(agent, await agent.request(first.url), user);
    const tokens = await redeem(config, await approve(agent, await agent.request(back)), first);
    const claims = tokens.claims();
    assert.equal(claims.sub, user.sub);

    // UserInfo: the name authctl set, for the ID token's subject (openid-client checks sub).
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.name, name);

    // The ID token as id_token_hint with prompt=none: the code at once, for the same user.
    const silent = await newRequest(config, { scope: 'openid profile email', prompt: 'none', id_token_hint: tokens.id_token });
    const silentTokens = await redeem(config, callback(await agent.request(silent.url)), silent);
    assert.equal(silentTokens.claims().sub, user.sub);
    // A hint that is no ID token of ours (the access token): invalid_request, to the app.
    const bad = await newRequest(config, { prompt: 'none', id_token_hint: tokens.access_token });
    const refusedHint = callback(await agent.request(bad.url));
    assert.equal(refusedHint.searchParams.get('error'), 'invalid_request');
    assert.equal(refusedHint.searchParams.get('state'), bad.state);

    // Sign-out: the end_session_endpoint from discovery, the ID token as hint, a registered address.
    const cookieName = agent.jar.get('__Host-session') ? '__Host-session' : 'session';
    const oldCookie = agent.jar.get(cookieName);
    assert.ok(oldCookie, 'signed in');
    const state = client.randomState();
    const logoutUrl = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: SIGNED_OUT,
      state,
    });
    assert.equal(logoutUrl.origin + logoutUrl.pathname, config.serverMetadata().end_session_endpoint);
    const signedOut = await agent.request(logoutUrl);
    assert.equal(signedOut.status, 302, await signedOut.text());
    const returned = new URL(signedOut.headers.get('location'));
    assert.equal(returned.origin + returned.pathname, SIGNED_OUT);
    assert.equal(returned.searchParams.get('state'), state);
    const expired = signedOut.headers.getSetCookie()
      .filter((line) => /^(__Host-)?session=/.test(line))
      .map((line) => line.toLowerCase());
    assert.equal(expired.length, 1, `the session cookie is expired: ${signedOut.headers.getSetCookie()}`);
    assert.ok(expired[0].includes('max-age=0'), expired[0]);
    assert.equal(agent.jar.get(cookieName), undefined);

    // The session is gone: prompt=none now answers login_required, for this browser and for
    // one that kept the old cookie (the session item was deleted, not just the cookie).
    for (const cookie of [undefined, `${cookieName}=${oldCookie}`]) {
      const after = await newRequest(config, { prompt: 'none' });
      const response = await fetch(after.url, {
        headers: cookie ? { cookie } : {},
        redirect: 'manual',
        signal: AbortSignal.timeout(STEP_TIMEOUT),
      });
      const refused = callback(response);
      assert.equal(refused.searchParams.get('error'), 'login_required');
      assert.equal(refused.searchParams.get('state'), after.state);
    }
  });
});
