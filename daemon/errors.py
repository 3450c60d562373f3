"""The exceptions of helpdeskd, named for what the operator must do.

    HelpdeskdError
     ├── ConfigError        the configuration is wrong: fix it and restart (raised at start)
     └── ConnectorError     a server or API failed; `permanent` says whether retrying can help
                            (defined in `connectors.base`, re-exported here)

Everything else a message can do wrong — broken MIME, an auto-reply, a model that returns
garbage — is an outcome recorded on the message, never an exception out of a stage.
"""

from __future__ import annotations

from connectors.base import ConnectorError


class HelpdeskdError(Exception):
    """Base of the errors the daemon raises on purpose."""


class ConfigError(HelpdeskdError):
    """The configuration cannot be used. `problems` lists (key, what to do)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {advice}" for key, advice in problems))


__all__ = ["ConfigError", "ConnectorError", "HelpdeskdError"]
