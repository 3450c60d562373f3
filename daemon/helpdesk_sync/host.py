"""What the helpdesk sync needs of the running process: the `HelpdeskHost` Protocol.

Decides the narrow view that `daemon.helpdesk_sync.{poll,push,runner}` take of the process they run
in — the settings, the database engine, the templates the notes are rendered from, the roles a
stage may call (an agent's decision taken on a helpdesk goes through `daemon.approvals`, which runs
the deliver stage) and the connector of a `[[helpdesks]]` entry by name — so that they depend on
this Protocol rather than on the composition root (`daemon.app.Services` satisfies it).
"""

from __future__ import annotations

from typing import Protocol

import jinja2

from connectors.helpdesk import Helpdesk
from daemon.kernel.stage import Runtime


class HelpdeskHost(Runtime, Protocol):
    """A `Runtime` that also renders templates and builds helpdesk connectors."""

    @property
    def templates(self) -> jinja2.Environment: ...

    def helpdesk(self, name: str) -> Helpdesk:
        """The connector of `[[helpdesks]]` entry `name` (raises HelpdeskError when it cannot
        be built)."""
        ...
