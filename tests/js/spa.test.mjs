// A browser app (SPA) that calls the server from its own origin, in headless Chromium (issue
// 15.1): a public client that runs oauth4webapi in the page, as such apps do. Discovery,
// PKCE, the code exchange and a refresh go by `fetch` across origins, so they work only
// if the server answers CORS. The same page at an origin the client did not register gets
// nothing: the browser refuses the answer, and the server refuses the request before it
// spends the code (the registered app then redeems that same code).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ISSUER, ROOT, FLOW_TIMEOUT, STEP_TIMEOUT, createClient, createScope, createUser, launchChromium } from './helpers.mjs';

const OAUTH4WEBAPI = readFileSync(path.join(ROOT, 'tests', 'node_modules', 'oauth4webapi', 'build', 'index.js'));

// The app, as its own origin serves it. `mode` (sessionStorage) says what the callback does:
// `exchange` redeems the code and refreshes; `hold` only shows the code, for the other origin.
const APP_JS = String.raw`
import * as oauth from '/oauth4webapi.js';
const config = JSON.parse(document.getElementById('config').textContent);
const insecure = { [oauth.allowInsecureRequests]: true };
const out = (value) => { document.getElementById('result').textContent = JSON.stringify(value); };
const client = { client_id: config.clientId };
const redirectUri = location.origin + '/callback';

async function discover() {
  const issuer = new URL(config.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
}

window.signIn = async (mode) => {
  const as = await discover();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem('flow', JSON.stringify({ verifier, state, mode }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: config.scope, state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
};

// Redeems a code with this page's origin; reports what the browser let the page see.
window.redeem = async (code, verifier, callbackUri) => {
  try {
    const as = await discover();
    // The callback's parameters as oauth4webapi wants them (its state was checked there).
    const callback = new URL(callbackUri);
    callback.search = new URLSearchParams({ code, iss: as.issuer }).toString();
    const params = oauth.validateAuthResponse(as, client, callback, oauth.skipStateCheck);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, callbackUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    const refreshed = await oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure));
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token, insecure));
    out({ ok: true, scope: tokens.scope, refreshed: refreshed.access_token !== tokens.access_token, revoked: true });
  } catch (error) {
    out({ ok: false, name: error.name, message: String(error.message) });
  }
};

if (location.pathname === '/callback') {
  const flow = JSON.parse(sessionStorage.getItem('flow'));
  const as = await discover();
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), flow.state);
  if (flow.mode === 'hold') {
    out({ held: true, code: params.get('code'), verifier: flow.verifier, redirectUri });
  } else {
    await window.redeem(params.get('code'), flow.verifier, redirectUri);
  }
}
document.body.dataset.ready = '1';
`;

/** Serves the app on its own loopback origin. */
function startAppServer(config) {
  const server = http.createServer((request, response) => {
    const { pathname } = new URL(request.url, 'http://app');
    if (pathname === '/oauth4webapi.js' || pathname === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      response.end(pathname === '/app.js' ? APP_JS : OAUTH4WEBAPI);
    } else if (pathname === '/' || pathname === '/callback') {
      const json = JSON.stringify(config()).replace(/</g, '\\u003c');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>SPA</title>
<script id="config" type="application/json">${json}</script><pre id="result"></pre>
<script type="module" src="/app.js"></script></html>`);
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

describe('browser app: a public client in the page, across origins (CORS)', { timeout: FLOW_TIMEOUT * 3 }, () => {
  let browser;
  let app;
  let stranger;
  let client;
  let scope;
  const contexts = [];

  before(async () => {
    scope = createScope('js-spa', 'Read your tasks');
    const config = () => ({ issuer: ISSUER, clientId: client.client_id, scope: scope.name });
    app = await startAppServer(config);
    stranger = await startAppServer(config);
    client = createClient({
      name: 'Tasks SPA',
      redirectUris: [`${app.origin}/callback`],
      scopes: [scope.name],
      public: true,
      grants: ['authorization_code', 'refresh_token'],
    });
    browser = await launchChromium(STEP_TIMEOUT);
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    for (const { server } of [app, stranger].filter(Boolean)) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    }
  });

  async function newPage() {
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(STEP_TIMEOUT);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT);
    const page = await context.newPage();
    if (process.env.DEBUG_BROWSER) {
      page.on('console', (m) => console.log('CONSOLE', m.text()));
      page.on('response', (r) => console.log('RES', r.status(), r.url().slice(0, 120)));
    }
    return page;
  }

  /** Starts the app's sign-in and goes through login and consent to the callback. */
  async function signInThroughTheApp(page, mode) {
    const user = createUser('js-spa');
    await page.goto(`${app.origin}/`);
    await page.waitForFunction(() => document.body.dataset.ready === '1');
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(`${ISSUER}/login`)),
      page.evaluate((m) => window.signIn(m), mode),
    ]);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${app.origin}/callback`));
    await page.waitForFunction(() => document.getElementById('result').textContent !== '');
    return JSON.parse(await page.locator('#result').textContent());
  }

  it('exchanges its code, refreshes and revokes by fetch from its own origin', { timeout: FLOW_TIMEOUT }, async () => {
    const page = await newPage();
    const result = await signInThroughTheApp(page, 'exchange');
    assert.deepEqual(result, { ok: true, scope: scope.name, refreshed: true, revoked: true });
  });

  it('the same page at another origin is refused, and the code stays good for the app', { timeout: FLOW_TIMEOUT }, async () => {
    const page = await newPage();
    const held = await signInThroughTheApp(page, 'hold');
    assert.equal(held.held, true);

    const other = await newPage();
    // What the page sent (a CORS-blocked answer never reaches the page, nor playwright).
    const sent = [];
    other.on('request', (r) => { if (r.url() === `${ISSUER}/oauth/token`) sent.push(r.method()); });
    await other.goto(`${stranger.origin}/`);
    await other.waitForFunction(() => document.body.dataset.ready === '1');
    await other.evaluate(({ code, verifier, redirectUri }) => window.redeem(code, verifier, redirectUri), held);
    const blocked = JSON.parse(await other.locator('#result').textContent());
    assert.equal(blocked.ok, false, 'the browser gave the other origin nothing');
    assert.equal(blocked.name, 'TypeError', `a CORS failure, not an OAuth error: ${blocked.message}`);
    assert.deepEqual(sent, ['POST'], 'the request was sent: the browser refused the answer');

    // Refused before anything was done: the app redeems the very same code.
    await page.evaluate(({ code, verifier, redirectUri }) => window.redeem(code, verifier, redirectUri), held);
    const redeemed = JSON.parse(await page.locator('#result').textContent());
    assert.deepEqual(redeemed, { ok: true, scope: scope.name, refreshed: true, revoked: true });
  });
});
