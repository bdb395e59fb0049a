"""The client credentials grant over HTTP (issue 15.2, RFC 6749 4.4): authlib's client
credentials session, configured from the metadata document, gets the machine's own token;
introspection reports it until it is revoked; UserInfo refuses it (it stands for no user)."""
import requests
from authlib.integrations.requests_client import OAuth2Session

from conftest import TIMEOUT, authctl, create_scope, introspect, revoke, unique


def machine_client(*scopes, grants=("client_credentials",)):
    args = ["client", "create", "--name", unique("Machine")]
    for scope in scopes:
        args += ["--scope", scope]
    for grant in grants:
        args += ["--grant", grant]
    return authctl(*args)


def test_authlib_gets_a_machine_its_own_token(metadata):
    scope, _ = create_scope("machine")
    machine = machine_client(scope)
    assert "client_credentials" in metadata["grant_types_supported"]
    session = OAuth2Session(machine["client_id"], machine["client_secret"], scope=scope,
                            token_endpoint_auth_method="client_secret_basic")
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials",
                                timeout=TIMEOUT)
    assert token["token_type"] == "Bearer" and token["scope"] == scope
    assert "refresh_token" not in token and "id_token" not in token
    report = introspect_as(metadata, machine, token["access_token"])
    assert report["active"] is True and report["sub"] == machine["client_id"]
    userinfo = requests.get(metadata["userinfo_endpoint"], timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 403 and "insufficient_scope" in userinfo.headers["www-authenticate"]
    assert revoke(metadata["issuer"], machine, token["access_token"]).status_code == 200
    assert introspect_as(metadata, machine, token["access_token"]) == {"active": False}


def introspect_as(metadata, client, value):
    return introspect(metadata["issuer"], client, value)


def test_rejections(metadata):
    scope, _ = create_scope("machine")
    other, _ = create_scope("machine-other")
    machine = machine_client(scope)
    token_endpoint = metadata["token_endpoint"]

    def ask(client, **form):
        return requests.post(token_endpoint, data={"grant_type": "client_credentials", **form},
                             auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)

    # A scope the client may not have; openid, which needs a user.
    assert ask(machine, scope=other).json()["error"] == "invalid_scope"
    assert ask(machine, scope="openid").json()["error"] == "invalid_scope"
    # A client registered without the grant.
    app = authctl("client", "create", "--name", unique("App"), "--redirect-uri",
                  "http://127.0.0.1:8765/callback", "--scope", scope)
    refused = ask(app, scope=scope)
    assert (refused.status_code, refused.json()["error"]) == (400, "unauthorized_client")
    # A wrong secret.
    wrong = requests.post(token_endpoint, data={"grant_type": "client_credentials"},
                          auth=(machine["client_id"], "wrong"), timeout=TIMEOUT)
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    # A public client cannot be registered with it.
    public = authctl("client", "create", "--name", unique("SPA"), "--public", "--redirect-uri",
                     "http://127.0.0.1:8765/callback", "--grant", "client_credentials", check=False)
    assert public.returncode != 0 and "client_credentials" in public.stderr
