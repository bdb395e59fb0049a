// A machine's view (issue 15.2): oauth4webapi, configured from the metadata document alone,
// gets the client's own access token with the client credentials grant (RFC 6749 4.4) and
// client_secret_basic; an API checks it offline with jose against the published JWKS.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ISSUER, STEP_TIMEOUT, createClient, createScope } from './helpers.mjs';

const AUDIENCE = process.env.AUTH_AUDIENCE || ISSUER;
const insecure = { [oauth.allowInsecureRequests]: true, signal: () => AbortSignal.timeout(STEP_TIMEOUT) };

describe('client credentials with oauth4webapi', () => {
  let as, machine, scope;

  before(async () => {
    const response = await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
    scope = createScope('js-machine').name;
    machine = createClient({ redirectUris: [], scopes: [scope], grants: ['client_credentials'] });
  });

  it('the metadata lists the grant', () => {
    assert.ok(as.grant_types_supported.includes('client_credentials'));
  });

  it('issues the client its own token, which an API verifies', async () => {
    const client = { client_id: machine.client_id };
    const response = await oauth.clientCredentialsGrantRequest(
      as, client, oauth.ClientSecretBasic(machine.client_secret), { scope }, insecure);
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, scope);
    assert.equal(result.refresh_token, undefined);
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri), { timeoutDuration: STEP_TIMEOUT });
    const { payload, protectedHeader } = await jwtVerify(result.access_token, jwks, {
      issuer: as.issuer, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.sub, machine.client_id);
    assert.equal(payload.client_id, machine.client_id);
    assert.equal(payload.scope, scope);
    assert.equal(payload.gid, undefined, 'no grant: the token stands for the client');
  });

  it('refuses a client that may not use the grant', async () => {
    const app = createClient({ redirectUris: ['http://127.0.0.1:8765/callback'], scopes: [scope] });
    const client = { client_id: app.client_id };
    const response = await oauth.clientCredentialsGrantRequest(
      as, client, oauth.ClientSecretBasic(app.client_secret), { scope }, insecure);
    await assert.rejects(oauth.processClientCredentialsResponse(as, client, response),
      (error) => error instanceof oauth.ResponseBodyError && error.error === 'unauthorized_client');
  });
});
