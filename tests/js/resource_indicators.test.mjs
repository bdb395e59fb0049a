// Several APIs behind one server (RFC 8707, issue 15.4): two APIs registered with authctl,
// a machine's tokens asked for each with oauth4webapi's client credentials grant. Each token
// works only at its own API, as the API checks it: with oauth4webapi's validateJwtAccessToken
// (RFC 9068) and with API Gateway's JWT authorizer (helpers.mjs's emulation) configured for
// that API's audience, as README's "Verifying access tokens in your API" shows.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { ISSUER, STEP_TIMEOUT, apiGatewayJwtAuthorizer, authctl, createClient, createScope, unique } from './helpers.mjs';

const insecure = { [oauth.allowInsecureRequests]: true, signal: () => AbortSignal.timeout(STEP_TIMEOUT) };

describe('resource indicators: each token for its own API', () => {
  let as, machine, client;
  const apis = {};

  before(async () => {
    as = await oauth.processDiscoveryResponse(new URL(ISSUER),
      await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oauth2', ...insecure }));
    for (const name of ['orders', 'billing']) {
      const scope = createScope(`js-${name}`).name;
      const uri = `https://${unique(name)}.example`;
      authctl(['resource', 'create', uri, '--name', `${name} API`, '--scope', scope]);
      apis[name] = { uri, scope };
    }
    machine = createClient({ redirectUris: [], scopes: [apis.orders.scope, apis.billing.scope], grants: ['client_credentials'] });
    client = { client_id: machine.client_id };
  });

  async function tokenFor(api) {
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(machine.client_secret),
      new URLSearchParams({ scope: api.scope, resource: api.uri }), insecure);
    return (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
  }

  const bearer = (token) => new Request('https://api.example/orders', { headers: { authorization: `Bearer ${token}` } });

  it('oauth4webapi validateJwtAccessToken accepts each token at its own API only', async () => {
    const orders = await tokenFor(apis.orders);
    const billing = await tokenFor(apis.billing);
    const claims = await oauth.validateJwtAccessToken(as, bearer(orders), apis.orders.uri, insecure);
    assert.equal(claims.aud, apis.orders.uri);
    assert.equal(claims.scope, apis.orders.scope);
    await assert.rejects(oauth.validateJwtAccessToken(as, bearer(orders), apis.billing.uri, insecure),
      /unexpected JWT "aud"/);
    await assert.doesNotReject(oauth.validateJwtAccessToken(as, bearer(billing), apis.billing.uri, insecure));
    await assert.rejects(oauth.validateJwtAccessToken(as, bearer(billing), apis.orders.uri, insecure));
  });

  it("API Gateway's JWT authorizer of each API lets in its own tokens only", async () => {
    const orders = await tokenFor(apis.orders);
    const billing = await tokenFor(apis.billing);
    const ordersApi = { issuer: ISSUER, audience: [apis.orders.uri], scopes: [apis.orders.scope] };
    const billingApi = { issuer: ISSUER, audience: [apis.billing.uri] };
    assert.equal((await apiGatewayJwtAuthorizer(ordersApi, `Bearer ${orders}`)).status, 200);
    assert.equal((await apiGatewayJwtAuthorizer(ordersApi, `Bearer ${billing}`)).status, 401);
    assert.equal((await apiGatewayJwtAuthorizer(billingApi, `Bearer ${billing}`)).status, 200);
    assert.equal((await apiGatewayJwtAuthorizer(billingApi, `Bearer ${orders}`)).status, 401);
    // A token without resource is for the default audience: neither API takes it.
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(machine.client_secret),
      { scope: apis.orders.scope }, insecure);
    const plain = (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
    assert.equal((await apiGatewayJwtAuthorizer(ordersApi, `Bearer ${plain}`)).status, 401);
  });

  it('an API that is not registered is invalid_target', async () => {
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(machine.client_secret),
      new URLSearchParams({ scope: apis.orders.scope, resource: 'https://unknown.example' }), insecure);
    await assert.rejects(oauth.processClientCredentialsResponse(as, client, response),
      (error) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_target');
  });
});
