// An end user's view: headless Chromium (Debian's, driven by playwright-core) signs in,
// approves or denies on the consent page, and lands on a client's callback, which a tiny
// node http server of this test serves. Also: remembered consent, no framing of the
// login and consent pages, and screenshots of both pages on a phone and a desktop.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ISSUER, ROOT, FLOW_TIMEOUT, STEP_TIMEOUT, createClient, createScope, createUser, launchChromium } from './helpers.mjs';

// Screenshots go to .local/ (git-ignored); SCREENSHOT_DIR=docs/screenshots refreshes the committed ones.
const SCREENSHOTS = process.env.SCREENSHOT_DIR ? path.resolve(ROOT, process.env.SCREENSHOT_DIR) : path.join(ROOT, '.local', 'screenshots');
const PAGE_TIMEOUT = STEP_TIMEOUT;
// Characters that must survive every hop: query encoding, the login return_to, the
// consent form's hidden field (HTML escaping), the form POST and the redirect.
const ODD_STATE = `st/ate+1 ?&=#%20;,:'"<>ü€😀~.-_`;

/** The client's side: records every callback request and serves a few small pages. */
function startCallbackServer() {
  const received = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, `http://${request.headers.host}`);
    const send = (status, body) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Test client</title>${body}</html>`);
    };
    const attr = (value) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    if (url.pathname === '/callback') {
      received.push({ url: url.href, query: url.searchParams });
      send(200, '<h1 id="callback">Callback received</h1>');
    } else if (url.pathname === '/frame') {
      // A page of another origin that tries to frame `src` (clickjacking, RFC 9700 4.16).
      const src = url.searchParams.get('src') ?? '';
      send(200, `<h1>Framing test</h1><iframe id="victim" title="victim" width="600" height="600" onload="this.dataset.loaded='1'" src="${attr(src)}"></iframe>`);
    } else {
      send(404, '<h1>Not found</h1>');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const origin = `http://127.0.0.1:${server.address().port}`;
      resolve({ server, origin, received });
    });
  });
}

/** A fresh authorization request with PKCE S256; returns its URL and the verifier. */
function authorizationRequest(client, redirectUri, scopes, state = randomBytes(16).toString('base64url')) {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL('/oauth/authorize', ISSUER);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: scopes.map((s) => s.name).join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return { url, verifier, state };
}

function assertNotFramable(response, what) {
  const headers = response.headers();
  assert.equal(headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
}

describe('browser: sign in and consent in headless Chromium', { timeout: FLOW_TIMEOUT * 6 }, () => {
  let browser;
  let callback;
  let redirectUri;
  let client;
  let scopes;
  const contexts = [];

  before(async () => {
    callback = await startCallbackServer();
    redirectUri = `${callback.origin}/callback`;
    scopes = [
      createScope('js-notes-read', 'Read your notes'),
      createScope('js-notes-write', 'Create and change your notes'),
    ];
    client = createClient({
      name: 'Acme Notes',
      redirectUris: [redirectUri],
      scopes: scopes.map((s) => s.name),
    });
    browser = await launchChromium(PAGE_TIMEOUT);
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    if (callback) {
      const closed = new Promise((resolve) => callback.server.close(resolve));
      callback.server.closeAllConnections();
      await closed;
    }
  });

  /** A fresh browser profile (no cookies) and a page in it. */
  async function newPage(options = {}) {
    const context = await browser.newContext(options);
    contexts.push(context);
    context.setDefaultTimeout(PAGE_TIMEOUT);
    context.setDefaultNavigationTimeout(PAGE_TIMEOUT);
    const page = await context.newPage();
    if (process.env.DEBUG_BROWSER) {
      page.on('request', (r) => console.log('REQ', r.method(), r.url().slice(0, 120)));
      page.on('response', (r) => console.log('RES', r.status(), r.url().slice(0, 120)));
      page.on('console', (m) => console.log('CONSOLE', m.text()));
    }
    return page;
  }

  /** From the authorization URL through the login page; leaves the browser where login sent it. */
  async function signIn(page, url, user, { onLoginPage } = {}) {
    const loginResponse = await page.goto(url.href);
    const at = new URL(page.url());
    assert.equal(at.origin + at.pathname, `${ISSUER}/login`, 'no session: sent to the login page');
    assert.equal(at.searchParams.get('return_to'), `/oauth/authorize${url.search}`);
    assert.equal(loginResponse.status(), 200);
    assertNotFramable(loginResponse, 'login page');
    await onLoginPage?.();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${ISSUER}/oauth/authorize`) && r.request().isNavigationRequest()),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    return response;
  }

  async function expectConsentPage(page, response) {
    assert.equal(response.status(), 200, 'the consent page is shown');
    assertNotFramable(response, 'consent page');
    await page.waitForLoadState('domcontentloaded');
    await assert.doesNotReject(page.getByRole('heading', { name: `${client.name} wants to access your account` }).waitFor());
    const items = page.locator('ul.scopes li');
    assert.equal(await items.count(), scopes.length);
    const text = await page.locator('ul.scopes').innerText();
    for (const scope of scopes) {
      assert.ok(text.includes(scope.description), `scope description "${scope.description}" shown`);
      assert.ok(text.includes(scope.name), `scope name ${scope.name} shown`);
    }
  }

  /** Clicks a consent button and waits until the browser is on the callback. */
  async function decide(page, button) {
    const before = callback.received.length;
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(redirectUri)),
      page.getByRole('button', { name: button }).click(),
    ]);
    await page.locator('#callback').waitFor();
    assert.equal(callback.received.length, before + 1, 'the callback was requested once');
    return callback.received.at(-1).query;
  }

  it('Allow: login, consent page, callback with code, exact state and iss; then consent is remembered', { timeout: FLOW_TIMEOUT }, async () => {
    const user = createUser('js-browser');
    const page = await newPage();
    const request = authorizationRequest(client, redirectUri, scopes, ODD_STATE);
    const afterLogin = await signIn(page, request.url, user);
    await expectConsentPage(page, afterLogin);
    assert.equal(await page.locator('input[name="state"]').inputValue(), ODD_STATE, 'state carried by the consent form');

    const query = await decide(page, 'Allow');
    assert.ok(query.get('code'), 'a code');
    assert.equal(query.get('state'), ODD_STATE, 'the exact state');
    assert.equal(query.get('iss'), ISSUER, 'iss (RFC 9207)');
    assert.equal(query.get('error'), null);

    // The code is real: the client redeems it.
    const token = await fetch(`${ISSUER}/oauth/token`, {
      signal: AbortSignal.timeout(STEP_TIMEOUT),
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: query.get('code'),
        redirect_uri: redirectUri,
        client_id: client.client_id,
        client_secret: client.client_secret,
        code_verifier: request.verifier,
      }),
    });
    assert.equal(token.status, 200, await token.clone().text());
    assert.ok((await token.json()).access_token);

    // Same session, same scopes: straight back to the callback, no consent page.
    const second = authorizationRequest(client, redirectUri, scopes);
    const pages = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${ISSUER}/oauth/authorize`)) pages.push(r.status());
    });
    const landed = await page.goto(second.url.href);
    assert.ok(page.url().startsWith(redirectUri), `landed on the callback, not ${page.url()}`);
    assert.deepEqual(pages, [302], 'one redirect from authorize, no consent page');
    assert.equal(landed.request().redirectedFrom()?.url(), second.url.href);
    const again = callback.received.at(-1).query;
    assert.ok(again.get('code'));
    assert.notEqual(again.get('code'), query.get('code'));
    assert.equal(again.get('state'), second.state);
    assert.equal(again.get('iss'), ISSUER);
  });

  it('Deny: callback with error=access_denied, state and iss; nothing remembered', { timeout: FLOW_TIMEOUT }, async () => {
    const user = createUser('js-browser-deny');
    const page = await newPage();
    const request = authorizationRequest(client, redirectUri, scopes, ODD_STATE);
    await expectConsentPage(page, await signIn(page, request.url, user));

    const query = await decide(page, 'Deny');
    assert.equal(query.get('error'), 'access_denied');
    assert.equal(query.get('code'), null, 'no code');
    assert.equal(query.get('state'), ODD_STATE);
    assert.equal(query.get('iss'), ISSUER);

    // A denial is not stored: the next request asks again.
    const again = authorizationRequest(client, redirectUri, scopes);
    await expectConsentPage(page, await page.goto(again.url.href));
  });

  it('the login and consent pages cannot be framed by another origin', { timeout: FLOW_TIMEOUT }, async () => {
    const user = createUser('js-browser-frame');
    const page = await newPage();

    /** Loads `src` in an iframe of the callback server's origin; returns the frame's response and frame. */
    async function frame(src) {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === src),
        page.goto(`${callback.origin}/frame?src=${encodeURIComponent(src)}`),
      ]);
      // The iframe's load event fires whether its document was shown or blocked.
      await page.locator('#victim[data-loaded="1"]').waitFor({ state: 'attached' });
      const handle = await page.locator('#victim').elementHandle();
      const victim = await handle.contentFrame();
      await victim.waitForLoadState('load');
      return { response, victim };
    }

    // Control: an ordinary page is framed and its content is readable by this check.
    const control = await frame(`${callback.origin}/callback?control=1`);
    assert.equal(await control.victim.locator('#callback').count(), 1, 'control page is shown in the frame');

    const login = await frame(`${ISSUER}/login?return_to=%2Foauth%2Fauthorize`);
    assert.equal(login.response.status(), 200);
    assertNotFramable(login.response, 'login page');
    assert.equal(await login.victim.locator('form[action="/login"]').count(), 0, 'the login form is not shown in the frame');
    assert.equal(await login.victim.locator('#password').count(), 0);

    // Signed in (same site, so the Lax session cookie goes with the framed request too).
    const request = authorizationRequest(client, redirectUri, scopes);
    await expectConsentPage(page, await signIn(page, request.url, user));
    const consent = await frame(authorizationRequest(client, redirectUri, scopes).url.href);
    assert.equal(consent.response.status(), 200, 'the server answered the framed request with the consent page');
    assertNotFramable(consent.response, 'consent page');
    assert.equal(await consent.victim.locator('form[action="/oauth/consent"]').count(), 0, 'the consent form is not shown in the frame');
    assert.equal(await consent.victim.getByRole('button', { name: 'Allow' }).count(), 0);
  });

  for (const { width, height, deviceScaleFactor, isMobile } of [
    { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true },
    { width: 1280, height: 800, deviceScaleFactor: 1, isMobile: false },
  ]) {
    it(`screenshots of the login and consent pages at ${width} px`, { timeout: FLOW_TIMEOUT }, async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const user = createUser('alice');
      const page = await newPage({ viewport: { width, height }, deviceScaleFactor, isMobile, hasTouch: isMobile, colorScheme: 'light' });
      const request = authorizationRequest(client, redirectUri, scopes);
      const response = await signIn(page, request.url, user, {
        onLoginPage: async () => {
          await page.screenshot({ path: path.join(SCREENSHOTS, `login-${width}.png`), fullPage: true });
        },
      });
      await expectConsentPage(page, response);
      // Nothing sticks out sideways on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling (${overflow} px too wide)`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `consent-${width}.png`), fullPage: true });
    });
  }
});
