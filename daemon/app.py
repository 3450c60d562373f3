"""The long-lived services of one helpdeskd process, built once from `Settings`.

Decides which implementation serves each role: which router, retriever and drafter run, which
connector each configured source and sink is (a plain dict from `kind` to constructor). Stages
receive the roles (`roles`, a frozen `daemon.kernel.stage.Roles`) through their `Context`;
nothing else builds them, so a test can swap any one. The composition root: only the CLI, the
cycle and the scheduler import it; everything below types what it needs as a Protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy import Engine

from connectors.base import MailSink, MailSource
from connectors.helpdesk import HELPDESK_KINDS, Helpdesk
from connectors.imap import ImapMailbox
from connectors.maildir import MaildirOutbox, MaildirSource
from connectors.smtp import open_outbox
from daemon.config import ImapSource, Settings, SmtpSink
from daemon.kernel.stage import Drafter, Retriever, Roles, Router
from daemon.knowledge.retriever import open_retriever
from daemon.llm.pii import PiiMasker, set_log_masker
from daemon.offline.drafter import OfflineDrafter
from daemon.offline.router import RuleRouter
from daemon.private import private_dir
from daemon.secret import message_id_secret
from daemon.store.engine import open_engine

if TYPE_CHECKING:
    from daemon.llm.services import ModelServices
    from daemon.tools import ToolRegistry

SHIPPED_TEMPLATES = (
    Path(__file__).parent / "_templates",  # inside an installed wheel
    Path(__file__).parent.parent / "templates",  # in a checkout
)

SOURCE_KINDS: dict[str, Callable[[Any], MailSource]] = {
    "maildir": lambda cfg: MaildirSource(cfg.name, cfg.path, cfg.max_message_bytes),
    "imap": ImapMailbox,
}
SINK_KINDS: dict[str, Callable[[Any, Settings], MailSink]] = {
    "maildir": lambda cfg, _settings: MaildirOutbox("outbox", cfg.path),
    "smtp": lambda cfg, settings: open_outbox(cfg, sent_account(settings, cfg)),
}


def sent_account(settings: Settings, cfg: SmtpSink) -> ImapSource | None:
    """The IMAP account that holds the SMTP sink's `sent_folder`: the source named by
    `sent_source`, else the first IMAP source (check-config makes sure there is one); None
    without a `sent_folder`."""
    if not cfg.sent_folder:
        return None
    return next(
        s
        for s in settings.sources
        if isinstance(s, ImapSource) and s.name == (cfg.sent_source or s.name)
    )


@dataclass
class Services:
    settings: Settings
    engine: Engine
    templates: jinja2.Environment
    router: Router
    retriever: Retriever
    drafter: Drafter
    llm: ModelServices | None = None
    tools: ToolRegistry | None = None
    """The tools of the offline drafter (the model stack keeps its own in `llm`)."""
    _sink: MailSink | None = field(default=None, repr=False)
    _helpdesks: dict[str, Helpdesk] = field(default_factory=dict, repr=False)
    _helpdesks_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def roles(self) -> Roles:
        """What a stage may call, as it stands now (tests swap `router`, `retriever`,
        `drafter` on a built `Services`)."""
        return Roles(
            router=self.router,
            retriever=self.retriever,
            drafter=self.drafter,
            templates=self.templates,
            models=self.llm,
        )

    @property
    def sink(self) -> MailSink:
        if self._sink is None:
            cfg = self.settings.outbox
            self._sink = SINK_KINDS[cfg.kind](cfg, self.settings)
            if self.settings.helpdesks:  # replies on helpdesk tickets go through its API
                from daemon.helpdesk_sync.sink import HelpdeskReplySink

                channels = frozenset(h.name for h in self.settings.helpdesks if h.mode == "source")
                self._sink = HelpdeskReplySink(self._sink, self.engine, self.helpdesk, channels)
        return self._sink

    def helpdesk(self, name: str) -> Helpdesk:
        """The connector of `[[helpdesks]]` entry `name`, built once (raises HelpdeskError when
        it cannot be built, e.g. its secret is missing from the environment)."""
        with self._helpdesks_lock:  # the helpdesk job and the outbox job may ask at once
            if name not in self._helpdesks:
                cfg = next(h for h in self.settings.helpdesks if h.name == name)
                self._helpdesks[name] = HELPDESK_KINDS[cfg.kind](cfg)
            return self._helpdesks[name]

    def sources(self) -> list[MailSource]:
        return [SOURCE_KINDS[cfg.kind](cfg) for cfg in self.settings.sources]

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
        for helpdesk in self._helpdesks.values():
            helpdesk.close()
        self.retriever.close()
        if self.llm is not None:
            self.llm.close()
        if self.tools is not None:
            self.tools.close()
        self.engine.dispose()


def template_env(settings: Settings) -> jinja2.Environment:
    """Jinja2 over the operator's templates_dir (if any) then the shipped ones."""
    dirs = [d for d in (settings.templates_dir, *SHIPPED_TEMPLATES) if d and d.is_dir()]
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=jinja2.select_autoescape(["html", "htm"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    private_dir(settings.state_dir)  # raw mail lives here: 0700 whatever the umask
    engine = open_engine(
        settings.database_url,
        echo=settings.store.echo,
        migrate=migrate,
        pool_size=2 * settings.pipeline.workers + 2,  # a step's session + a usage row each
    )
    message_id_secret(settings)  # read or created now: a missing secret fails the start
    templates = template_env(settings)
    set_log_masker(PiiMasker.from_settings(settings.pii) if settings.pii.mask_logs else None)
    llm = None
    if settings.models:  # the model stack (imports the openai SDK only when configured)
        from daemon.llm.services import build_model_services

        llm = build_model_services(settings, engine, templates)
    tools = None
    if llm is None and settings.tools:  # without a model, read-only tools feed offline drafts
        from daemon.tools import ToolRegistry

        tools = ToolRegistry.from_settings(settings)
    return Services(
        settings=settings,
        engine=engine,
        templates=templates,
        router=llm.router if llm else RuleRouter(settings),
        retriever=open_retriever(settings),
        drafter=llm.drafter if llm else OfflineDrafter(templates, settings, tools=tools),
        llm=llm,
        tools=tools,
    )
