"""private_key_jwt client authentication over HTTP (issue 15.3, RFC 7523 2.2 and 3, OpenID
Connect Core 9): authlib's PrivateKeyJWT gets a machine its token (client credentials) and
exchanges a code, with RS256 and ES256 keys registered by `authctl client create --jwks-file`
or served on loopback for `--jwks-uri`; the same assertions at introspect and revoke; every
refusal is 401 invalid_client: a replay, a wrong aud, an expired assertion, one too far in the
future, a key not registered, alg none and HS256, and a secret from a private_key_jwt client."""
import base64
import datetime
import hashlib
import hmac
import json
import ipaddress
import os
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from conftest import AUTHCTL, TIMEOUT, authctl, create_scope, get_code, unique
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


class ShortPrivateKeyJWT(PrivateKeyJWT):
    """authlib's PrivateKeyJWT with a one-minute assertion: authlib's default lifetime is an
    hour, and the server takes at most five minutes (docs/security.md). Claims are made anew
    for each assertion: authlib writes its `jti` into the claims dict it is given."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def rsa_key():
    return RSAKey.generate_key(2048, parameters={"kid": unique("rsa")}, private=True)


def ec_key():
    return ECKey.generate_key("P-256", parameters={"kid": unique("ec")}, private=True)


def jwks_of(*keys):
    return {"keys": [key.as_dict(private=False) for key in keys]}


def jwks_file(*keys):
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(jwks_of(*keys), out)
    return path


def machine(*keys, scope, flags=()):
    """A client_credentials client whose public keys are `keys` (a JWKS file)."""
    path = jwks_file(*keys)
    try:
        return authctl("client", "create", "--name", unique("Machine"), "--grant",
                       "client_credentials", "--scope", scope, "--jwks-file", path, *flags)
    finally:
        os.unlink(path)


def assertion(key, client_id, aud, alg=None, **changes):
    """An assertion signed with `key`; a change of None removes the claim."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    alg = alg or ("ES256" if isinstance(key, ECKey) else "RS256")
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(client_id, aud):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60, "jti": uuid.uuid4().hex}
    return f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(claims).encode())}."


def hs256(secret, client_id, aud):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60, "jti": uuid.uuid4().hex}
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def with_assertion(client_assertion, **form):
    return {**form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion}


def session_for(client_id, key, scope, **kwargs):
    """authlib's OAuth2Session authenticating with private_key_jwt and `key`."""
    session = OAuth2Session(client_id, key, scope=scope, token_endpoint_auth_method="private_key_jwt",
                            **kwargs)
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    session.register_client_auth_method(ShortPrivateKeyJWT(alg=alg))
    return session


@pytest.fixture(scope="module")
def machine_scope():
    return create_scope("pkjwt")[0]


def test_metadata_names_private_key_jwt_and_its_algorithms(metadata):
    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
        assert metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == ["RS256", "ES256"]


@pytest.mark.parametrize("make_key", [rsa_key, ec_key], ids=["RS256", "ES256"])
def test_authlib_gets_a_machine_its_token_and_the_machine_introspects_and_revokes_it(
        metadata, machine_scope, make_key):
    key = make_key()
    client = machine(key, scope=machine_scope)
    assert "client_secret" not in client
    token = session_for(client["client_id"], key, machine_scope).fetch_token(
        metadata["token_endpoint"], grant_type="client_credentials", timeout=TIMEOUT)
    assert token["token_type"] == "Bearer" and token["scope"] == machine_scope
    # Introspection and revocation with assertions whose aud is their own URL (as authlib
    # makes them when given the endpoint) or the issuer.
    for aud in (metadata["introspection_endpoint"], metadata["issuer"]):
        report = requests.post(metadata["introspection_endpoint"], timeout=TIMEOUT, data=with_assertion(
            assertion(key, client["client_id"], aud), token=token["access_token"]))
        assert report.status_code == 200, report.text
        assert report.json()["active"] is True and report.json()["sub"] == client["client_id"]
    revoked = requests.post(metadata["revocation_endpoint"], timeout=TIMEOUT, data=with_assertion(
        assertion(key, client["client_id"], metadata["revocation_endpoint"]), token=token["access_token"]))
    assert revoked.status_code == 200, revoked.text
    report = requests.post(metadata["introspection_endpoint"], timeout=TIMEOUT, data=with_assertion(
        assertion(key, client["client_id"], metadata["issuer"]), token=token["access_token"]))
    assert report.json() == {"active": False}


def test_authlib_exchanges_a_code_with_private_key_jwt(base_url, metadata, user, agent):
    scope, _ = create_scope("pkjwt-code")
    key = ec_key()
    path = jwks_file(key)
    try:
        client = authctl("client", "create", "--name", unique("Web"), "--redirect-uri",
                         "http://127.0.0.1:8765/callback", "--scope", scope, "--jwks-file", path)
    finally:
        os.unlink(path)
    code, verifier = get_code(base_url, client, user, scope, agent=agent)
    session = session_for(client["client_id"], key, scope,
                          redirect_uri="http://127.0.0.1:8765/callback")
    token = session.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                code=code, code_verifier=verifier, timeout=TIMEOUT)
    assert token["scope"] == scope and token["access_token"]


def test_refused_assertions_are_invalid_client(metadata, machine_scope):
    key, stranger = rsa_key(), ec_key()
    client = machine(key, scope=machine_scope)
    client_id, endpoint = client["client_id"], metadata["token_endpoint"]
    now = int(time.time())

    def ask(client_assertion, **form):
        return requests.post(endpoint, timeout=TIMEOUT, data=with_assertion(
            client_assertion, grant_type="client_credentials", scope=machine_scope, **form))

    first = assertion(key, client_id, endpoint)
    assert ask(first).status_code == 200, ask(first).text
    refusals = {
        "replayed": first,
        "wrong aud": assertion(key, client_id, "https://elsewhere.example/oauth/token"),
        "expired": assertion(key, client_id, endpoint, iat=now - 600, exp=now - 300),
        "too far in the future": assertion(key, client_id, endpoint, exp=now + 3600),
        "a key not in the client's JWKS": assertion(stranger, client_id, endpoint),
        "alg none": unsigned(client_id, endpoint),
        "HS256 with the public key as secret": hs256(json.dumps(key.as_dict(private=False)), client_id, endpoint),
        "no jti": assertion(key, client_id, endpoint, jti=None),
    }
    for rule, client_assertion in refusals.items():
        response = ask(client_assertion)
        assert (response.status_code, response.json()) == (401, INVALID_CLIENT), rule
        assert "elsewhere" not in response.text
    # A secret presented by a private_key_jwt client (it has none).
    response = requests.post(endpoint, timeout=TIMEOUT, data={"grant_type": "client_credentials"},
                             auth=(client_id, "a-guessed-secret"))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    # Two methods at once, and another assertion type.
    response = requests.post(endpoint, timeout=TIMEOUT, auth=(client_id, "x"), data=with_assertion(
        assertion(key, client_id, endpoint), grant_type="client_credentials"))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    response = requests.post(endpoint, timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_assertion": assertion(key, client_id, endpoint),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"
    served = 0

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).served += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_keys_at_a_jwks_uri_served_on_loopback(metadata, machine_scope):
    key = rsa_key()
    handler = type("Jwks", (_Jwks,), {"body": json.dumps(jwks_of(key)).encode()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        client = authctl("client", "create", "--name", unique("Remote"), "--grant",
                         "client_credentials", "--scope", machine_scope, "--jwks-uri", uri)
        assert handler.served == 1  # authctl fetched it to check it
        session = session_for(client["client_id"], key, machine_scope)
        for _ in range(2):
            token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials",
                                        timeout=TIMEOUT)
            assert token["scope"] == machine_scope
        # The warm function fetched it (once per container; up to 4 containers run).
        assert 2 <= handler.served <= 1 + 4
        # A JWKS holding a private key is refused at registration.
        handler.body = json.dumps({"keys": [key.as_dict(private=True)]}).encode()
        refused = authctl("client", "create", "--name", unique("Leaky"), "--grant",
                          "client_credentials", "--jwks-uri", uri, check=False)
        assert refused.returncode != 0 and "private key" in refused.stderr
    finally:
        server.shutdown()
        server.server_close()


def _certificate(subject, issuer_name, public_key, signing_key, *, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(signing_key, hashes.SHA256())


def test_an_https_jwks_uri_is_fetched_over_tls_with_the_platforms_roots(tmp_path, machine_scope):
    """The fetch's TLS path (authctl runs the functions' fetch code): a JWKS served over https
    on loopback by a certificate of a test CA is fetched when SSL_CERT_FILE names that CA (as
    the template names Amazon Linux's bundle), and refused without it."""
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwks test CA")])
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    leaf = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name,
                        leaf_key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    handler = type("Jwks", (_Jwks,), {"body": json.dumps(jwks_of(rsa_key())).encode()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"https://127.0.0.1:{server.server_address[1]}/jwks.json"
        args = [AUTHCTL, "--json", "client", "create", "--name", unique("Tls"), "--grant",
                "client_credentials", "--scope", machine_scope, "--jwks-uri", uri]
        trusted = subprocess.run(args, capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "SSL_CERT_FILE": str(tmp_path / "ca.pem")})
        assert trusted.returncode == 0, trusted.stderr
        assert json.loads(trusted.stdout)["keys"] == {"jwks_uri": uri}
        untrusted = subprocess.run(args, capture_output=True, text=True, timeout=60,
                                   env={k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"})
        assert untrusted.returncode != 0 and "tls" in untrusted.stderr, untrusted.stderr
    finally:
        server.shutdown()
        server.server_close()
