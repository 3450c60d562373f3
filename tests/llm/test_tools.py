"""daemon/tools.py and connectors/http_tool.py against the example tool service (real HTTP):
identity binding, result ownership, allow-lists, schema validation, URL encoding, size caps,
timeouts, auth headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tool_service import ToolService

from connectors.llm import ToolCall
from daemon.errors import ConfigError
from daemon.records import Address
from daemon.tools import ToolRegistry
from tests.conftest import make_settings
from tests.llm.helpers import example_tools

ALICE = Address("Alice", "alice@example.org")


def registry(tmp_path: Path, tools: dict[str, Any]) -> ToolRegistry:
    return ToolRegistry.from_settings(make_settings(tmp_path, tools=tools))


def call(name: str, **args: Any) -> ToolCall:
    return ToolCall(f"call_{name}", name, json.dumps(args))


ALL = ("get_order_status", "check_refund_eligibility", "create_crm_ticket")


def test_identity_parameter_is_hidden_from_the_model(
    tmp_path: Path, tool_service: ToolService
) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=True)
    for tool in box.openai_tools():
        params = tool["function"]["parameters"]
        assert "email" not in params["properties"]
        assert "email" not in params.get("required", [])


def test_the_model_cannot_choose_whose_order(tmp_path: Path, tool_service: ToolService) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=True)
    run = box.run(call("get_order_status", order_id="10002", email="bob@example.net"))
    assert tool_service.emails_asked() == {"alice@example.org"}
    assert not run.result.ok and run.result.arguments["email"] == "alice@example.org"
    assert run.problem and "tried to set" in run.problem
    own = box.run(call("get_order_status", order_id="10001"))
    assert own.result.ok and own.result.result["status"] == "shipped" and own.problem is None


def test_post_tool_gets_the_verified_identity(tmp_path: Path, tool_service: ToolService) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=True)
    run = box.run(call("create_crm_ticket", subject="late parcel", email="mallory@evil.test"))
    assert run.result.ok and tool_service.crm_tickets[0]["customer_email"] == "alice@example.org"


def test_unverified_sender_gets_no_identity_tools(
    tmp_path: Path, tool_service: ToolService
) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=False)
    assert box.openai_tools() == ()
    assert box.withheld["get_order_status"] == "sender not verified: no account data"
    run = box.run(call("get_order_status", order_id="10001"))
    assert not run.result.ok and run.problem and "not verified" in run.problem
    assert tool_service.requests == []


def test_tool_outside_the_route_is_refused(tmp_path: Path, tool_service: ToolService) -> None:
    reg = registry(tmp_path, example_tools(tool_service.url))
    box = reg.toolbox(("get_order_status",), ALICE, verified=True)
    run = box.run(call("create_crm_ticket", subject="x"))
    assert run.problem and "not allowed" in run.problem and tool_service.requests == []


def test_result_of_another_customer_is_refused_and_not_kept(
    tmp_path: Path, tool_service: ToolService
) -> None:
    careless = {
        "lookup_order": {
            "description": "Look an order up (careless API: no customer check).",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            "url": f"{tool_service.url}/orders/{{order_id}}",
            "owner_field": "customer_email",
        }
    }
    box = registry(tmp_path, example_tools(tool_service.url, **careless)).toolbox(
        ("lookup_order",), ALICE, verified=True
    )
    run = box.run(call("lookup_order", order_id="10002"))
    assert not run.result.ok and run.result.result is None
    assert "another customer" in (run.problem or "")
    assert "bob" not in run.content and "UPS" not in run.content
    assert box.run(call("lookup_order", order_id="10003")).result.ok


READ_ONLY = ("get_order_status", "create_crm_ticket")


def test_suspicious_mail_gets_read_only_tools(tmp_path: Path, tool_service: ToolService) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(
        READ_ONLY, ALICE, verified=True, read_only=True
    )
    assert [t["function"]["name"] for t in box.openai_tools()] == ["get_order_status"]


BAD_ARGS = [
    ("not JSON", "{order_id: 1", "not valid JSON"),
    ("not an object", "[1, 2]", "JSON object"),
    ("schema violation", json.dumps({"order_id": "../crm/tickets"}), "invalid arguments"),
    ("unknown argument", json.dumps({"order_id": "10001", "admin": True}), "invalid arguments"),
]


@pytest.mark.parametrize(("label", "arguments", "error"), BAD_ARGS, ids=[b[0] for b in BAD_ARGS])
def test_bad_arguments_never_reach_the_api(
    tmp_path: Path, tool_service: ToolService, label: str, arguments: str, error: str
) -> None:
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=True)
    run = box.run(ToolCall("c1", "get_order_status", arguments))
    assert not run.result.ok and error in (run.result.error or ""), label
    assert tool_service.requests == []


def test_path_arguments_are_percent_encoded(tmp_path: Path, tool_service: ToolService) -> None:
    loose = {
        "loose": {
            "description": "no pattern on the id",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            "url": f"{tool_service.url}/orders/{{order_id}}",
        }
    }
    box = registry(tmp_path, loose).toolbox(("loose",), ALICE, verified=True)
    box.run(call("loose", order_id="../crm/tickets?x=1"))
    assert tool_service.requests[0].path == "/orders/..%2Fcrm%2Ftickets%3Fx%3D1"


def failing_tools(url: str) -> dict[str, Any]:
    base = {"description": "x", "parameters": {"type": "object", "properties": {}}}
    return {
        "big": {**base, "url": f"{url}/big", "max_response_bytes": 10_000},
        "broken": {**base, "url": f"{url}/broken"},
        "slow": {**base, "url": f"{url}/orders/10001", "timeout_seconds": 0.2},
        "nowhere": {**base, "url": "http://127.0.0.1:9/x", "timeout_seconds": 1},
    }


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("big", "larger than 10000 bytes"),
        ("broken", "server error HTTP 503"),
        ("slow", "no answer within 0.2s"),
        ("nowhere", "ConnectError"),
    ],
)
def test_failing_tools_are_reported_not_raised(
    tmp_path: Path, tool_service: ToolService, name: str, error: str
) -> None:
    tool_service.latency = 0.5 if name == "slow" else 0.0
    box = registry(tmp_path, failing_tools(tool_service.url)).toolbox((name,), ALICE, verified=True)
    run = box.run(call(name))
    assert not run.result.ok and error in (run.result.error or ""), run.result.error
    assert run.problem  # a failing tool means an agent must look


def test_auth_header_comes_from_the_environment(
    tmp_path: Path, tool_service: ToolService, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool_service.token = "s3cret"
    tools = example_tools(tool_service.url)
    for t in tools.values():
        t.update(auth_header="Authorization", auth_env="TOOLS_TOKEN", auth_prefix="Bearer ")
    with pytest.raises(ConfigError, match="TOOLS_TOKEN"):
        registry(tmp_path, tools)
    monkeypatch.setenv("TOOLS_TOKEN", "s3cret")
    box = registry(tmp_path, tools).toolbox(ALL, ALICE, verified=True)
    assert box.run(call("get_order_status", order_id="10001")).result.ok
    assert tool_service.requests[-1].authorized


def test_parallel_calls_run_together(tmp_path: Path, tool_service: ToolService) -> None:
    tool_service.latency = 0.3
    box = registry(tmp_path, example_tools(tool_service.url)).toolbox(ALL, ALICE, verified=True)
    import time

    started = time.monotonic()
    runs = box.run_all(
        [
            call("get_order_status", order_id="10001"),
            call("check_refund_eligibility", order_id="10003"),
        ]
    )
    assert time.monotonic() - started < 0.55
    assert [r.result.ok for r in runs] == [True, True]
    assert runs[1].result.result["eligible"] is False
