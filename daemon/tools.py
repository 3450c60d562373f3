"""Tools: the company APIs a model may call, declared in config, allow-listed per route.

Decides which tools a draft may use and what a tool call may touch. A route's tools are its
intent's `tools` that are also declared in `[tools.*]`. **Identity binding**: a parameter
marked in `identity` (the customer's email) is removed from the schema the model sees and is
filled by the daemon from the verified sender; whatever the model puts there is discarded (and
noted, since an honest model never sees the parameter). An unverified sender (no DMARC/DKIM
pass from a trusted server) is offered no identity-bound tool at all: no account data. A
result whose `owner_field` names another customer is refused — neither the model nor the
store sees it. A call to a tool the route does not offer is refused and flagged; arguments
are validated against the declared JSON Schema before anything goes over the network.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from connectors.base import ConnectorError
from connectors.http_tool import HttpTool, HttpToolSpec
from connectors.llm import ToolCall
from daemon.config import Settings, ToolSettings
from daemon.errors import ConfigError
from daemon.records import Address, ToolResult

READ_ONLY_METHODS = frozenset({"GET"})


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    settings: ToolSettings
    connector: HttpTool
    validator: Draft202012Validator

    @property
    def read_only(self) -> bool:
        return self.settings.method in READ_ONLY_METHODS

    @property
    def needs_identity(self) -> bool:
        return bool(self.settings.identity)

    def model_schema(self) -> dict[str, Any]:
        """The parameters the model sees: identity parameters removed."""
        schema = dict(self.settings.parameters)
        hidden = set(self.settings.identity)
        schema["properties"] = {
            k: v for k, v in schema.get("properties", {}).items() if k not in hidden
        }
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r not in hidden]
        return schema

    def openai_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.settings.description,
                "parameters": self.model_schema(),
            },
        }


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One executed (or refused) call: the record, what the model is told, and any problem
    that means an agent must look (a refused result, a failing API, a forbidden call)."""

    call: ToolCall
    result: ToolResult
    content: str
    problem: str | None = None
    reached: bool = False
    """The call went to the service (so a tool that changes data may have changed it)."""


class ToolRegistry:
    """Every declared tool, built once at start (credentials resolved from the environment)."""

    def __init__(self, tools: dict[str, Tool]) -> None:
        self.tools = tools

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.Client | None = None) -> ToolRegistry:
        shared = client or httpx.Client(follow_redirects=False)
        return cls({n: build_tool(n, cfg, shared) for n, cfg in settings.tools.items()})

    def toolbox(
        self,
        allowed: Iterable[str],
        sender: Address | None,
        *,
        verified: bool,
        read_only: bool = False,
    ) -> Toolbox:
        offered: dict[str, Tool] = {}
        withheld: dict[str, str] = {}
        for name in allowed:
            tool = self.tools.get(name)
            if tool is None:
                withheld[name] = "not declared in [tools]"
            elif tool.needs_identity and (sender is None or not verified):
                withheld[name] = "sender not verified: no account data"
            elif read_only and not tool.read_only:
                withheld[name] = "changes data; not offered for a suspicious mail"
            else:
                offered[name] = tool
        identity = sender.email.lower() if sender is not None and verified else None
        return Toolbox(offered, withheld, identity)

    def close(self) -> None:
        for tool in self.tools.values():
            tool.connector.close()


@dataclass
class Toolbox:
    """The tools one draft may call, bound to one customer."""

    offered: dict[str, Tool]
    withheld: dict[str, str]
    identity: str | None
    runs: list[ToolRun] = field(default_factory=list)

    def openai_tools(self) -> tuple[dict[str, Any], ...]:
        return tuple(t.openai_tool() for t in self.offered.values())

    def run_all(self, calls: Sequence[ToolCall]) -> list[ToolRun]:
        """Run a round's calls (in parallel: they are independent by construction)."""
        if len(calls) == 1:
            runs = [self.run(calls[0])]
        else:
            with ThreadPoolExecutor(min(len(calls), 8), thread_name_prefix="tool") as pool:
                runs = list(pool.map(self.run, calls))
        self.runs += runs
        return runs

    def run(self, call: ToolCall) -> ToolRun:
        tool = self.offered.get(call.name)
        if tool is None:
            why = self.withheld.get(call.name, "not allowed for this route")
            return refused(call, {}, f"tool {call.name!r} refused: {why}", flag=True)
        args, problem = self.bind(tool, call)
        if isinstance(args, str):
            return refused(call, {}, args, flag=False)
        errors = sorted(e.message for e in tool.validator.iter_errors(args))
        if errors:
            return refused(call, args, f"invalid arguments: {'; '.join(errors)[:300]}", flag=False)
        run = replace(self.execute(tool, call, args), reached=True)
        if problem is not None:  # the model tried to choose the customer: always flagged
            run = replace(run, problem="; ".join(p for p in (problem, run.problem) if p))
        return run

    def bind(self, tool: Tool, call: ToolCall) -> tuple[dict[str, Any] | str, str | None]:
        """The model's arguments with identity parameters set by us (or an error text)."""
        try:
            args = json.loads(call.arguments or "{}")
        except ValueError:
            return "arguments are not valid JSON", None
        if not isinstance(args, dict):
            return "arguments must be a JSON object", None
        problem = None
        for param in tool.settings.identity:
            given = args.pop(param, None)
            if given is not None and str(given).lower() != self.identity:
                problem = (
                    f"the model tried to set {call.name}.{param}; replaced by the verified sender"
                )
            args[param] = self.identity
        return args, problem

    def execute(self, tool: Tool, call: ToolCall, args: dict[str, Any]) -> ToolRun:
        try:
            answer = tool.connector.call(args)
        except ConnectorError as exc:
            return failed(call, args, f"tool {call.name} failed: {exc}")
        owner = owner_of(answer.data, tool.settings.owner_field)
        if owner is not None and owner.lower() != (self.identity or ""):
            return refused(
                call, args, f"tool {call.name}: result belongs to another customer", flag=True
            )
        if not answer.ok:
            return failed(
                call, args, f"tool {call.name} answered HTTP {answer.status}", data=answer.data
            )
        result = ToolResult(name=call.name, arguments=args, ok=True, result=answer.data)
        return ToolRun(call, result, json.dumps(answer.data, ensure_ascii=False))


def offline_calls(toolbox: Toolbox, text: str) -> list[ToolCall]:
    """The calls a drafter without a model makes: each offered read-only tool whose every
    non-identity parameter its `extract` regexes find in the mail (an order number, say).
    Identity parameters are bound by the toolbox as for a model; nothing here can choose them."""
    calls = []
    for tool in toolbox.offered.values():
        needed = set(tool.model_schema().get("properties", {}))
        if not tool.read_only or not needed or not needed <= set(tool.settings.extract):
            continue
        args = {}
        for param in needed:
            found = re.search(tool.settings.extract[param], text)
            if found is None:
                break
            args[param] = found.group(1) if found.groups() else found.group(0)
        else:
            calls.append(ToolCall(f"offline-{tool.name}", tool.name, json.dumps(args)))
    return calls


def refused(call: ToolCall, args: dict[str, Any], why: str, *, flag: bool) -> ToolRun:
    result = ToolResult(name=call.name, arguments=args, ok=False, result=None, error=why)
    return ToolRun(call, result, json.dumps({"error": why}), why if flag else None)


def failed(call: ToolCall, args: dict[str, Any], why: str, data: Any = None) -> ToolRun:
    result = ToolResult(name=call.name, arguments=args, ok=False, result=data, error=why)
    content = json.dumps({"error": why, "answer": data}, ensure_ascii=False)
    return ToolRun(call, result, content, why)


def owner_of(data: Any, path: str) -> str | None:
    """The value at dotted `path` in a JSON result (None when absent or not configured)."""
    if not path:
        return None
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return None if data is None else str(data)


def build_tool(name: str, cfg: ToolSettings, client: httpx.Client) -> Tool:
    headers: dict[str, str] = {}
    if cfg.auth_header:
        secret = os.environ.get(cfg.auth_env, "")
        if not secret:
            raise ConfigError(
                [(f"tools.{name}.auth_env", f"${cfg.auth_env} is not set in the environment")]
            )
        headers[cfg.auth_header] = cfg.auth_prefix + secret
    try:
        Draft202012Validator.check_schema(cfg.parameters)
    except SchemaError as exc:
        raise ConfigError(
            [(f"tools.{name}.parameters", f"not a JSON Schema: {exc.message}")]
        ) from None
    spec = HttpToolSpec(
        method=cfg.method,
        url=cfg.url,
        timeout=cfg.timeout_seconds,
        max_response_bytes=cfg.max_response_bytes,
        headers=headers,
    )
    return Tool(name, cfg, HttpTool(name, spec, client), Draft202012Validator(cfg.parameters))
