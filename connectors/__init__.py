"""Everything that talks to the outside world: mail sources and sinks, the LLM, HTTP tools and
helpdesks. Each module knows a protocol, not a policy; all raise `ConnectorError`."""

from connectors.base import ConnectorError, FetchedMail, MailSink, MailSource, OutboundMail

__all__ = ["ConnectorError", "FetchedMail", "MailSink", "MailSource", "OutboundMail"]
