"""The JSON codec of the store's JSON columns: orjson for speed, the stdlib for what it refuses.

A parse result is written once and read at every later step, so the codec is on every hot path;
`open_engine` hands both functions to SQLAlchemy as the engine's serializer and deserializer.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dump_json(value: Any) -> str:
    """JSON columns with orjson: a parse result is ~60 KB of JSON for a long mail, written
    once and read at every later step, and orjson does that several times faster than the
    stdlib (and keeps non-ASCII text as UTF-8, not as 6-byte escapes). What it refuses (a
    lone surrogate from a broken charset, an integer over 64 bits) goes through the stdlib."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value)


def load_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
