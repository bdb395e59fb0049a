// The end user's account page and sign-out in headless Chromium (issue 13.6, 13.7): sign in to
// an app and allow it, open /account and see the app with its scopes, withdraw it, then sign
// out (from the page, and as an app's RP-Initiated Logout request, which asks first and then
// returns to the app's registered address with its state). Screenshots of the account page
// and the signed-out page at 390 px and 1280 px.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ISSUER, ROOT, FLOW_TIMEOUT, STEP_TIMEOUT, authctl, createClient, createScope, createUser, launchChromium } from './helpers.mjs';

// Screenshots go to .local/ (git-ignored); SCREENSHOT_DIR=docs/screenshots refreshes the committed ones.
const SCREENSHOTS = process.env.SCREENSHOT_DIR ? path.resolve(ROOT, process.env.SCREENSHOT_DIR) : path.join(ROOT, '.local', 'screenshots');

/** The app's side: its callback and its signed-out page, each recording what it received. */
function startAppServer() {
  const received = { callback: [], signedOut: [] };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, `http://${request.headers.host}`);
    const send = (status, body) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Test app</title>${body}</html>`);
    };
    if (url.pathname === '/callback') {
      received.callback.push(url.searchParams);
      send(200, '<h1 id="callback">Callback received</h1>');
    } else if (url.pathname === '/signed-out') {
      received.signedOut.push(url.searchParams);
      send(200, '<h1 id="app-signed-out">Signed out of the app</h1>');
    } else {
      send(404, '<h1>Not found</h1>');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}`, received }));
  });
}

describe('browser: the account page and sign-out in headless Chromium', { timeout: FLOW_TIMEOUT * 4 }, () => {
  let browser;
  let app;
  let client;
  let scopes;
  const contexts = [];

  before(async () => {
    app = await startAppServer();
    scopes = [createScope('js-photos-read', 'See your photos'), createScope('js-photos-share', 'Share your photos')];
    client = createClient({ name: 'Photo Frame', redirectUris: [`${app.origin}/callback`], scopes: scopes.map((s) => s.name) });
    authctl(['client', 'update', client.client_id, '--post-logout-redirect-uri', `${app.origin}/signed-out`]);
    browser = await launchChromium(STEP_TIMEOUT);
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    if (app) {
      const closed = new Promise((resolve) => app.server.close(resolve));
      app.server.closeAllConnections();
      await closed;
    }
  });

  async function newPage(options = {}) {
    const context = await browser.newContext({ colorScheme: 'light', ...options });
    contexts.push(context);
    context.setDefaultTimeout(STEP_TIMEOUT);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT);
    return context.newPage();
  }

  /** Signs in through the app's authorization request and allows it; the browser ends at its callback. */
  async function signInAndAllow(page, user) {
    const verifier = randomBytes(48).toString('base64url');
    const url = new URL('/oauth/authorize', ISSUER);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: `${app.origin}/callback`,
      scope: scopes.map((s) => s.name).join(' '),
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(url.href);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForSelector('#callback');
  }

  async function assertNoSidewaysScrolling(page) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow} px too wide)`);
  }

  for (const { width, height, deviceScaleFactor, isMobile } of [
    { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true },
    { width: 1280, height: 800, deviceScaleFactor: 1, isMobile: false },
  ]) {
    it(`sign in, see the account page, withdraw the app, sign out (${width} px)`, { timeout: FLOW_TIMEOUT }, async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const user = createUser('js-account');
      const page = await newPage({ viewport: { width, height }, deviceScaleFactor, isMobile, hasTouch: isMobile });
      await signInAndAllow(page, user);

      const response = await page.goto(`${ISSUER}/account`);
      assert.equal(response.status(), 200);
      assert.equal(response.headers()['x-frame-options'], 'DENY');
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      assert.ok((await page.textContent('main')).includes(user.username));
      const apps = page.locator('ul.apps > li');
      assert.equal(await apps.count(), 1);
      const appText = await apps.first().textContent();
      for (const expected of ['Photo Frame', 'See your photos', 'Share your photos', 'Allowed on']) {
        assert.ok(appText.includes(expected), `${expected} in ${appText}`);
      }
      await assertNoSidewaysScrolling(page);
      await page.screenshot({ path: path.join(SCREENSHOTS, `account-${width}.png`), fullPage: true });

      await page.getByRole('button', { name: 'Withdraw access of Photo Frame' }).click();
      await page.waitForURL(`${ISSUER}/account`);
      await page.getByText('You have not allowed any app').waitFor();
      assert.deepEqual(authctl(['consent', 'list', '--user', user.username]), []);

      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/oauth/logout');
      await assertNoSidewaysScrolling(page);
      await page.screenshot({ path: path.join(SCREENSHOTS, `signed-out-${width}.png`), fullPage: true });

      // Signed out for real: the account page asks to sign in.
      await page.goto(`${ISSUER}/account`);
      assert.equal(new URL(page.url()).pathname, '/login');
    });
  }

  it("an app's sign-out request asks first, then returns to the app with its state", { timeout: FLOW_TIMEOUT }, async () => {
    const user = createUser('js-logout');
    const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await signInAndAllow(page, user);
    const state = `st/ate+1 ?&=ü`;
    const logout = new URL('/oauth/logout', ISSUER);
    logout.search = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: `${app.origin}/signed-out`, state }).toString();
    await page.goto(logout.href);
    await page.getByRole('heading', { name: 'Sign out of Auth API?' }).waitFor();
    assert.ok((await page.textContent('main')).includes('Photo Frame asks to sign you out'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('#app-signed-out');
    assert.equal(app.received.signedOut.at(-1).get('state'), state);
    await page.goto(`${ISSUER}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
  });
});
