"""What the hosted helpdesks (Zendesk, Freshdesk) share: their identity, their API client,
and turning a conversation entry into an RFC 5322 message (neither keeps the original email,
so the message is synthesised from the API's fields and attachments)."""

from __future__ import annotations

import re
from typing import Any

from connectors.helpdesk.http import ApiClient
from connectors.helpdesk.mime import synthesise
from connectors.helpdesk.records import Entry, RemoteTicket


class HostedHelpdesk:
    def __init__(self, settings: Any, client: ApiClient) -> None:
        self.name: str = settings.name
        self.cfg = settings
        self.api = client
        self.host = re.sub(r"^https?://", "", settings.url).split("/")[0]

    def close(self) -> None:
        self.api.close()

    def entry_bytes(self, ticket: RemoteTicket, entry: Entry) -> bytes:
        files = [(a.filename, a.content_type, self.api.download(a.url)) for a in entry.attachments]
        return synthesise(
            helpdesk=self.name,
            host=self.host,
            ticket=ticket,
            entry=entry,
            to=self.cfg.support_address or f"support@{self.host}",
            files=files,
        )
