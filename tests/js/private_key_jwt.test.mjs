// private_key_jwt (issue 15.3, RFC 7523): oauth4webapi's PrivateKeyJwt, configured from the
// metadata document, authenticates a machine (client credentials) and a web app (code
// exchange) with keys registered by `authctl client create --jwks-file`; assertions that
// break a rule (changed with oauth4webapi's modifyAssertion) are refused as invalid_client.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import {
  ISSUER, FLOW_TIMEOUT, STEP_TIMEOUT, authctl, createScope, createUser, unique, signInAndApproveQuietly,
} from './helpers.mjs';

const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const insecure = { [oauth.allowInsecureRequests]: true, signal: () => AbortSignal.timeout(STEP_TIMEOUT) };
const ALGORITHMS = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};

/** A key pair: { key: the private CryptoKey, kid, jwk: the public JWK }. */
async function keyPair(alg) {
  const pair = await webcrypto.subtle.generateKey(ALGORITHMS[alg], true, ['sign', 'verify']);
  const kid = unique(alg.toLowerCase());
  const jwk = { ...(await webcrypto.subtle.exportKey('jwk', pair.publicKey)), kid, use: 'sig' };
  delete jwk.key_ops;
  delete jwk.ext;
  return { key: pair.privateKey, kid, jwk };
}

/** `authctl client create ... --jwks-file` with these public keys. */
function createJwtClient(keys, args) {
  const file = path.join(tmpdir(), `${unique('jwks')}.json`);
  writeFileSync(file, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  try {
    return authctl(['client', 'create', '--name', unique('JS Machine'), ...args, '--jwks-file', file]);
  } finally {
    unlinkSync(file);
  }
}

describe('private_key_jwt with oauth4webapi', { timeout: FLOW_TIMEOUT }, () => {
  let as, scope;

  before(async () => {
    const response = await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
    scope = createScope('js-pkjwt').name;
  });

  it('the metadata names the method and its algorithms', () => {
    assert.ok(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.deepEqual(as.token_endpoint_auth_signing_alg_values_supported, ['RS256', 'ES256']);
  });

  for (const alg of ['RS256', 'ES256']) {
    it(`a machine gets its own token with an ${alg} assertion`, async () => {
      const pair = await keyPair(alg);
      const machine = createJwtClient([pair], ['--grant', 'client_credentials', '--scope', scope]);
      assert.equal(machine.client_secret, undefined);
      const client = { client_id: machine.client_id };
      const response = await oauth.clientCredentialsGrantRequest(
        as, client, oauth.PrivateKeyJwt({ key: pair.key, kid: pair.kid }), { scope }, insecure);
      const result = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(result.scope, scope);
    });
  }

  it('a web app exchanges a code with private_key_jwt', async () => {
    const pair = await keyPair('ES256');
    const app = createJwtClient([pair], ['--redirect-uri', REDIRECT_URI, '--scope', scope]);
    const client = { client_id: app.client_id };
    const user = createUser('js-pkjwt');
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint);
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT_URI, scope, state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    }).toString();
    const callback = await signInAndApproveQuietly(authorizationUrl, user);
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, oauth.PrivateKeyJwt({ key: pair.key, kid: pair.kid }), params, REDIRECT_URI, codeVerifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    assert.equal(tokens.scope, scope);
  });

  it('refuses assertions that break a rule, and a replayed one', async () => {
    const pair = await keyPair('RS256');
    const stranger = await keyPair('RS256');
    const machine = createJwtClient([pair], ['--grant', 'client_credentials', '--scope', scope]);
    const client = { client_id: machine.client_id };
    const now = Math.floor(Date.now() / 1000);
    let captured;
    const ask = (key, change) => oauth.clientCredentialsGrantRequest(as, client, oauth.PrivateKeyJwt(key, {
      [oauth.modifyAssertion]: (header, payload) => {
        change?.(header, payload);
        captured = payload.jti;
      },
    }), { scope }, insecure);
    const refused = async (rule, response) => {
      assert.equal(response.status, 401, rule);
      assert.deepEqual(await response.json(), { error: 'invalid_client', error_description: 'client authentication failed' }, rule);
    };
    const own = { key: pair.key, kid: pair.kid };
    await refused('wrong aud', await ask(own, (h, p) => { p.aud = 'https://elsewhere.example'; }));
    await refused('expired', await ask(own, (h, p) => { p.iat = now - 600; p.nbf = now - 600; p.exp = now - 300; }));
    await refused('too far in the future', await ask(own, (h, p) => { p.exp = now + 3600; }));
    await refused('a key not registered', await ask({ key: stranger.key, kid: stranger.kid }));
    await refused('a key not registered, under a registered kid', await ask({ key: stranger.key, kid: pair.kid }));
    // A replay: the same jti again, in a new signature.
    const first = await ask(own);
    assert.equal(first.status, 200, await first.text());
    const jti = captured;
    await refused('replayed jti', await ask(own, (h, p) => { p.jti = jti; }));
  });
});
