"""Configuration: one TOML file plus environment overrides, loaded once into a frozen `Settings`.

Decides what a valid configuration is and what every key defaults to. The file is read with
`tomllib`; any key can be overridden from the environment as `HELPDESKD_<SECTION>__<KEY>` (how
secrets such as `HELPDESKD_LLM__API_KEY` get in without touching the file). Relative paths are
resolved against the directory of the config file (the working directory when there is none).
Connectors that need a password name where it lives (`password_env`, `password_credential`)
rather than holding it, so a config file never contains a secret. `check_settings` adds the
cross-references pydantic cannot see (an intent naming an unknown policy, a missing folder).
The embedded defaults run the demo: SQLite, a Maildir, the offline drafter.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from daemon.errors import ConfigError

ENV_PREFIX = "HELPDESKD_"
DEFAULT_CONFIG_PATHS = (Path("helpdeskd.toml"), Path("/etc/helpdeskd/helpdeskd.toml"))


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class MaildirSource(Section):
    kind: Literal["maildir"] = "maildir"
    name: str = Field(description="unique source name, shown in status and logs")
    path: Path = Field(description="Maildir folder with new/, cur/ and tmp/")


SourceSettings = Annotated[MaildirSource, Field(discriminator="kind")]


class MaildirSink(Section):
    kind: Literal["maildir"] = "maildir"
    path: Path = Field(Path("outbox"), description="Maildir that receives every outgoing mail")


SinkSettings = Annotated[MaildirSink, Field(discriminator="kind")]


class MailSettings(Section):
    from_address: str = Field("support@example.com", description="From: of our replies")
    from_name: str = Field("Example Support", description="display name of our replies")
    our_addresses: tuple[str, ...] = Field(
        (), description="other addresses that are us (mail from them is never answered)"
    )
    message_id_domain: str = Field(
        "helpdeskd.invalid", description="right-hand side of our Message-IDs"
    )
    ticket_tag: str = Field("#", description="subject tag prefix: [#123]")


class ScreenSettings(Section):
    replies_per_sender_per_hour: int = Field(5, ge=0, description="answers to one sender an hour")
    replies_per_ticket_per_hour: int = Field(3, ge=0, description="answers on one ticket an hour")
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
    always_escalate: bool = Field(False, description="never draft for the customer: escalate")
    require_citations: bool = Field(True, description="auto-send only drafts that cite passages")
    require_verified_sender: bool = Field(True, description="auto-send only to DMARC-verified")


class KnowledgeSource(Section):
    path: Path = Field(description="folder of Markdown/HTML/text, or a .jsonl file")
    namespace: str | None = Field(None, description="default: front matter, then folder name")


class KnowledgeSettings(Section):
    index_dir: Path | None = Field(None, description="default: <state_dir>/index")
    sources: tuple[KnowledgeSource, ...] = Field((), description="what `helpdeskd index` reads")
    passages: int = Field(5, ge=1, le=50, description="passages handed to the drafter")


class ReplySettings(Section):
    greeting: str = Field("Hello {name},", description="first line; {name} is the customer")
    signature: str = Field("Example Support", description="closing lines")
    ai_disclosure: str = Field(
        "This reply was prepared with the help of an AI assistant and checked by our rules.",
        description="shown under every reply helpdeskd writes; empty to leave out",
    )


class EscalationSettings(Section):
    agents_address: str = Field("", description="mail escalation summaries here; empty: only store")


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = Field("text", description="json for journald/log shippers")


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
            keywords=("lawyer", "attorney", "legal action", "sue ", "chargeback", "court"),
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


class Settings(BaseSettings):
    """Everything helpdeskd reads at start; frozen, passed down, never global."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__"
    )

    state_dir: Path = Field(Path("state"), description="database, index and locks live here")
    store: StoreSettings = StoreSettings()
    pipeline: PipelineSettings = PipelineSettings()
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
    logging: LoggingSettings = LoggingSettings()
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

    updates: dict[str, Any] = {
        "state_dir": absolute(Path(os.environ.get("STATE_DIRECTORY", settings.state_dir))),
        "sources": tuple(s.model_copy(update={"path": absolute(s.path)}) for s in settings.sources),
        "outbox": settings.outbox.model_copy(update={"path": absolute(settings.outbox.path)}),
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


def check_settings(settings: Settings) -> list[tuple[str, str]]:
    """Cross-references and facts about the machine that a schema cannot check."""
    problems: list[tuple[str, str]] = []
    names = [s.name for s in settings.sources]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(("sources", f"two sources are named {dup!r}: give each a unique name"))
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
