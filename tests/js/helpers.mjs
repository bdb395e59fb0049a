// Shared by the JS end-to-end tests: the stack's URL, test data made with the real
// operator tool (authctl), unique names, and a few small HTTP helpers.
//
// scripts/test (or `source scripts/lib.sh && use_stack PREFIX DYNAMO_PORT HTTP_PORT`)
// sets AUTH_ISSUER, AUTH_TABLE_PREFIX and the AWS_* variables that authctl inherits.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AUTHCTL = path.join(ROOT, 'target', 'debug', 'authctl');

if (!process.env.AUTH_ISSUER) {
  throw new Error('AUTH_ISSUER is not set: run these tests with scripts/test, or after `source scripts/lib.sh && use_stack ...`');
}
/** The issuer URL, exactly as the server is configured (no trailing slash). */
export const ISSUER = process.env.AUTH_ISSUER;

/** Runs `authctl --json ARGS` and returns its parsed output (null when it prints nothing). */
export function authctl(args, { stdin } = {}) {
  let out;
  try {
    out = execFileSync(AUTHCTL, ['--json', ...args], {
      input: stdin,
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    throw new Error(`authctl ${args.join(' ')} failed (${error.status}): ${error.stderr}`);
  }
  return out.trim() ? JSON.parse(out) : null;
}

/** A name unique to this run: `prefix-` and 10 hex characters. */
export function unique(prefix) {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A new scope; returns { name, description }. */
export function createScope(prefix = 'js-scope', description = undefined) {
  const name = unique(prefix);
  description ??= `Access to ${name}`;
  authctl(['scope', 'create', name, '--description', description]);
  return { name, description };
}

/**
 * A new client; returns authctl's JSON (client_id, client_secret for confidential ones, ...).
 * options: name, redirectUris, scopes, public, grants (e.g. ['authorization_code', 'refresh_token']).
 */
export function createClient({ name = unique('JS App'), redirectUris, scopes = [], public: isPublic = false, grants = [] }) {
  const args = ['client', 'create', '--name', name];
  for (const uri of redirectUris) args.push('--redirect-uri', uri);
  for (const scope of scopes) args.push('--scope', scope);
  if (isPublic) args.push('--public');
  for (const grant of grants) args.push('--grant', grant);
  return authctl(args);
}

/** A new user; returns { username, password, sub }. */
export function createUser(prefix = 'js-user') {
  const username = unique(prefix);
  const password = randomBytes(18).toString('base64url');
  const created = authctl(['user', 'create', username, '--password-stdin'], { stdin: `${password}\n` });
  return { username, password, sub: created.sub };
}

/**
 * Generous timeout for a test that drives the whole flow: under `cargo lambda watch` a
 * function starts (and is rebuilt after a source change) on its first request.
 */
export const FLOW_TIMEOUT = 300_000;
/** For one page load or one request. */
export const STEP_TIMEOUT = 150_000;

// The user's side of a flow, for the tests that drive it with plain fetch: a tab of our own.

/** A minimal cookie jar: name -> value, fed from Set-Cookie headers (one origin only). */
class CookieJar {
  #cookies = new Map();
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attributes.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith('max-age='));
      if (value === '' || (maxAge && Number(maxAge.slice(8)) <= 0)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  get(name) {
    return this.#cookies.get(name);
  }
  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A fetch that never follows redirects and keeps cookies, like a browser tab of our own. */
export function userAgent() {
  const jar = new CookieJar();
  const request = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const cookie = jar.header();
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(new URL(url, ISSUER), {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(STEP_TIMEOUT),
    });
    jar.store(response);
    return response;
  };
  return { request, jar };
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeHtml(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

function attributes(tag) {
  const found = {};
  for (const [, name, , doubleQuoted, singleQuoted, bare] of tag.matchAll(/([a-zA-Z_:-]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    found[name.toLowerCase()] = unescapeHtml(doubleQuoted ?? singleQuoted ?? bare ?? '');
  }
  return found;
}

/** The named <input> fields of the one form that posts to `action`, values unescaped. */
export function formFields(html, action) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)]
    .filter(([, attrs]) => attributes(attrs).action === action);
  assert.equal(forms.length, 1, `expected one form posting to ${action} in:\n${html}`);
  const fields = {};
  for (const [, attrs] of forms[0][2].matchAll(/<input\b([^>]*)>/gi)) {
    const input = attributes(attrs);
    if (input.name) fields[input.name] = input.value ?? '';
  }
  return fields;
}

export const form = (fields) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/**
 * API Gateway HTTP API's JWT authorizer, as AWS documents it ("Controlling access to HTTP APIs
 * with JWT authorizers"), configured with `issuer` and `audience` (a list), for a request's
 * `authorization` header: the token (an optional `Bearer ` prefix), its `kid` in the JWKS that
 * the issuer's discovery document names, RS256, `iss` equal to the issuer, `aud` holding one
 * of the audiences (or, without `aud`, `client_id` one of them), `exp` in the future, `nbf`
 * and `iat` in the past, and the route's scopes among the token's `scope`. Returns
 * `{ status: 200, claims }` or `{ status: 401 }`, as the authorizer answers.
 */
export async function apiGatewayJwtAuthorizer({ issuer, audience, scopes = [] }, authorization) {
  const { createRemoteJWKSet, jwtVerify, decodeJwt } = await import('jose');
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(STEP_TIMEOUT) })).json();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: STEP_TIMEOUT });
  const token = (authorization ?? '').replace(/^Bearer /, '');
  try {
    const unverified = decodeJwt(token);
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      algorithms: ['RS256'],
      audience: unverified.aud === undefined ? undefined : audience,
    });
    if (payload.aud === undefined && !audience.includes(payload.client_id)) return { status: 401 };
    const granted = String(payload.scope ?? '').split(' ');
    if (!scopes.every((scope) => granted.includes(scope))) return { status: 403 };
    return { status: 200, claims: payload };
  } catch {
    return { status: 401 };
  }
}

/**
 * The user's side of a code flow with fetch, without the checks of each step (see
 * oauth4webapi.test.mjs for those): authorize -> login -> consent -> approve. Returns the
 * callback URL the browser would be sent to.
 */
export async function signInAndApproveQuietly(authorizationUrl, user) {
  const { request } = userAgent();
  let response = await request(authorizationUrl);
  const toLogin = new URL(response.headers.get('location'), ISSUER);
  response = await request(toLogin);
  const loginFields = formFields(await response.text(), '/login');
  response = await request(`${ISSUER}/login`, form({ ...loginFields, username: user.username, password: user.password }));
  response = await request(response.headers.get('location'));
  const consentFields = formFields(await response.text(), '/oauth/consent');
  response = await request(`${ISSUER}/oauth/consent`, form({ ...consentFields, decision: 'approve' }));
  assert.equal(response.status, 303, await response.text());
  return new URL(response.headers.get('location'));
}

/** Debian's headless Chromium (CHROMIUM_PATH to use another), as every browser test starts it. */
export async function launchChromium(timeout = STEP_TIMEOUT) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
    timeout,
  });
}
