"""template.yaml throttles the API (issue: nothing throttled POST /login, each request a full
argon2id hash) and caps the functions that a flood could use up."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import cfn  # noqa: E402

TEMPLATE = cfn.load()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]


def default(value):
    """The default of a `!Ref Parameter`."""
    return PARAMETERS[value["Ref"]]["Default"]


def stage():
    (stage,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    return stage


def test_the_stage_throttles_every_route():
    settings = stage()["Properties"]["DefaultRouteSettings"]
    assert default(settings["ThrottlingRateLimit"]) > 0
    assert default(settings["ThrottlingBurstLimit"]) > 0


def test_sign_in_is_throttled_much_tighter_than_the_rest():
    props = stage()["Properties"]
    login = props["RouteSettings"]["POST /login"]
    assert default(login["ThrottlingRateLimit"]) * 10 <= default(props["DefaultRouteSettings"]["ThrottlingRateLimit"])
    assert default(login["ThrottlingBurstLimit"]) < default(props["DefaultRouteSettings"]["ThrottlingBurstLimit"])


def test_route_settings_name_routes_the_stage_waits_for():
    routes = {logical_id: r["Properties"]["RouteKey"] for logical_id, r in RESOURCES.items()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
    depends = set(cfn.as_list(stage().get("DependsOn", [])))
    for route_key in stage()["Properties"]["RouteSettings"]:
        owners = [logical_id for logical_id, key in routes.items() if key == route_key]
        assert owners, f"route settings for {route_key}, which no route defines"
        assert set(owners) <= depends, f"the stage must depend on {owners} (CloudFormation creates it first otherwise)"


def test_login_and_token_have_reserved_concurrency():
    for function, condition in [("LoginFunction", "HasLoginReservedConcurrency"),
                                ("TokenFunction", "HasTokenReservedConcurrency")]:
        reserved = RESOURCES[function]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][0] == condition
        assert default(reserved["Fn::If"][1]) > 0
