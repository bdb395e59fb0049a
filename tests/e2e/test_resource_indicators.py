"""APIs as audiences over HTTP (RFC 8707, issue 15.4): an operator registers two APIs with
authctl, a user authorizes one of them, and the tokens are for that API alone; a machine gets
a token for either; every `invalid_target` rule; introspection reports `aud`, revocation works
on a token for an API. tests/js/resource_indicators.test.mjs checks the tokens as the APIs
would (oauth4webapi, API Gateway's JWT authorizer)."""
import base64
import json

import pytest
import requests

from conftest import (REDIRECT_URI, TIMEOUT, authctl, authorize, callback_of, code_grant,
                      code_request, create_client, create_scope, create_user, decide, introspect,
                      post_token, refresh_grant, revoke, sign_in_and_come_back, unique)


@pytest.fixture(scope="module")
def apis():
    """Two APIs (Orders accepts `orders`, Billing `billing`), a client allowed both scopes
    with the refresh grant, a machine client, a user."""
    orders_scope, _ = create_scope("orders")
    billing_scope, _ = create_scope("billing")
    orders = f"https://{unique('orders')}.example"
    billing = f"https://{unique('billing')}.example"
    authctl("resource", "create", orders, "--name", "Orders API", "--scope", orders_scope)
    authctl("resource", "create", billing, "--name", "Billing API", "--scope", billing_scope)
    app = create_client(orders_scope, billing_scope,
                        flags=("--grant", "authorization_code", "--grant", "refresh_token"))
    machine = authctl("client", "create", "--name", unique("Machine"), "--grant",
                      "client_credentials", "--scope", orders_scope, "--scope", billing_scope)
    return {"orders": (orders, orders_scope), "billing": (billing, billing_scope), "app": app,
            "machine": machine, "user": create_user("apis")}


def aud_of(token):
    """The `aud` of a JWT, read without verifying it (the JS tests verify as APIs would)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"]


def code_for(base_url, apis, scope, resource, agent=None):
    """The browser's side: authorize with `resource`, sign in, approve; (code, verifier, the
    consent page, or None when consent was remembered)."""
    agent = agent or requests.Session()
    params, verifier = code_request(apis["app"], scope)
    params["resource"] = resource
    response = authorize(agent, base_url, params)
    response = sign_in_and_come_back(agent, base_url, apis["user"], response)
    if response.status_code == 302:  # consent remembered from an earlier test
        return callback_of(response, 302)["code"], verifier, None
    assert response.status_code == 200, response.text
    callback = callback_of(decide(agent, base_url, response, "approve"), 303)
    return callback["code"], verifier, response.text


def test_a_user_authorizes_one_api_and_its_tokens_are_for_it_alone(base_url, apis):
    orders, orders_scope = apis["orders"]
    code, verifier, page = code_for(base_url, apis, orders_scope, orders)
    assert "Orders API" in page and orders in page, "the consent page names the API"
    tokens = post_token(base_url, code_grant(code, verifier), apis["app"]).json()
    assert aud_of(tokens["access_token"]) == orders
    report = introspect(base_url, apis["app"], tokens["access_token"])
    assert report["active"] is True and report["aud"] == orders
    refreshed = post_token(base_url, refresh_grant(tokens["refresh_token"]), apis["app"]).json()
    assert aud_of(refreshed["access_token"]) == orders
    # Revoked like any token: introspection then says inactive.
    assert revoke(base_url, apis["app"], refreshed["access_token"]).status_code == 200
    assert introspect(base_url, apis["app"], refreshed["access_token"]) == {"active": False}


def test_a_token_request_may_only_narrow_the_apis(base_url, apis):
    orders, orders_scope = apis["orders"]
    billing, _ = apis["billing"]
    code, verifier, _ = code_for(base_url, apis, orders_scope, orders)
    refused = post_token(base_url, {**code_grant(code, verifier), "resource": billing}, apis["app"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target")
    # Refused before the code was spent.
    tokens = post_token(base_url, {**code_grant(code, verifier), "resource": orders}, apis["app"])
    assert tokens.status_code == 200, tokens.text
    again = post_token(base_url, {**refresh_grant(tokens.json()["refresh_token"]),
                                  "resource": billing}, apis["app"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_target")


@pytest.mark.parametrize("rule", ["unknown API", "scope not accepted"])
def test_authorize_refuses_with_invalid_target(base_url, apis, rule):
    orders, _ = apis["orders"]
    _, billing_scope = apis["billing"]
    params, _ = code_request(apis["app"], billing_scope)
    params["resource"] = "https://unknown.example" if rule == "unknown API" else orders
    callback = callback_of(authorize(requests.Session(), base_url, params), 302)
    assert callback["error"] == "invalid_target"
    assert callback["state"] == params["state"]


def test_a_machine_gets_a_token_for_each_api(base_url, apis, metadata):
    machine = apis["machine"]
    auth = (machine["client_id"], machine["client_secret"])

    def ask(**form):
        return requests.post(metadata["token_endpoint"], auth=auth, timeout=TIMEOUT,
                             data={"grant_type": "client_credentials", **form})

    for name in ("orders", "billing"):
        uri, scope = apis[name]
        token = ask(scope=scope, resource=uri)
        assert token.status_code == 200, token.text
        assert aud_of(token.json()["access_token"]) == uri
    orders, orders_scope = apis["orders"]
    _, billing_scope = apis["billing"]
    for form in ({"scope": orders_scope, "resource": "https://unknown.example"},
                 {"scope": billing_scope, "resource": orders}):
        refused = ask(**form)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target"), form
    # A machine's token for an API, introspected by the machine: aud reported.
    token = ask(scope=orders_scope, resource=orders).json()["access_token"]
    assert introspect(base_url, machine, token)["aud"] == orders


def test_authctl_lists_and_deletes_apis(apis):
    orders, _ = apis["orders"]
    listed = authctl("resource", "list")
    assert any(api["uri"] == orders and api["name"] == "Orders API" for api in listed)
    spare = f"https://{unique('spare')}.example"
    _, scope = apis["billing"]
    authctl("resource", "create", spare, "--scope", scope)
    assert authctl("resource", "delete", spare) == {"deleted": spare}
    missing = authctl("resource", "delete", spare, check=False)
    assert missing.returncode != 0
    refused = authctl("resource", "create", "https://x.example#frag", "--scope", scope, check=False)
    assert refused.returncode != 0 and "RFC 8707" in refused.stderr
