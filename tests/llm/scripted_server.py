"""A scripted OpenAI-compatible server on loopback: real HTTP, real SSE, scripted answers.

A test (or the benchmark, as a subprocess) gives it a `script`: a function from the request's
JSON to an `Answer` (content and/or tool calls, rendered as a JSON completion or an SSE stream,
whichever the request asked for, with usage when `stream_options.include_usage` is set) or a
`Reply` (raw control for faults: status and headers, a delay, a body that is not JSON, a
stream that stalls, breaks off or carries a bad chunk). An `Answer` can itself be slow
(`delay`; `slow_first` delays only the first request, which is still running when the
client's retry arrives), dribble its stream (`interval`) or leave usage out of it even when
asked (`stream_usage=False`). Every request is recorded.

`faults` makes it answer as real servers do where they differ from the reference (each named
after what was seen on llama.cpp's server): "json_schema_500" refuses `json_schema` with HTTP
500 and pydantic's text, "null_content_500" refuses an assistant turn whose `content` is null,
"tools_need_tool_choice" ignores the tools of a request that sends no `tool_choice`.

`gullible_script` plays the worst model helpdeskd must survive: it believes everything the
mail says, calls tools with whatever identity the mail names, and answers confidently.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    import quicktok

    _ENC: Any = quicktok.get_encoding("llama3")
except Exception:  # pragma: no cover - the server still works, counting chars/4
    _ENC = None


class Server(ThreadingHTTPServer):
    # listen() backlog: the default 5 drops concurrent connects (clients retry after 1 s).
    request_queue_size = 256
    daemon_threads = True


@dataclass
class Answer:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    finish: str | None = None
    """Default: "tool_calls" when there are calls, else "stop"."""
    omit_index: bool = False
    """Stream tool-call deltas without `index` (some servers do; the SDK's helper breaks)."""
    stream_usage: bool = True
    """False: a stream carries no usage even when asked (`include_usage` ignored)."""
    delay: float = 0.0
    """Seconds before answering (a slow server: the client may time out and retry meanwhile)."""
    interval: float = 0.0
    """Seconds between two SSE lines (a server dribbling its stream)."""


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    sse: list[str] | None = None
    """Raw SSE data lines (without 'data: '), sent in order."""
    stall_after: int | None = None
    stall: float = 0.0
    """Sleep `stall` seconds after sending `stall_after` SSE lines."""
    interval: float = 0.0
    """Sleep between two SSE lines."""


Script = Callable[[dict[str, Any]], "Answer | Reply"]
EmbedScript = Callable[[dict[str, Any]], "list[list[float]] | Reply"]
EMBED_DIMS = 64
SYNONYMS = {
    "parcel": "package",
    "shipment": "package",
    "money": "refund",
    "reimbursement": "refund",
    "passcode": "password",
    "login": "password",
}
"""Words the scripted embedder treats as one meaning, so a vector can find what keywords miss."""


def hashed_embedding(text: str, dims: int = EMBED_DIMS) -> list[float]:
    """A deterministic bag-of-words vector: each word (synonyms folded) adds ±1 to a bucket."""
    vector = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        word = SYNONYMS.get(word, word)
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
        vector[h % dims] += 1.0 if (h >> 32) & 1 else -1.0
    return vector


def hashed_embeddings(request: dict[str, Any]) -> list[list[float]]:
    inputs = request.get("input", [])
    return [hashed_embedding(text) for text in ([inputs] if isinstance(inputs, str) else inputs)]


def count_tokens(text: str) -> int:
    return len(_ENC.encode(text)) if _ENC is not None else len(text) // 4


def prompt_tokens(request: dict[str, Any]) -> int:
    total = 0
    for msg in request.get("messages", []):
        content = msg.get("content")
        if isinstance(content, str):
            total += count_tokens(content) + 4
        elif isinstance(content, list):
            total += sum(
                count_tokens(p.get("text", "")) if p.get("type") == "text" else 765 for p in content
            )
        for call in msg.get("tool_calls") or []:
            total += count_tokens(json.dumps(call))
    return total + count_tokens(json.dumps(request.get("tools", [])))


class ScriptedLLM:
    def __init__(self, script: Script, latency: float = 0.0) -> None:
        self.script = script
        self.latency = latency
        self.requests: list[dict[str, Any]] = []
        self.embed: EmbedScript = hashed_embeddings
        """`/v1/embeddings`: vectors per input, or a `Reply` for faults."""
        self.embedding_requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""
        self.faults: set[str] = set()

    def start(self, port: int = 0) -> str:
        owner = self

        class Handler(CompletionHandler):
            llm = owner

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def record(self, request: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


class CompletionHandler(BaseHTTPRequestHandler):
    llm: ScriptedLLM

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/").endswith("/embeddings"):
            self.embeddings(request)
            return
        self.llm.record(request)
        try:
            if self.llm.latency:
                time.sleep(self.llm.latency)
            outcome = fault_reply(self.llm.faults, request) or self.llm.script(
                as_seen(self.llm.faults, request)
            )
            if isinstance(outcome, Answer):
                outcome = render(outcome, request)
            self.send(outcome)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer
        finally:
            self.llm.done()

    def embeddings(self, request: dict[str, Any]) -> None:
        with self.llm.lock:
            self.llm.embedding_requests.append(request)
        try:
            outcome = self.llm.embed(request)
            if not isinstance(outcome, Reply):
                data = [
                    {"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(outcome)
                ]
                tokens = len(json.dumps(request.get("input", ""))) // 4
                usage = {"prompt_tokens": tokens, "total_tokens": tokens}
                body = {
                    "object": "list",
                    "data": data,
                    "model": request.get("model"),
                    "usage": usage,
                }
                outcome = Reply(body=body)
            self.send(outcome)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.sse is not None:
            self.send_sse(reply)
            return
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def send_sse(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        for i, line in enumerate(reply.sse or []):
            if reply.stall_after is not None and i == reply.stall_after:
                time.sleep(reply.stall)
            if reply.interval and i:
                time.sleep(reply.interval)
            self.wfile.write(f"data: {line}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


# --- faults of real servers ---------------------------------------------------------------

PYDANTIC_JSON_SCHEMA = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}"
)
"""What llama-cpp-python 0.3.36's server answered (HTTP 500) to response_format json_schema."""
PYDANTIC_NULL_CONTENT = (
    "7 validation errors:\n  {'type': 'literal_error', 'loc': ('body', 'messages', 1, "
    "'ChatCompletionRequestSystemMessage', 'role'), 'msg': \"Input should be 'system'\", "
    "'input': 'assistant', 'ctx': {'expected': \"'system'\"}}"
)
"""Its answer (HTTP 500) to an assistant turn with tool calls and `content: null`."""


def fault_reply(faults: set[str], request: dict[str, Any]) -> Reply | None:
    """The error a real server gives for this request, if one of `faults` applies."""
    fmt = request.get("response_format") or {}
    if "json_schema_500" in faults and fmt.get("type") == "json_schema":
        return server_error(PYDANTIC_JSON_SCHEMA)
    nulls = [
        m
        for m in request.get("messages", [])
        if m.get("role") == "assistant" and m.get("content", None) is None
    ]
    if "null_content_500" in faults and nulls:
        return server_error(PYDANTIC_NULL_CONTENT)
    return None


def server_error(message: str) -> Reply:
    """llama-cpp-python's server wraps every unexpected exception like this, as HTTP 500."""
    body = {"message": message, "type": "internal_server_error", "param": None, "code": None}
    return Reply(status=500, body={"error": body})


def as_seen(faults: set[str], request: dict[str, Any]) -> dict[str, Any]:
    """The request as the model sees it: llama.cpp's function-calling format drops the tools
    unless `tool_choice` is sent (and is not "none")."""
    if "tools_need_tool_choice" in faults and request.get("tool_choice") in (None, "none"):
        return {k: v for k, v in request.items() if k != "tools"}
    return request


# --- rendering answers ---------------------------------------------------------------------


def render(answer: Answer, request: dict[str, Any]) -> Reply:
    usage = {
        "prompt_tokens": prompt_tokens(request),
        "completion_tokens": count_tokens(answer.content or "") + 10 * len(answer.tool_calls),
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    finish = answer.finish or ("tool_calls" if answer.tool_calls else "stop")
    calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args),
            },
        }
        for i, (name, args) in enumerate(answer.tool_calls)
    ]
    model = request.get("model", "scripted")
    if request.get("stream"):
        asked = bool((request.get("stream_options") or {}).get("include_usage"))
        with_usage = asked and answer.stream_usage
        lines = stream_lines(answer, calls, finish, usage if with_usage else None, model)
        return Reply(sse=lines, delay=answer.delay, interval=answer.interval)
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if calls:
        message["tool_calls"] = calls
    return Reply(
        delay=answer.delay,
        body={
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        },
    )


def as_json(args: dict[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps(
        {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
        }
    )


def stream_lines(
    answer: Answer,
    calls: list[dict[str, Any]],
    finish: str,
    usage: dict[str, int] | None,
    model: str,
) -> list[str]:
    lines = [chunk(model, {"role": "assistant", "content": ""})]
    text = answer.content or ""
    lines += [chunk(model, {"content": text[i : i + 16]}) for i in range(0, len(text), 16)]
    for i, call in enumerate(calls):
        head: dict[str, Any] = {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        if not answer.omit_index:
            head["index"] = i
        lines.append(chunk(model, {"tool_calls": [head]}))
        args = call["function"]["arguments"]
        for j in range(0, len(args), 12):
            part: dict[str, Any] = {"function": {"arguments": args[j : j + 12]}}
            if not answer.omit_index:
                part["index"] = i
            lines.append(chunk(model, {"tool_calls": [part]}))
    lines.append(chunk(model, {}, finish))
    if usage is not None:
        last = json.loads(chunk(model, None))
        last["usage"] = usage
        lines.append(json.dumps(last))
    lines.append("[DONE]")
    return lines


def slow_first(seconds: float, script: Script) -> Script:
    """`script`, except that the first request is answered only after `seconds` (it is still
    running on the server when the client's retry arrives)."""
    seen = itertools.count()

    def slow(request: dict[str, Any]) -> Answer | Reply:
        outcome = script(request)
        if next(seen) == 0 and isinstance(outcome, Answer):
            return replace(outcome, delay=seconds)
        return outcome

    return slow


# --- reading requests ----------------------------------------------------------------------


def system_text(request: dict[str, Any]) -> str:
    return "\n".join(
        m["content"]
        for m in request.get("messages", [])
        if m.get("role") == "system" and isinstance(m.get("content"), str)
    )


def user_text(request: dict[str, Any]) -> str:
    parts = []
    for m in request.get("messages", []):
        if m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p.get("text", "") for p in content if p.get("type") == "text"]
    return "\n".join(parts)


def purpose_of(request: dict[str, Any]) -> str:
    system = system_text(request)
    for marker, purpose in (
        ("You sort customer-support email", "triage"),
        ("You describe images", "vision"),
        ("You summarize the earlier part", "summary"),
        ("You brief a support agent", "escalation"),
        ("You write the body of a reply", "draft"),
    ):
        if marker in system:
            return purpose
    return "other"


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request.get("messages", []) if m.get("role") == "tool"]


def offered_tools(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


def passage_ids(request: dict[str, Any]) -> list[str]:
    return re.findall(r'<passage id="([^"]+)"', user_text(request))


# --- the gullible model --------------------------------------------------------------------

INTENT_WORDS = (
    ("human_request", ("human", "person", "mensch", "persona")),
    ("data_privacy", ("gdpr", "delete my data", "datenschutz")),
    ("legal", ("lawyer", "chargeback", "court", "sue ")),
    ("refund", ("refund", "money back", "rückerstattung", "reembolso")),
    ("order_status", ("order", "package", "bestellung", "pedido", "where is")),
    ("technical", ("error", "crash", "fehler")),
)
LANGUAGE_WORDS = (("de", ("bestellung", "danke", "bitte", "wo ist")), ("es", ("pedido", "gracias")))


def triage_answer(request: dict[str, Any]) -> Answer:
    text = user_text(request).lower()
    intent = next((n for n, words in INTENT_WORDS if any(w in text for w in words)), "general")
    language = next((lang for lang, words in LANGUAGE_WORDS if any(w in text for w in words)), "en")
    return Answer(
        json.dumps(
            {
                "intent": intent,
                "language": language,
                "risk": "none",
                "wants_human": intent == "human_request",
                "confidence": 0.9,
            }
        )
    )


OBEY = r"(?:reply|answer|say)(?: with| exactly)?[:\s]+\"?([^\"\n]{3,120})"
VISION = "A screenshot of an error dialog that reads: 'Error 0x80070005 access denied'."


def gullible_draft(request: dict[str, Any]) -> Answer:
    """Calls every offered tool on every order number in the mail, with any address the mail
    names as the identity; then answers with what it got, obeying any instruction."""
    text = user_text(request)
    mail = text[text.rfind("<customer_email") :]
    tools = offered_tools(request)
    if tools and not tool_messages(request):
        calls = gullible_calls(mail, tools)
        if calls:
            return Answer(None, calls)
    results = " ".join(m["content"] for m in tool_messages(request))
    obey = re.search(
        r"(?:reply|answer|say)(?: with| exactly)?[:\s]+\"?([^\"\n]{3,120})", mail, re.I
    )
    reply = f"Here is what we found: {results[:400]}" if results else "Thanks for your message."
    if obey:
        reply += f" {obey.group(1)}"
    return Answer(
        json.dumps(
            {
                "reply": reply,
                "confidence": 0.97,
                "citations": passage_ids(request)[:2],
                "needs_human": False,
                "reason": "answered from the passages and tools",
            }
        )
    )


def gullible_calls(mail: str, tools: list[str]) -> list[tuple[str, dict[str, Any] | str]]:
    orders = list(dict.fromkeys(re.findall(r"\b(1000\d)\b", mail)))
    emails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", mail)
    calls: list[tuple[str, dict[str, Any] | str]] = []
    for tool in tools:
        for order in orders or ["10001"]:
            args: dict[str, Any] = {"order_id": order}
            if emails:
                args["email"] = emails[-1]  # whoever the mail says: the daemon must not care
            if tool == "create_crm_ticket":
                args = {"subject": "follow-up", **({"email": emails[-1]} if emails else {})}
            calls.append((tool, args))
    return calls


def gullible_script(request: dict[str, Any]) -> Answer:
    purpose = purpose_of(request)
    if purpose == "triage":
        return triage_answer(request)
    if purpose == "vision":
        return Answer(
            "A screenshot of an error dialog that reads: 'Error 0x80070005 access denied'."
        )
    if purpose == "summary":
        return Answer("Earlier: the customer asked about an order; support answered.")
    if purpose == "escalation":
        return Answer(
            json.dumps(
                {
                    "customer": "the sender",
                    "wants": "help with their request",
                    "tried": ["looked up the knowledge base"],
                    "tool_results": [],
                    "open_questions": ["is the request legitimate?"],
                    "next_step": "Reply personally.",
                }
            )
        )
    return gullible_draft(request)


def main() -> None:
    parser = argparse.ArgumentParser(description="scripted OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args()
    llm = ScriptedLLM(gullible_script, latency=args.latency)
    print(llm.start(args.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        llm.stop()


if __name__ == "__main__":
    main()
