// Shared by the JS end-to-end tests: the stack's URL, test data made with the real
// operator tool (authctl), unique names, and a few small HTTP helpers.
//
// scripts/test (or `source scripts/lib.sh && use_stack PREFIX DYNAMO_PORT HTTP_PORT`)
// sets AUTH_ISSUER, AUTH_TABLE_PREFIX and the AWS_* variables that authctl inherits.
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
