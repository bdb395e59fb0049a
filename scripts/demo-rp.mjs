// A demo relying party: a tiny web app that signs its users in with Auth API through
// openid-client v6 (authorization code flow, PKCE S256, state and nonce), configured from the
// discovery document alone, shows the user's name from UserInfo, links to the account page
// (where the user can withdraw the app) and signs out with RP-Initiated Logout
// (buildEndSessionUrl, the ID token as id_token_hint).
//
// Started by scripts/demo-rp (which registers the client); settings from the environment:
//   ISSUER         the issuer URL (default http://127.0.0.1:9000, the scripts/dev stack)
//   PORT           where this app listens on 127.0.0.1 (default 8766)
//   CLIENT_ID      the confidential client registered with redirect URI
//   CLIENT_SECRET  http://127.0.0.1:<PORT>/callback and post-logout URI http://127.0.0.1:<PORT>/
//
// Node's own http server and openid-client from tests/node_modules: no framework. Sessions
// are kept in memory, keyed by a random HttpOnly cookie; they end when the app stops.
import http from 'node:http';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireFromTests = createRequire(path.join(ROOT, 'tests', 'package.json'));
let client;
try {
  client = await import(pathToFileURL(requireFromTests.resolve('openid-client')).href);
} catch {
  console.error('openid-client is not installed: run `(cd tests && npm ci)` or scripts/setup');
  process.exit(1);
}

const ISSUER = (process.env.ISSUER || 'http://127.0.0.1:9000').replace(/\/$/, '');
const PORT = Number(process.env.PORT || 8766);
const { CLIENT_ID, CLIENT_SECRET } = process.env;
if (!CLIENT_ID || !CLIENT_SECRET || !Number.isInteger(PORT) || PORT <= 0) {
  console.error('CLIENT_ID and CLIENT_SECRET are required (scripts/demo-rp registers them), PORT a port number');
  process.exit(2);
}
const ORIGIN = `http://127.0.0.1:${PORT}`;
const REDIRECT_URI = `${ORIGIN}/callback`;
const SIGNED_OUT_URI = `${ORIGIN}/`;
const SCOPE = 'openid profile email';
const COOKIE = 'demo_rp_session';
const MAX_SESSIONS = 1000;

// --- the OpenID Provider, from discovery (read at the first request, again after a failure)

let configuration;
async function config() {
  configuration ??= client
    .discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, client.ClientSecretPost(CLIENT_SECRET), {
      // The local stack is plain http on 127.0.0.1; a real deployment is https.
      execute: new URL(ISSUER).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    })
    .catch((error) => {
      configuration = undefined;
      throw error;
    });
  return configuration;
}

// --- sessions: id -> { pending?: { state, nonce, codeVerifier }, tokens?, logoutState? }

const sessions = new Map();

function cookies(request) {
  const found = {};
  for (const part of (request.headers.cookie || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) found[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return found;
}

/** The browser's session, or a new one (whose cookie `respond` sets). */
function session(request, response, { create = false } = {}) {
  const id = cookies(request)[COOKIE];
  if (id && sessions.has(id)) return sessions.get(id);
  if (!create) return undefined;
  if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value);
  const fresh = { id: randomBytes(32).toString('base64url') };
  sessions.set(fresh.id, fresh);
  response.setHeader('set-cookie', `${COOKIE}=${fresh.id}; HttpOnly; SameSite=Lax; Path=/`);
  return fresh;
}

function endSession(current, response) {
  if (current) sessions.delete(current.id);
  response.setHeader('set-cookie', `${COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0`);
}

// --- pages

const escapeHtml = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(response, status, title, body) {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  response.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Demo app</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
a,button{font:inherit}button{padding:.5rem 1.2rem;border-radius:6px;border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}
nav a{margin-right:1.2rem}.note{color:#57606a}</style></head>
<body><h1>Demo app</h1>${body}
<p class="note">A relying party of ${escapeHtml(ISSUER)} (openid-client, code flow with PKCE).</p></body></html>`);
}

function redirect(response, location) {
  response.writeHead(303, { location, 'cache-control': 'no-store' });
  response.end();
}

const signInForm = '<form method="get" action="/login"><button type="submit">Sign in</button></form>';

// --- routes

async function home(request, response, url) {
  const current = session(request, response);
  // Back from the OpenID Provider's sign-out with the state we sent: end our session too.
  const state = url.searchParams.get('state');
  if (current?.logoutState && state === current.logoutState) {
    endSession(current, response);
    return page(response, 200, 'Signed out', `<p id="signed-out">You are signed out.</p>${signInForm}`);
  }
  if (!current?.tokens) {
    return page(response, 200, 'Welcome', `<p>You are not signed in.</p>${signInForm}`);
  }
  const cfg = await config();
  let claims;
  try {
    // UserInfo, for the ID token's subject (openid-client checks that `sub` matches).
    claims = await client.fetchUserInfo(cfg, current.tokens.access_token, current.tokens.sub);
  } catch (error) {
    // A withdrawn app (on the account page) or an expired token: sign in again.
    endSession(current, response);
    const refused = error?.status === 401 || error?.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE';
    const why = refused
      ? 'This app’s access was withdrawn or has expired.'
      : `UserInfo failed: ${error?.error || error?.message || 'unknown error'}.`;
    return page(response, 200, 'Signed out', `<p id="access-ended">${escapeHtml(why)} Sign in again.</p>${signInForm}`);
  }
  const name = claims.name || claims.preferred_username || claims.sub;
  current.logoutState ??= client.randomState();
  const signOut = client.buildEndSessionUrl(cfg, {
    id_token_hint: current.tokens.id_token,
    post_logout_redirect_uri: SIGNED_OUT_URI,
    state: current.logoutState,
  });
  const account = new URL('/account', `${ISSUER}/`);
  const email = claims.email ? `<p>Email: ${escapeHtml(claims.email)}${claims.email_verified ? ' (verified)' : ''}</p>` : '';
  return page(response, 200, 'Signed in', `<p id="signed-in">Signed in as <strong>${escapeHtml(name)}</strong></p>${email}
<nav><a id="account" href="${escapeHtml(account.href)}">Manage your apps</a><a id="sign-out" href="${escapeHtml(signOut.href)}">Sign out</a></nav>`);
}

async function login(request, response) {
  const cfg = await config();
  const current = session(request, response, { create: true });
  const codeVerifier = client.randomPKCECodeVerifier();
  current.pending = { codeVerifier, state: client.randomState(), nonce: client.randomNonce() };
  const authorize = client.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: current.pending.state,
    nonce: current.pending.nonce,
  });
  redirect(response, authorize.href);
}

async function callback(request, response, url) {
  const current = session(request, response);
  const pending = current?.pending;
  if (!pending) {
    return page(response, 400, 'Sign-in failed', `<p>No sign-in is in progress in this browser.</p>${signInForm}`);
  }
  delete current.pending;
  try {
    // Checks state, iss (RFC 9207), the code exchange with the PKCE verifier, and the ID
    // token (signature, iss, aud, exp, nonce, at_hash).
    const tokens = await client.authorizationCodeGrant(await config(), url, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    current.tokens = { id_token: tokens.id_token, access_token: tokens.access_token, sub: tokens.claims().sub };
  } catch (error) {
    const why = error?.error ? `${error.error}${error.error_description ? `: ${error.error_description}` : ''}` : error?.message;
    return page(response, 400, 'Sign-in failed', `<p id="sign-in-failed">Sign-in failed (${escapeHtml(why || 'unknown error')}).</p>${signInForm}`);
  }
  redirect(response, '/');
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, ORIGIN);
  try {
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' });
      return response.end();
    }
    if (url.pathname === '/') return await home(request, response, url);
    if (url.pathname === '/login') return await login(request, response);
    if (url.pathname === '/callback') return await callback(request, response, url);
    return page(response, 404, 'Not found', '<p>Not found. <a href="/">Home</a></p>');
  } catch (error) {
    console.error(error);
    if (!response.headersSent) {
      page(response, 502, 'Unavailable', `<p>The sign-in service at ${escapeHtml(ISSUER)} did not answer. Is scripts/dev running?</p>`);
    }
  }
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`demo relying party on ${ORIGIN} (issuer ${ISSUER}, client ${CLIENT_ID})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
