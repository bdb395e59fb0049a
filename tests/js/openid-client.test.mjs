// A relying party's view of UserInfo (issue 13.4): openid-client v6, configured by OpenID
// discovery alone, runs the code flow with PKCE for `openid profile email` (the user's side,
// login and consent, driven with plain fetch and a hand-kept cookie jar) and calls
// fetchUserInfo, which checks the response strictly (JSON, `sub`) and parses the
// WWW-Authenticate challenge of a refusal.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { ISSUER, FLOW_TIMEOUT, STEP_TIMEOUT, authctl, createClient, createUser } from './helpers.mjs';

// Nothing listens here: the flow stops at the redirect, whose Location we read.
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

/** A fetch that never follows redirects and keeps the cookies of one origin. */
function userAgent() {
  const cookies = new Map();
  return async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new URL(url, ISSUER), { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT) });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  };
}

const unescapeHtml = (text) =>
  text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (whole, entity) => {
    if (entity[0] !== '#') return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()];
    return String.fromCodePoint(entity[1].toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
  });

/** The named inputs of the form that posts to `action`. */
function formFields(html, action) {
  const form = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].find(([, attrs]) => attrs.includes(`action="${action}"`));
  assert.ok(form, `no form posting to ${action} in:\n${html}`);
  const fields = {};
  for (const [, attrs] of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name="([^"]*)"/.exec(attrs)?.[1];
    if (name) fields[name] = unescapeHtml(/value="([^"]*)"/.exec(attrs)?.[1] ?? '');
  }
  return fields;
}

const post = (fields) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/** The user's side: authorize -> login -> authorize -> consent (if asked) -> the callback URL. */
async function signInAndApprove(authorizationUrl, user) {
  const request = userAgent();
  let response = await request(authorizationUrl);
  assert.equal(response.status, 302, await response.text());
  const toLogin = new URL(response.headers.get('location'), ISSUER);
  response = await request(toLogin);
  const loginFields = formFields(await response.text(), '/login');
  response = await request('/login', post({ ...loginFields, username: user.username, password: user.password }));
  assert.equal(response.status, 303, await response.text());
  response = await request(response.headers.get('location'));
  if (response.status === 200) {
    const consentFields = formFields(await response.text(), '/oauth/consent');
    response = await request('/oauth/consent', post({ ...consentFields, decision: 'approve' }));
  }
  assert.ok([302, 303].includes(response.status), await response.text());
  return new URL(response.headers.get('location'));
}

describe('openid-client: UserInfo of a code flow configured from discovery alone', { timeout: FLOW_TIMEOUT * 2 }, () => {
  let config;
  let user;

  before(async () => {
    const rp = createClient({ redirectUris: [REDIRECT_URI], scopes: ['openid', 'profile', 'email'] });
    user = createUser('js-oidc');
    authctl(['user', 'update', user.username, '--name', 'Grace Hopper', '--email', 'grace@example.com', '--email-verified', 'true']);
    // The local stack is plain http on 127.0.0.1: allowInsecureRequests is for these tests only.
    config = await client.discovery(new URL(ISSUER), rp.client_id, rp.client_secret, undefined, {
      execute: [client.allowInsecureRequests],
      timeout: STEP_TIMEOUT / 1000,
    });
  });

  async function accessToken(scope) {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    const callback = await signInAndApprove(url, user);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    return tokens.access_token;
  }

  it('discovery names the UserInfo endpoint and its claims', () => {
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, ISSUER);
    assert.equal(metadata.userinfo_endpoint, `${ISSUER}/oauth/userinfo`);
    for (const claim of ['sub', 'name', 'email', 'email_verified', 'updated_at']) {
      assert.ok(metadata.claims_supported.includes(claim), claim);
    }
  });

  it('fetchUserInfo answers the claims of openid profile email for the known sub', { timeout: FLOW_TIMEOUT }, async () => {
    const token = await accessToken('openid profile email');
    const claims = await client.fetchUserInfo(config, token, user.sub);
    assert.equal(claims.sub, user.sub);
    assert.equal(claims.name, 'Grace Hopper');
    assert.equal(claims.email, 'grace@example.com');
    assert.equal(claims.email_verified, true);
    assert.equal(typeof claims.updated_at, 'number');
    // Another user's sub is refused by the library: the answer is about this token's user.
    await assert.rejects(client.fetchUserInfo(config, token, 'someone-else'), (error) => {
      assert.equal(error.cause?.cause?.attribute, 'sub', `${error}`);
      return true;
    });
  });

  it('a token without profile and email gets sub alone', { timeout: FLOW_TIMEOUT }, async () => {
    const claims = await client.fetchUserInfo(config, await accessToken('openid'), client.skipSubjectCheck);
    assert.deepEqual(Object.keys(claims), ['sub']);
  });

  it('refusals carry a Bearer challenge the library parses', { timeout: FLOW_TIMEOUT }, async () => {
    const challenge = async (token) => {
      try {
        await client.fetchUserInfo(config, token, client.skipSubjectCheck);
      } catch (error) {
        assert.ok(error instanceof client.WWWAuthenticateChallengeError, `${error}`);
        const [first] = error.cause;
        assert.equal(first.scheme, 'bearer');
        return { status: error.status, ...first.parameters };
      }
      assert.fail('fetchUserInfo succeeded');
    };
    const invalid = await challenge('not-a-token');
    assert.equal(invalid.status, 401);
    assert.equal(invalid.error, 'invalid_token');
    const noOpenid = await challenge(await accessToken('profile email'));
    assert.equal(noOpenid.status, 403);
    assert.equal(noOpenid.error, 'insufficient_scope');
    assert.equal(noOpenid.scope, 'openid');
  });
});
