// A smoke test of the demo relying party (scripts/demo-rp.mjs, issue 13 "Done when"): started
// against the test stack on a free port with a client of its own, it signs a user in (the
// user's side, login and consent, driven with plain fetch as helpers.mjs does), shows the name
// from UserInfo, HTML-escaped, and signs out through the end_session_endpoint it links to.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ISSUER, ROOT, FLOW_TIMEOUT, STEP_TIMEOUT, authctl, createClient, createUser, unique, formFields, form } from './helpers.mjs';

/** A port nobody listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A browser of our own: cookies per origin, redirects followed by hand. */
function browser() {
  const jars = new Map();
  return async function request(url, init = {}) {
    const target = new URL(url);
    const jar = jars.get(target.origin) ?? new Map();
    jars.set(target.origin, jar);
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(target, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT) });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => a.trim().toLowerCase() === 'max-age=0');
      if (value === '' || expired) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
}

/** Follows redirects (GET) from `url` until a page; returns its URL, status and HTML. */
async function follow(request, url, init) {
  let response = await request(url, init);
  let current = new URL(url);
  for (let hops = 0; [302, 303].includes(response.status); hops++) {
    assert.ok(hops < 10, 'too many redirects');
    current = new URL(response.headers.get('location'), current);
    response = await request(current.href);
  }
  return { url: current, status: response.status, html: await response.text() };
}

const unescapeHtml = (text) =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);

describe('the demo relying party (scripts/demo-rp.mjs)', { timeout: FLOW_TIMEOUT * 2 }, () => {
  let app;
  let origin;
  let user;
  const name = `Demo <User> & ${unique('co')}`;

  before(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const registered = createClient({
      name: unique('Demo RP'),
      redirectUris: [`${origin}/callback`],
      scopes: ['openid', 'profile', 'email'],
    });
    authctl(['client', 'update', registered.client_id, '--post-logout-redirect-uri', `${origin}/`]);
    user = createUser('js-demo-rp');
    authctl(['user', 'update', user.username, '--name', name, '--email', `${user.username}@example.com`, '--email-verified', 'true']);
    app = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo-rp.mjs')], {
      env: { ...process.env, ISSUER, PORT: String(port), CLIENT_ID: registered.client_id, CLIENT_SECRET: registered.client_secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    app.stdout.on('data', (chunk) => { output += chunk; });
    app.stderr.on('data', (chunk) => { output += chunk; });
    for (let i = 0; ; i++) {
      if (app.exitCode !== null) assert.fail(`the demo app exited: ${output}`);
      const up = await fetch(`${origin}/`).then(() => true, () => false);
      if (up) break;
      assert.ok(i < 200, `the demo app did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(() => {
    app?.kill('SIGTERM');
  });

  it('signs in, shows the name from UserInfo, and signs out', { timeout: FLOW_TIMEOUT }, async () => {
    const request = browser();
    const home = await follow(request, `${origin}/`);
    assert.equal(home.status, 200);
    assert.match(home.html, /Sign in/);

    // Sign in: the app sends the browser to authorize, which sends it to the sign-in form.
    const loginPage = await follow(request, `${origin}/login`);
    assert.equal(loginPage.url.origin + loginPage.url.pathname, `${ISSUER}/login`);
    const fields = formFields(loginPage.html, '/login');
    const consent = await follow(request, `${ISSUER}/login`, form({ ...fields, username: user.username, password: user.password }));
    assert.equal(consent.status, 200, consent.html);
    const approval = formFields(consent.html, '/oauth/consent');
    assert.match(approval.scope, /openid/);
    const signedIn = await follow(request, `${ISSUER}/oauth/consent`, form({ ...approval, decision: 'approve' }));
    assert.equal(signedIn.url.href, `${origin}/`, signedIn.html);
    assert.equal(signedIn.status, 200, signedIn.html);

    // The name from UserInfo, escaped; links to the account page and to sign-out.
    const escaped = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    assert.ok(signedIn.html.includes(`Signed in as <strong>${escaped}</strong>`), signedIn.html);
    assert.ok(!signedIn.html.includes('<User>'), 'the name is escaped');
    assert.ok(signedIn.html.includes(`href="${ISSUER}/account"`), signedIn.html);
    const signOutHref = signedIn.html.match(/id="sign-out" href="([^"]+)"/)?.[1];
    assert.ok(signOutHref, signedIn.html);
    const signOut = new URL(unescapeHtml(signOutHref));
    assert.equal(signOut.origin + signOut.pathname, `${ISSUER}/oauth/logout`);
    assert.ok(signOut.searchParams.get('id_token_hint'), 'the ID token as hint');
    assert.equal(signOut.searchParams.get('post_logout_redirect_uri'), `${origin}/`);

    // Sign out: the ID token is trusted, so no question; back to the app, which ends its session.
    const signedOut = await follow(request, signOut.href);
    assert.equal(signedOut.url.origin, origin);
    assert.match(signedOut.html, /You are signed out/);
    const again = await follow(request, `${origin}/`);
    assert.match(again.html, /You are not signed in/);
    // And the provider's session is gone: signing in again shows the sign-in form.
    const relogin = await follow(request, `${origin}/login`);
    assert.equal(relogin.url.origin + relogin.url.pathname, `${ISSUER}/login`);
  });
});
