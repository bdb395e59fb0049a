"""GET /oauth/scopes against the running stack."""
import requests

from conftest import authctl, unique


def test_lists_a_scope_that_authctl_created(base_url):
    name = unique("e2e")
    authctl("scope", "create", name, "--description", "Created by the e2e test")
    response = requests.get(f"{base_url}/oauth/scopes", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    scopes = response.json()["scopes"]
    assert {"name": name, "description": "Created by the e2e test"} in scopes
    names = [s["name"] for s in scopes]
    assert names == sorted(names)
    assert set(scopes[0]) == {"name", "description"}


def test_deleted_scope_is_no_longer_listed(base_url):
    name = unique("gone")
    authctl("scope", "create", name, "--description", "Soon gone")
    authctl("scope", "delete", name)
    names = [s["name"] for s in requests.get(f"{base_url}/oauth/scopes", timeout=30).json()["scopes"]]
    assert name not in names


def test_unknown_and_odd_query_parameters_are_ignored(base_url):
    response = requests.get(f"{base_url}/oauth/scopes?x=%ff&y=1&y=2", timeout=30)
    assert response.status_code == 200
    assert "scopes" in response.json()


def test_only_get_is_routed(base_url):
    response = requests.post(f"{base_url}/oauth/scopes", data="x", timeout=30)
    assert 400 <= response.status_code < 500
