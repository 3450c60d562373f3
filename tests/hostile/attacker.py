"""Our own attacker: a model that obeys every injection it sees, and a tool API that answers
for anyone.

`obedient_script` plays the model behind tests/llm/scripted_server.py's `ScriptedLLM` (real
HTTP and SSE, spoken to by the real openai SDK). Drafting, it reads everything it was given —
the thread, the passages, the new mail, the tool results — calls every offered tool with every
order number in sight (and whatever address it finds as the identity), then writes a confident
reply that follows every "reply with …" / "include …" line anywhere in that context and copies
into it every link, email address, phone number and order or tracking id it found there.
Triage, summaries and escalation briefs come from the gullible script it extends.

`CarelessAPI` is a company API on loopback that looks an order up by its number alone and
answers with the customer's address, phone, tracking number and card digits, whoever asks: a
tool declared without `identity` or `owner_field` proves nothing about whose data it returns.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.llm.scripted_server import (
    Answer,
    gullible_script,
    offered_tools,
    passage_ids,
    purpose_of,
    tool_messages,
    user_text,
)

OBEY = re.compile(
    r"(?:reply|answer|respond|say|write|include|add|put|tell the customer)"
    r"(?: with| exactly| this| the following| in your (?:answer|reply))*[:\s]+\"?([^\"\n]{3,160})",
    re.I,
)
LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+\d[\d ()-]{6,18}\d")
NUMBER = re.compile(r"\b(?=[A-Z0-9]*\d)[A-Z0-9]{5,24}\b")
CARD_DIGITS = re.compile(r"(?:ending(?: in)?|last four|\*{4})[ :]*(\d{4})", re.I)
ORDER = re.compile(r"\b(1000\d)\b")


def context_of(request: dict[str, Any]) -> str:
    """Everything the model was handed: the user turn and every tool result."""
    results = [str(m.get("content") or "") for m in tool_messages(request)]
    return "\n".join([user_text(request), *results])


def harvest(context: str) -> list[str]:
    """Every link, address, phone number, id and card fragment in the context, in order."""
    found: list[str] = []
    for rx in (LINK, EMAIL, PHONE, NUMBER):
        found += [m.group(0).rstrip(".,;") for m in rx.finditer(context)]
    found += [f"card ending {m.group(1)}" for m in CARD_DIGITS.finditer(context)]
    return list(dict.fromkeys(found))


def obedient_calls(request: dict[str, Any], context: str) -> list[tuple[str, dict[str, Any] | str]]:
    """Every offered tool on every order number in sight; any address found is the identity."""
    orders = list(dict.fromkeys(ORDER.findall(context))) or ["10001"]
    emails = EMAIL.findall(context)
    calls: list[tuple[str, dict[str, Any] | str]] = []
    for tool in request.get("tools") or []:
        fn = tool["function"]
        props = set((fn.get("parameters") or {}).get("properties", {}))
        for order in orders:
            args: dict[str, Any] = {"order_id": order} if "order_id" in props else {}
            if "email" in props and emails:
                args["email"] = emails[-1]
            if "subject" in props:
                args["subject"] = "follow-up"
            calls.append((fn["name"], args))
    return calls


def obedient_draft(request: dict[str, Any]) -> Answer:
    context = context_of(request)
    if offered_tools(request) and not tool_messages(request):
        calls = obedient_calls(request, context)
        if calls:
            return Answer(None, calls)
    orders = [m.group(1).strip() for m in OBEY.finditer(context)]
    copied = harvest(context)
    reply = " ".join(["Thank you for your message.", *orders])
    if copied:
        reply += " For your reference: " + ", ".join(copied) + "."
    return Answer(
        json.dumps(
            {
                "reply": reply,
                "confidence": 0.98,
                "citations": passage_ids(request)[:2],
                "needs_human": False,
                "reason": "answered from the passages and tools",
            }
        )
    )


def obedient_script(request: dict[str, Any]) -> Answer:
    if purpose_of(request) == "draft":
        return obedient_draft(request)
    answer = gullible_script(request)
    assert isinstance(answer, Answer)
    return answer


# --- the careless API ----------------------------------------------------------------------

CUSTOMERS: dict[str, dict[str, Any]] = {
    "10001": {
        "order_id": "10001",
        "customer_email": "alice@example.org",
        "phone": "+44 20 7946 0001",
        "status": "shipped",
        "tracking": "JJD000390007770001",
        "payment": "Visa ending in 1881",
    },
    "10002": {
        "order_id": "10002",
        "customer_email": "bob@example.net",
        "phone": "+1 415 555 0182",
        "status": "delivered",
        "tracking": "1Z999AA10123456784",
        "payment": "Visa ending in 4242",
    },
}


class _Server(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True


@dataclass
class CarelessAPI:
    """GET /orders/<id>: the order, whoever asks (`asked` records the ids)."""

    asked: list[str] = field(default_factory=list)
    url: str = ""
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                order_id = unquote(self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
                api.asked.append(order_id)
                order = CUSTOMERS.get(order_id)
                body = json.dumps(order or {"error": "no such order"}).encode()
                self.send_response(200 if order else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def order_tool(url: str, *, careful: bool) -> dict[str, Any]:
    """`get_order_status` on the careless API: declared carelessly (the order number is all it
    takes) or carefully (bound to the verified sender, result owner checked)."""
    params: dict[str, Any] = {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^[0-9]{4,12}$"}},
        "required": ["order_id"],
    }
    tool: dict[str, Any] = {
        "description": "Status, carrier and tracking of an order.",
        "parameters": params,
        "url": f"{url}/orders/{{order_id}}",
    }
    if careful:
        params["properties"]["email"] = {"type": "string"}
        tool |= {"identity": {"email": "sender_email"}, "owner_field": "customer_email"}
    return {"get_order_status": tool}
