"""Configuration: one TOML file plus environment overrides, loaded once into a frozen `Settings`.

Decides what a valid configuration is and what every key defaults to. The file is read with
`tomllib`; any key can be overridden from the environment as `HELPDESKD_<SECTION>__<KEY>` (how
secrets such as `HELPDESKD_LLM__API_KEY` get in without touching the file). Relative paths are
resolved against the directory of the config file (the working directory when there is none).
Connectors that need a password name where it lives (`password_env`, `password_credential`)
rather than holding it, so a config file never contains a secret. The mail servers' connection
settings (`ImapSource`, `SmtpSink`) are the connectors' own models (`connectors.accounts`).
`check_settings` adds the cross-references pydantic cannot see (an intent naming an unknown
policy, a missing folder).
The embedded defaults run the demo: SQLite, a Maildir, the offline drafter.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connectors.accounts import ImapSource as ImapSource  # re-exported: part of Settings
from connectors.accounts import OAuth2Settings, Section, ServerAccount
from connectors.accounts import SmtpSink as SmtpSink  # re-exported: part of Settings
from connectors.rfc5322.headertext import is_plain_address
from daemon.errors import ConfigError

ENV_PREFIX = "HELPDESKD_"
DEFAULT_CONFIG_PATHS = (Path("helpdeskd.toml"), Path("/etc/helpdeskd/helpdeskd.toml"))


class StoreSettings(Section):
    url: str = Field(
        "", description="SQLAlchemy URL; empty means sqlite:///<state_dir>/helpdeskd.db"
    )
    echo: bool = Field(False, description="log every SQL statement (debugging only)")


class PipelineSettings(Section):
    max_failures: int = Field(3, ge=1, description="errors of one stage before quarantine")
    max_crashes: int = Field(
        8, ge=1, description="process deaths while on one message before quarantine"
    )
    workers: int = Field(4, ge=1, le=64, description="messages worked on at once")
    lease_seconds: int = Field(600, ge=10, description="how long a claimed message stays claimed")
    poll_seconds: int = Field(60, ge=1, description="how often `run` polls every source")
    parse_processes: int = Field(
        1, ge=0, le=64, description="worker processes parsing a backfill ahead (0: none)"
    )
    stage_seconds: float = Field(
        60.0, gt=0, description="seconds one stage may work on one message, then quarantine"
    )
    model_stage_seconds: float = Field(
        600.0, gt=0, description="the same for the steps that wait on the LLM (route, draft)"
    )


class ParseSettings(Section):
    """How much of a PDF attachment's text parse reads (daemon.mail.pdftext)."""

    pdf_max_pages: int = Field(10, ge=0, le=10_000, description="PDF pages read (0: no PDF text)")
    pdf_max_chars: int = Field(
        8_000, ge=0, le=1_000_000, description="characters of PDF text kept per file"
    )
    pdf_max_bytes: int = Field(
        20 << 20, ge=0, description="larger PDF files are not read (a parse defect says so)"
    )
    pdf_max_seconds: float = Field(
        5.0, gt=0, description="no further page is read once one PDF took this long"
    )


class MaildirSource(Section):
    kind: Literal["maildir"] = "maildir"
    name: str = Field(description="unique source name, shown in status and logs")
    path: Path = Field(description="Maildir folder with new/, cur/ and tmp/")
    alert_after: int = Field(
        0, ge=0, description="seconds a failing Maildir may fetch nothing before an alert"
    )
    max_message_bytes: int = Field(
        25_000_000, ge=1024, description="larger messages are kept as headers only (a stub)"
    )


SourceSettings = Annotated[MaildirSource | ImapSource, Field(discriminator="kind")]


class MaildirSink(Section):
    kind: Literal["maildir"] = "maildir"
    path: Path = Field(Path("outbox"), description="Maildir that receives every outgoing mail")


SinkSettings = Annotated[MaildirSink | SmtpSink, Field(discriminator="kind")]


class MailSettings(Section):
    from_address: str = Field("support@example.com", description="From: of our replies")
    from_name: str = Field("Example Support", description="display name of our replies")
    our_addresses: tuple[str, ...] = Field(
        (), description="other addresses that are us (mail from them is never answered)"
    )
    message_id_domain: str = Field(
        "helpdeskd.invalid",
        pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$",
        description="right-hand side of our Message-IDs",
    )
    message_id_secret_env: str = Field(
        "",
        description="environment variable with the secret that makes our Message-IDs "
        "unguessable (empty: <state_dir>/secret, created on first use)",
    )
    message_id_secret_credential: str = Field(
        "", description="systemd credential ($CREDENTIALS_DIRECTORY/<name>) with that secret"
    )
    ticket_tag: str = Field("#", description="subject tag prefix: [#123]")


SHARED_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "orange.fr",
    "free.fr",
    "libero.it",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
)
"""Big free-mail domains: many unrelated customers write from each (`[screen] shared_domains`)."""


class ScreenSettings(Section):
    replies_per_sender_per_hour: int = Field(5, ge=0, description="answers to one sender an hour")
    replies_per_ticket_per_hour: int = Field(
        3, ge=0, description="answers on one ticket to one sender an hour"
    )
    replies_per_hour: int = Field(
        100, ge=0, description="answers to anyone an hour, all senders together; 0: no cap"
    )
    replies_per_domain_per_hour: int = Field(
        10, ge=0, description="answers to the addresses of one sender domain an hour; 0: no cap"
    )
    shared_domains: tuple[str, ...] = Field(
        SHARED_DOMAINS,
        description="free-mail domains shared by unrelated customers: their own domain cap",
    )
    replies_per_shared_domain_per_hour: int = Field(
        50, ge=0, description="answers to one of the shared_domains an hour; 0: no cap"
    )
    identical_body_senders: int = Field(
        3,
        ge=0,
        description="mail whose text this many different senders sent within "
        "identical_body_minutes is a robot or a campaign: never answered; 0: off",
    )
    identical_body_minutes: int = Field(60, ge=1, description="window of identical_body_senders")
    burst_messages: int = Field(
        10, ge=1, description="inbound messages one sender may send in burst_minutes"
    )
    burst_minutes: int = Field(10, ge=1, description="window of the inbound burst throttle")
    noreply_patterns: tuple[str, ...] = Field(
        (
            r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?)[@+.-]",
            r"^(notifications?|alerts?)@",
        ),
        description="regexes on the sender address; a match is never answered",
    )
    trusted_authserv_ids: tuple[str, ...] = Field(
        (),
        description="authserv-ids of the receiving servers whose Authentication-Results we trust",
    )
    trust_unnamed_topmost_from: tuple[str, ...] = Field(
        (),
        description="hosts (and their subdomains) whose Authentication-Results carry no "
        "authserv-id (Microsoft 365: mail.protection.outlook.com): the topmost such header counts "
        "when the Received header right below it was received by one of them",
    )
    verify: Literal["headers", "dkim"] = Field(
        "headers",
        description="headers: Authentication-Results of trusted servers verify a sender; dkim: "
        "helpdeskd checks DKIM signatures itself (DNS) and an aligned pass verifies",
    )
    dns_servers: tuple[str, ...] = Field(
        (),
        description="resolvers for verify = 'dkim' as host or host:port ([v6]:port); "
        "empty: the system's (/etc/resolv.conf)",
    )
    dns_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long the DKIM/DMARC DNS lookups of one message may take"
    )


class IntentSettings(Section):
    keywords: tuple[str, ...] = Field((), description="words or phrases that suggest the intent")
    patterns: tuple[str, ...] = Field((), description="regexes that suggest the intent")
    tools: tuple[str, ...] = Field((), description="tools this intent may call")
    namespaces: tuple[str, ...] = Field((), description="knowledge namespaces to search")
    policy: str = Field("standard", description="name of a [policies.*] entry")
    risk: str | None = Field(None, description="risk topic: always escalated when set")
    priority: int = Field(0, description="wins ties between intents")


class PolicySettings(Section):
    auto_send: bool = Field(False, description="may a draft be sent without an agent?")
    min_confidence: float = Field(0.8, ge=0, le=1, description="auto-send only above this")
    escalate_below: float = Field(
        0.3, ge=0, le=1, description="a draft the drafter itself is this unsure of escalates"
    )
    always_escalate: bool = Field(False, description="never draft for the customer: escalate")
    require_citations: bool = Field(True, description="auto-send only drafts that cite passages")
    require_verified_sender: bool = Field(True, description="auto-send only to DMARC-verified")


StemLanguage = Literal[
    "ar", "da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv", "tr"
]
"""The languages whoosh ships Snowball stemmers and stop words for."""


class KnowledgeSource(Section):
    path: Path = Field(description="folder of Markdown/HTML/text, or a .jsonl file")
    namespace: str | None = Field(None, description="default: front matter, then folder name")


class KnowledgeSettings(Section):
    index_dir: Path | None = Field(None, description="default: <state_dir>/index")
    sources: tuple[KnowledgeSource, ...] = Field((), description="what `helpdeskd index` reads")
    passages: int = Field(5, ge=1, le=50, description="passages handed to the drafter")
    languages: tuple[StemLanguage, ...] = Field(
        ("en",), min_length=1, description="stemming and stop words for these (ISO 639-1)"
    )
    passage_chars: int = Field(1500, ge=200, le=20000, description="longest passage, in chars")
    title_boost: float = Field(3.0, ge=0, description="weight of a title word (body word: 1)")
    heading_boost: float = Field(2.0, ge=0, description="weight of a section-heading word")
    max_query_terms: int = Field(24, ge=1, le=200, description="rarest query words searched")
    update_seconds: int = Field(300, ge=0, description="incremental re-index interval; 0: off")
    max_segments: int = Field(8, ge=1, le=100, description="index segments before a full merge")
    past_tickets: bool = Field(True, description="index resolved tickets as `past_tickets`")
    embeddings: bool = Field(
        False, description="also rank by the provider's /v1/embeddings, fused with the keywords"
    )
    embedding_model: str = Field("", description="embedding model id (required with embeddings)")
    embedding_provider: Literal["", "triage", "multilingual", "reasoning", "long_context"] = Field(
        "", description="endpoint and key of this [models.<task>]; empty: [llm] base_url and key"
    )
    embedding_batch: int = Field(64, ge=1, le=2048, description="passages per request (indexing)")
    embedding_timeout_seconds: float = Field(
        2.0, gt=0, description="query embedding wait; slower: the keyword ranking alone"
    )


class ReplyTexts(Section):
    """The reply layout in one language; unset keys fall back to [reply]."""

    greeting: str | None = Field(None, description="first line; {name} is the customer")
    greeting_anonymous: str | None = Field(None, description="first line without a name")
    signature: str | None = Field(None, description="closing lines")
    ai_disclosure: str | None = Field(None, description="the AI disclosure line")


def default_reply_languages() -> dict[str, ReplyTexts]:
    t = ReplyTexts
    return {
        "de": t(
            greeting="Hallo {name},",
            greeting_anonymous="Guten Tag,",
            ai_disclosure="Diese Antwort wurde mit Hilfe eines KI-Assistenten erstellt "
            "und von unseren Regeln geprüft.",
        ),
        "fr": t(
            greeting="Bonjour {name},",
            greeting_anonymous="Bonjour,",
            ai_disclosure="Cette réponse a été préparée avec l'aide d'un assistant IA "
            "et vérifiée par nos règles.",
        ),
        "es": t(
            greeting="Hola {name}:",
            greeting_anonymous="Hola:",
            ai_disclosure="Esta respuesta se preparó con la ayuda de un asistente de IA "
            "y fue revisada por nuestras reglas.",
        ),
        "it": t(
            greeting="Ciao {name},",
            greeting_anonymous="Buongiorno,",
            ai_disclosure="Questa risposta è stata preparata con l'aiuto di un assistente "
            "IA e verificata dalle nostre regole.",
        ),
        "nl": t(
            greeting="Hallo {name},",
            greeting_anonymous="Goedendag,",
            ai_disclosure="Dit antwoord is opgesteld met hulp van een AI-assistent en "
            "gecontroleerd door onze regels.",
        ),
        "pl": t(
            greeting="Dzień dobry,",  # a first name would need its vocative: none at all
            greeting_anonymous="Dzień dobry,",
            ai_disclosure="Ta odpowiedź została przygotowana z pomocą asystenta AI "
            "i sprawdzona przez nasze reguły.",
        ),
        "pt": t(
            greeting="Olá {name},",
            greeting_anonymous="Olá,",
            ai_disclosure="Esta resposta foi preparada com a ajuda de um assistente de IA "
            "e verificada pelas nossas regras.",
        ),
    }


class ReplySettings(Section):
    greeting: str = Field("Hello {name},", description="first line; {name} is the customer")
    greeting_anonymous: str = Field("Hello,", description="first line when we have no name")
    signature: str = Field("Example Support", description="closing lines")
    ai_disclosure: str = Field(
        "This reply was prepared with the help of an AI assistant and checked by our rules.",
        description="shown under every reply helpdeskd writes; empty to leave out",
    )
    languages: dict[str, ReplyTexts] = Field(
        default_factory=default_reply_languages,
        description="the layout per ISO 639-1 language of the customer's mail",
    )

    def texts(self, language: str | None) -> ReplyTexts:
        """The layout for `language`, every key filled (falling back to the defaults)."""
        own = self.languages.get((language or "").lower()[:2]) or ReplyTexts()
        return ReplyTexts(
            greeting=own.greeting or self.greeting,
            greeting_anonymous=own.greeting_anonymous or self.greeting_anonymous,
            signature=own.signature or self.signature,
            ai_disclosure=self.ai_disclosure if own.ai_disclosure is None else own.ai_disclosure,
        )


class EscalationSettings(Section):
    agents_address: str = Field("", description="mail escalation summaries here; empty: only store")


class OwnershipSettings(Section):
    enabled: bool = Field(
        True,
        description="an escalated ticket, or one an agent answered personally, stays with the "
        "humans (follow-ups are escalated, never drafted) until an agent hands it back",
    )
    agent_addresses: tuple[str, ...] = Field(
        (),
        description="agents' own addresses (or @domain): their mail on a ticket is a personal "
        "reply that gives the ticket to them (our From and our_addresses always count)",
    )


class MetricsSettings(Section):
    port: int = Field(0, ge=0, le=65535, description="serve Prometheus /metrics here; 0: off")
    address: str = Field("127.0.0.1", description="address /metrics listens on")


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = Field("text", description="json for journald/log shippers")


class SystemdSettings(Section):
    watchdog_job_seconds: int = Field(
        900,
        ge=1,
        description="under a unit with WatchdogSec=: a scheduler job (poll, pipeline, outbox, …) "
        "running this long without progress (for the pipeline: a stage finished) stops the "
        "watchdog pings, and systemd restarts the daemon; keep it above model_stage_seconds",
    )


# --- the model stack (daemon/llm): endpoint, models per task, tools, pricing, budget, PII ----

ModelTask = Literal["triage", "multilingual", "reasoning", "long_context", "vision"]


class LLMSettings(Section):
    base_url: str = Field(
        "", description="OpenAI-compatible endpoint (…/v1); empty: no LLM, offline drafter"
    )
    api_key: SecretStr | None = Field(
        None, description="only from the environment (HELPDESKD_LLM__API_KEY), never the file"
    )
    api_key_env: str = Field("", description="another environment variable holding the key")
    api_key_credential: str = Field("", description="systemd credential holding the key")
    timeout_seconds: float = Field(60.0, gt=0, description="per request (streamed: deadline)")
    connect_timeout_seconds: float = Field(5.0, gt=0, description="TCP/TLS connect timeout")
    stream_idle_seconds: float = Field(15.0, gt=0, description="longest gap between chunks")
    retries: int = Field(2, ge=0, le=10, description="retries after 429, 5xx, timeouts")
    max_retry_wait_seconds: float = Field(
        30.0, ge=0, description="a longer Retry-After is not waited for: fall back at once"
    )
    stream: bool = Field(True, description="stream answers where the model allows it")
    max_concurrent_requests: int = Field(8, ge=1, le=256, description="requests in flight")
    route: bool = Field(True, description="LLM triage in the route stage (rules as fallback)")
    max_tool_rounds: int = Field(4, ge=0, le=16, description="tool-calling rounds per draft")
    max_tool_calls: int = Field(8, ge=0, le=64, description="tool calls per draft")
    max_images: int = Field(3, ge=0, le=16, description="image attachments sent to vision")
    max_image_bytes: int = Field(4_000_000, ge=1, description="larger images are not sent")
    summarize_escalations: bool = Field(True, description="LLM escalation summary")


class ModelSettings(Section):
    model: str = Field(description="model id at the endpoint")
    base_url: str = Field("", description="empty: [llm] base_url")
    api_key_env: str = Field("", description="empty: the [llm] key")
    tools: bool = Field(True, description="the server supports function calling")
    tool_choice: Literal["auto", "required", "none-sent"] = Field(
        "auto",
        description="sent with tools: auto; required (until the first tool result); "
        "none-sent (left out: the server's default)",
    )
    json_mode: Literal["json_schema", "json_object", "prompt"] = Field(
        "json_schema", description="strongest structured-output mode the server supports"
    )
    vision: bool = Field(False, description="accepts image_url content")
    streaming: bool = Field(True, description="supports stream=true")
    stream_usage: bool = Field(True, description="reports usage at the end of a stream")
    context_tokens: int = Field(8192, ge=512, description="context window")
    prompt_tokens: int | None = Field(
        None, ge=256, description="largest prompt for this model; unset: [budget] prompt_tokens"
    )
    max_output_tokens: int = Field(1024, ge=16, description="max_tokens sent with each request")
    tokenizer: str = Field(
        "auto",
        description="quicktok encoding (llama3, qwen3, cl100k_base, o200k_base), "
        "auto (from the model name) or estimate (chars/3)",
    )
    temperature: float = Field(0.2, ge=0, le=2, description="sampling temperature")
    per_request: float | None = Field(None, ge=0, description="price per request")
    input_per_million: float | None = Field(None, ge=0, description="price per 1M input tokens")
    output_per_million: float | None = Field(None, ge=0, description="price per 1M output")


class ToolSettings(Section):
    description: str = Field(description="what the model is told the tool does")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments (identity parameters included)",
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(description="URL template; {name} is an argument, percent-encoded")
    identity: dict[str, Literal["sender_email"]] = Field(
        default_factory=dict,
        description="parameters the daemon fills from the verified sender; hidden from the model",
    )
    owner_field: str = Field(
        "", description="dotted path of the customer email in the result; others are refused"
    )
    auth_header: str = Field("", description="header carrying the credential")
    auth_env: str = Field("", description="environment variable holding the credential")
    auth_prefix: str = Field("", description='put before the credential, e.g. "Bearer "')
    timeout_seconds: float = Field(10.0, gt=0, description="per call")
    max_response_bytes: int = Field(65536, ge=1, description="a larger answer is an error")
    extract: dict[str, str] = Field(
        default_factory=dict,
        description="without a model: regex per parameter (first group) read from the mail, "
        "so the offline drafter can call this read-only tool",
    )


class PricingSettings(Section):
    currency: str = Field("USD", description="label only")
    per_request: float = Field(0.0, ge=0, description="default price per request")
    input_per_million: float = Field(0.0, ge=0, description="default price per 1M input tokens")
    output_per_million: float = Field(0.0, ge=0, description="default price per 1M output")
    per_ticket_cap: float = Field(0.0, ge=0, description="spend cap per ticket; 0: none")
    daily_cap: float = Field(0.0, ge=0, description="spend cap per UTC day; 0: none")


class BudgetSettings(Section):
    prompt_tokens: int = Field(6000, ge=256, description="max prompt size (also ≤ context)")
    customer_tokens: int = Field(2000, ge=64, description="the new message, longer is cut")
    passage_tokens: int = Field(500, ge=32, description="each knowledge passage")
    tool_result_tokens: int = Field(400, ge=32, description="each tool result")
    tool_tokens: int = Field(1600, ge=0, description="all tool results of one draft")
    recent_turns: int = Field(4, ge=0, description="earlier turns kept verbatim")
    summary_tokens: int = Field(400, ge=32, description="the summary of older turns")


def default_pii_patterns() -> dict[str, str]:
    return {
        "card": r"\b(?:\d[ -]?){12,18}\d\b",
        "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
    }


class PiiSettings(Section):
    patterns: dict[str, str] = Field(
        default_factory=default_pii_patterns, description="name → regex, masked as [name]"
    )
    checksums: bool = Field(True, description="card must pass Luhn, iban mod-97")
    mask_logs: bool = Field(True, description="mask the patterns in log lines too")


GuardCheck = Literal["links", "addresses", "phones", "identifiers", "cards", "injection"]


def default_identifier_patterns() -> tuple[str, ...]:
    return (
        r"(?<![\w.,-])\d{5,}(?![\w-]|[.,]\d)",
        r"\b(?=[\w-]*\d[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{6,}[A-Za-z0-9]\b",
    )


class GuardSettings(Section):
    """The output guard (daemon/stages/guard.py): what a model's reply may contain."""

    enabled: bool = Field(True, description="check every draft before decide; off: no checks")
    hold_on: tuple[GuardCheck, ...] = Field(
        ("links", "addresses", "phones", "identifiers", "cards", "injection"),
        description="findings that hold a draft for an agent: links, addresses, phones, "
        "identifiers, cards, injection",
    )
    allowed_link_domains: tuple[str, ...] = Field(
        (),
        description="link domains (and their subdomains) a reply may name, besides ours "
        "(the domains of mail.from_address, mail.our_addresses, mail.message_id_domain)",
    )
    knowledge_link_domains: bool = Field(
        True, description="domains linked in retrieved knowledge passages are allowed too"
    )
    allowed_addresses: tuple[str, ...] = Field(
        (), description="email addresses any reply may name (ours are always allowed)"
    )
    allowed_numbers: tuple[str, ...] = Field(
        (), description="phone numbers and identifiers any reply may name (our hotline)"
    )
    identifier_patterns: tuple[str, ...] = Field(
        default_factory=default_identifier_patterns,
        description="regexes of order and tracking ids (default: 5+ digit runs, and codes of "
        "8+ letters and digits with at least two digits)",
    )
    thread_messages: int = Field(
        20, ge=0, le=1000, description="earlier mails of the ticket scanned for injection"
    )

    @field_validator("identifier_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regex: {exc}") from None
        return patterns


def default_sources() -> tuple[MaildirSource, ...]:
    return (MaildirSource(name="inbox", path=Path("mail/inbox")),)


def default_intents() -> dict[str, IntentSettings]:
    """The intent table the demo runs on; a config file replaces it as a whole."""
    i = IntentSettings
    return {
        "human_request": i(
            keywords=(
                "speak to a human",
                "real person",
                "talk to someone",
                "human agent",
                "mit einem menschen",
                "una persona",
                "un humain",
                "speak to a person",
            ),
            policy="escalate",
            priority=100,
        ),
        "data_privacy": i(
            keywords=(
                "gdpr",
                "delete my data",
                "personal data",
                "data protection",
                "dsgvo",
                "privacy",
                "erase my account",
                "subject access",
            ),
            namespaces=("policies",),
            policy="escalate",
            risk="data_privacy",
            priority=90,
        ),
        "legal": i(
            keywords=(
                "lawyer",
                "attorney",
                "legal action",
                "sue you",
                "suing",
                "chargeback",
                "court",
                "small claims",
            ),
            policy="escalate",
            risk="legal",
            priority=95,
        ),
        "refund": i(
            keywords=(
                "refund",
                "money back",
                "return",
                "reimburse",
                "rückerstattung",
                "reembolso",
                "remboursement",
            ),
            tools=("check_refund_eligibility",),
            namespaces=("policies", "faq"),
            policy="standard",
            priority=20,
        ),
        "order_status": i(
            keywords=(
                "order",
                "shipping",
                "delivery",
                "tracking",
                "package",
                "parcel",
                "bestellung",
                "pedido",
                "commande",
                "ordine",
                "zamówienie",
            ),
            patterns=(r"\b(order|ord)[\s#:-]*\d{4,}\b",),
            tools=("get_order_status",),
            namespaces=("shipping", "faq"),
            policy="standard",
            priority=10,
        ),
        "technical": i(
            keywords=(
                "error",
                "crash",
                "bug",
                "not working",
                "doesn't work",
                "install",
                "update",
                "fehler",
                "login fails",
            ),
            namespaces=("manuals", "faq"),
            policy="standard",
            priority=10,
        ),
        "account": i(
            keywords=(
                "password",
                "account",
                "sign in",
                "log in",
                "login",
                "email address",
                "two-factor",
                "2fa",
                "username",
            ),
            namespaces=("account", "faq"),
            policy="standard",
            priority=10,
        ),
        "general": i(namespaces=("faq",), policy="standard", priority=-100),
    }


def default_policies() -> dict[str, PolicySettings]:
    return {
        "standard": PolicySettings(),
        "escalate": PolicySettings(always_escalate=True),
    }


# --- helpdesks (connectors/helpdesk, daemon/helpdesk_sync):
# [[helpdesks]] with kind rt|zendesk|freshdesk


class HelpdeskCommon(Section):
    name: str = Field(description="unique helpdesk name, shown in status and logs")
    url: str = Field(description="base URL: RT's web root, https://<sub>.zendesk.com, …")
    mode: Literal["source", "mirror"] = Field(
        "source",
        description="source: its email channel makes tickets, we poll its API (no IMAP); "
        "mirror: we read the mailbox and create/update tickets in it",
    )
    poll_seconds: int = Field(60, ge=1, description="how often the helpdesk is polled")
    lookback_hours: int = Field(24, ge=0, description="first poll: tickets changed this recently")
    requests_per_minute: int = Field(0, ge=0, description="space API calls; 0: no spacing")
    max_wait_seconds: int = Field(120, ge=0, description="longest Retry-After waited in a poll")
    timeout_seconds: float = Field(30.0, gt=0, description="per API request")
    page_size: int = Field(100, ge=1, le=1000, description="tickets per listing page")
    support_address: str = Field("", description="To: of synthesised mail; empty: support@host")
    command_prefix: str = Field("#", description="agent commands in notes: #approve #edit #reject")


class RtHelpdesk(HelpdeskCommon):
    kind: Literal["rt"] = "rt"
    queue: str = Field("General", description="queue polled and where new tickets go")
    token_env: str = Field("", description="env var with an RT auth token (preferred)")
    username_env: str = Field("", description="env var with the user for HTTP Basic")
    password_env: str = Field("", description="env var with the password for HTTP Basic")
    approval_field: str = Field("AI Draft", description="ticket custom field agents set")
    approved_value: str = Field("approved", description="its value that approves the draft")
    rejected_value: str = Field("rejected", description="its value that rejects the draft")
    escalation_queue: str = Field("", description="queue escalated tickets move to; empty: stay")
    escalation_field: str = Field("", description="custom field set on escalation; empty: none")
    escalation_value: str = Field("human", description="value written to escalation_field")
    escalation_priority: int | None = Field(None, description="priority on escalation; unset: keep")


class ZendeskHelpdesk(HelpdeskCommon):
    kind: Literal["zendesk"] = "zendesk"
    email_env: str = Field("", description="env var with the agent email for API-token auth")
    token_env: str = Field("", description="env var with the API token")
    oauth_token_env: str = Field("", description="env var with an OAuth token (instead)")
    group_id: int | None = Field(None, description="only tickets of this group; unset: all")
    export_requests_per_minute: int = Field(10, ge=1, description="incremental export limit")
    approve_tag: str = Field("ai_draft_approved", description="tag (or macro) that approves")
    reject_tag: str = Field("ai_draft_rejected", description="tag (or macro) that rejects")
    escalation_group_id: int | None = Field(None, description="group on escalation; unset: keep")
    escalation_priority: Literal["low", "normal", "high", "urgent"] | None = Field(
        "high", description="priority on escalation; unset: keep"
    )
    escalation_tag: str = Field("ai_escalated", description="tag added on escalation")


class FreshdeskHelpdesk(HelpdeskCommon):
    kind: Literal["freshdesk"] = "freshdesk"
    api_key_env: str = Field("", description="env var with the API key (Basic auth, password X)")
    group_id: int | None = Field(None, description="only tickets of this group; unset: all")
    approve_tag: str = Field("ai_draft_approved", description="tag that approves the draft")
    reject_tag: str = Field("ai_draft_rejected", description="tag that rejects the draft")
    escalation_group_id: int | None = Field(None, description="group on escalation; unset: keep")
    escalation_priority: int | None = Field(
        3, ge=1, le=4, description="1 low … 4 urgent on escalation; unset: keep"
    )
    escalation_tag: str = Field("ai_escalated", description="tag added on escalation")


HelpdeskSettings = Annotated[
    RtHelpdesk | ZendeskHelpdesk | FreshdeskHelpdesk, Field(discriminator="kind")
]


class Settings(BaseSettings):
    """Everything helpdeskd reads at start; frozen, passed down, never global."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__"
    )

    state_dir: Path = Field(Path("state"), description="database, index and locks live here")
    store: StoreSettings = StoreSettings()
    pipeline: PipelineSettings = PipelineSettings()
    parse: ParseSettings = ParseSettings()
    sources: tuple[SourceSettings, ...] = Field(default_factory=default_sources)
    outbox: SinkSettings = MaildirSink()
    mail: MailSettings = MailSettings()
    screen: ScreenSettings = ScreenSettings()
    intents: dict[str, IntentSettings] = Field(default_factory=default_intents)
    fallback_intent: str = Field("general", description="intent when no rule matches")
    policies: dict[str, PolicySettings] = Field(default_factory=default_policies)
    knowledge: KnowledgeSettings = KnowledgeSettings()
    reply: ReplySettings = ReplySettings()
    escalation: EscalationSettings = EscalationSettings()
    ownership: OwnershipSettings = OwnershipSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    systemd: SystemdSettings = SystemdSettings()
    helpdesks: tuple[HelpdeskSettings, ...] = Field((), description="[[helpdesks]] to work in")
    llm: LLMSettings = LLMSettings()
    models: dict[ModelTask, ModelSettings] = Field(default_factory=dict)
    tools: dict[str, ToolSettings] = Field(default_factory=dict)
    pricing: PricingSettings = PricingSettings()
    budget: BudgetSettings = BudgetSettings()
    pii: PiiSettings = PiiSettings()
    guard: GuardSettings = GuardSettings()
    templates_dir: Path | None = Field(None, description="override the shipped templates/")
    config_path: Path | None = Field(None, description="(set by the loader) the file read")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file: that is how secrets and per-host tweaks get in.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        return self.store.url or f"sqlite:///{self.state_dir / 'helpdeskd.db'}"

    @property
    def index_dir(self) -> Path:
        return self.knowledge.index_dir or self.state_dir / "index"


def find_config(path: Path | None) -> Path | None:
    """The file to read: the one given, $HELPDESKD_CONFIG, or the first default that exists."""
    if path is not None:
        return path
    if env := os.environ.get("HELPDESKD_CONFIG"):
        return Path(env)
    return next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)


def load_settings(path: Path | None = None, *, resolve: bool = True) -> Settings:
    """Read, validate and freeze the configuration, raising ConfigError with every problem."""
    path = find_config(path)
    data: dict[str, Any] = {}
    if path is not None:
        data = read_toml(path)
    if "api_key" in data.get("llm", {}):
        raise ConfigError(
            [("llm.api_key", "never in the file: set HELPDESKD_LLM__API_KEY or api_key_env")]
        )
    try:
        settings = Settings(**data, config_path=path)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None
    if resolve:
        settings = resolve_paths(settings, path.parent if path else Path.cwd())
    problems = check_settings(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            [
                (
                    str(path),
                    "the config file does not exist: create it from "
                    "examples/helpdeskd.toml or pass --config",
                )
            ]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([(str(path), f"not valid TOML ({exc}): fix the syntax")]) from None


def describe_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Turn pydantic's errors into (dotted key, what to do) pairs."""
    problems = []
    for err in exc.errors():
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
        key = key.replace(".[", "[")
        if err["type"] == "extra_forbidden":
            advice = "unknown key: remove it or check its spelling against examples/helpdeskd.toml"
        elif err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            expected = (err.get("ctx") or {}).get("expected_tags")
            advice = "set `kind` to the connector type" + (
                f" (one of {expected})" if expected else " (see examples/helpdeskd.toml)"
            )
        elif err["type"] == "missing":
            advice = "required: set it (see examples/helpdeskd.toml)"
        else:
            advice = f"{err['msg']} (got {err.get('input')!r})"
        problems.append((key, advice))
    return problems


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """Make every relative path absolute against `base` (the config file's folder)."""

    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    state_dir = absolute(Path(os.environ.get("STATE_DIRECTORY", settings.state_dir)))
    updates: dict[str, Any] = {
        "state_dir": state_dir,
        "sources": tuple(
            with_token_file(absolute_fields(s, absolute), s.name, state_dir, absolute)
            for s in settings.sources
        ),
        "outbox": with_token_file(
            absolute_fields(settings.outbox, absolute), "outbox", state_dir, absolute
        ),
        "knowledge": settings.knowledge.model_copy(
            update={
                "index_dir": absolute(settings.knowledge.index_dir)
                if settings.knowledge.index_dir
                else None,
                "sources": tuple(
                    k.model_copy(update={"path": absolute(k.path)})
                    for k in settings.knowledge.sources
                ),
            }
        ),
        "templates_dir": absolute(settings.templates_dir) if settings.templates_dir else None,
    }
    return settings.model_copy(update=updates)


def with_token_file(section: Any, name: str, state_dir: Path, absolute: Any) -> Any:
    """An XOAUTH2 account's `oauth.token_file`, absolute, default <state_dir>/oauth/<name>.json."""
    oauth = getattr(section, "oauth", None)
    if not isinstance(oauth, OAuth2Settings):
        return section
    path = absolute(oauth.token_file) if oauth.token_file else state_dir / "oauth" / f"{name}.json"
    return section.model_copy(update={"oauth": oauth.model_copy(update={"token_file": path})})


def absolute_fields(section: Section, absolute: Any) -> Any:
    """`section` with its `path` and `ca_file` made absolute (the fields it has)."""
    update = {
        key: absolute(value)
        for key in ("path", "ca_file")
        if isinstance(value := getattr(section, key, None), Path)
    }
    return section.model_copy(update=update)


def check_mail_servers(settings: Settings) -> list[tuple[str, str]]:
    """IMAP/SMTP settings that only make sense together (plain text, post-action, Sent)."""
    problems: list[tuple[str, str]] = []
    accounts: list[tuple[str, ServerAccount]] = [
        (f"sources[{i}]", s) for i, s in enumerate(settings.sources) if isinstance(s, ImapSource)
    ]
    if isinstance(settings.outbox, SmtpSink):
        accounts.append(("outbox", settings.outbox))
    for key, acc in accounts:
        if acc.tls == "plain" and not acc.allow_plain:
            problems.append((f"{key}.tls", "plain text needs allow_plain = true (loopback only)"))
        if acc.ca_file is not None and not acc.ca_file.is_file():
            problems.append((f"{key}.ca_file", f"{acc.ca_file} does not exist"))
        if isinstance(acc, ImapSource) and acc.post_action != "none" and not acc.post_action_value:
            problems.append((f"{key}.post_action_value", f"required for {acc.post_action}"))
    out = settings.outbox
    if isinstance(out, SmtpSink) and out.sent_folder:
        imap = [s.name for s in settings.sources if isinstance(s, ImapSource)]
        if not imap or (out.sent_source and out.sent_source not in imap):
            problems.append(("outbox.sent_source", f"name an IMAP source (have {imap})"))
    return problems


def check_llm(settings: Settings) -> list[tuple[str, str]]:
    """The model stack: every model reachable, every route's tools declared."""
    problems: list[tuple[str, str]] = []
    if settings.llm.base_url and not settings.models:
        problems.append(("models", "[llm] base_url is set but no [models.<task>]: add triage"))
    for task, model in settings.models.items():
        if not (model.base_url or settings.llm.base_url):
            problems.append((f"models.{task}.base_url", "set it or [llm] base_url"))
    problems += check_embeddings(settings)
    if "vision" in settings.models and not settings.models["vision"].vision:
        problems.append(("models.vision.vision", "the vision model must have vision = true"))
    for name, tool in settings.tools.items():
        if tool.auth_header and not tool.auth_env:
            problems.append((f"tools.{name}.auth_env", "name the variable holding the secret"))
        for param in tool.identity:
            if param not in tool.parameters.get("properties", {}):
                problems.append((f"tools.{name}.identity", f"{param!r} is not a parameter"))
    return problems


def check_embeddings(settings: Settings) -> list[tuple[str, str]]:
    """[knowledge] embeddings needs a model and an endpoint to ask."""
    knowledge, problems = settings.knowledge, []
    if not knowledge.embeddings:
        return []
    if not knowledge.embedding_model:
        problems.append(("knowledge.embedding_model", "required when embeddings = true"))
    provider = knowledge.embedding_provider
    if provider and provider not in settings.models:
        problems.append(("knowledge.embedding_provider", f"no [models.{provider}]"))
    elif not ((provider and settings.models[provider].base_url) or settings.llm.base_url):
        problems.append(("knowledge.embeddings", "needs [llm] base_url (or a provider's)"))
    return problems


def check_settings(settings: Settings) -> list[tuple[str, str]]:
    """Cross-references and facts about the machine that a schema cannot check."""
    problems: list[tuple[str, str]] = []
    names = [s.name for s in settings.sources]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(("sources", f"two sources are named {dup!r}: give each a unique name"))
    problems += check_mail_servers(settings)
    problems += check_llm(settings)
    problems += check_helpdesks(settings)
    problems += check_our_addresses(settings)
    for name, intent in settings.intents.items():
        if intent.policy not in settings.policies:
            problems.append(
                (
                    f"intents.{name}.policy",
                    f"no [policies.{intent.policy}]: add it or use one of "
                    f"{sorted(settings.policies)}",
                )
            )
    if settings.fallback_intent not in settings.intents:
        problems.append(("fallback_intent", f"{settings.fallback_intent!r} is not in [intents]"))
    for i, ks in enumerate(settings.knowledge.sources):
        if not ks.path.exists():
            problems.append((f"knowledge.sources[{i}].path", f"{ks.path} does not exist"))
    return problems


def check_our_addresses(settings: Settings) -> list[tuple[str, str]]:
    """The addresses we write into headers: plain ASCII addr-specs (compose refuses others)."""
    problems = []
    if not is_plain_address(settings.mail.from_address):
        problems.append(("mail.from_address", "write a plain address: name@example.com"))
    agents = settings.escalation.agents_address
    if agents and not is_plain_address(parseaddr(agents)[1]):
        problems.append(("escalation.agents_address", "write an address: agents@example.com"))
    return problems


def check_helpdesks(settings: Settings) -> list[tuple[str, str]]:
    """Unique names, and at most one mirror (each mailbox mail is mirrored to one helpdesk)."""
    problems: list[tuple[str, str]] = []
    names = [h.name for h in settings.helpdesks]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(("helpdesks", f"two helpdesks are named {dup!r}: give each its own"))
    mirrors = [h.name for h in settings.helpdesks if h.mode == "mirror"]
    if len(mirrors) > 1:
        problems.append(("helpdesks", f"{mirrors} are all mode = 'mirror': keep one"))
    return problems


def config_warnings(settings: Settings) -> list[str]:
    """What is valid but probably not what the operator wants (printed by check-config)."""
    warnings = []
    screen = settings.screen
    if screen.verify == "headers" and not (
        screen.trusted_authserv_ids or screen.trust_unnamed_topmost_from
    ):
        relying = [
            n for n, p in settings.policies.items() if p.auto_send and p.require_verified_sender
        ]
        if relying:
            warnings.append(
                "screen.trusted_authserv_ids is empty, so no sender is ever verified and "
                f"policies {relying} never auto-send: name your receiving server's authserv-id"
            )
    if not settings.knowledge.sources:
        warnings.append(
            "knowledge.sources is empty: drafts will cite nothing until you index "
            "articles (helpdeskd index PATH...)"
        )
    return warnings


def redacted(value: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to print: secrets replaced by '***'."""
    out: dict[str, Any] = {}
    for key, val in value.items():
        if isinstance(val, Mapping):
            out[key] = redacted(val)
        elif any(s in key for s in ("password", "secret", "token", "api_key")) and val:
            out[key] = "***"
        else:
            out[key] = val
    return out
