"""The LLM router: a triage call in JSON mode, checked against the intent table.

Decides the route from the triage model's `{intent, language, risk, wants_human, confidence}`,
validated against the intents and risk topics of the config. The intent table, not the model,
then attaches tools, namespaces and policy. The model can add escalation signals but never
remove the rule router's: when the rules see a risk topic or a request for a human (cheap,
and immune to prompt injection), that stands. Any failure — no triage model, cap reached,
timeout, an answer that ignores the schema — falls back to the rule router, with the reason
logged.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import jinja2

from connectors.llm import ChatRequest, ChatResponse
from daemon.config import ModelTask, Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.llm.prompts import mail_blocks, parse_json_answer, system_prompt, triage_schema
from daemon.llm.stack import CallMeta, LLMStack
from daemon.offline.router import RuleRouter
from daemon.records import ParsedMail, Route

log = logging.getLogger("helpdeskd.route")

TRIAGE_MAX_TOKENS = 200
MAIL_TOKENS = 1500


class LLMRouter:
    name = "llm"

    def __init__(self, settings: Settings, stack: LLMStack, templates: jinja2.Environment) -> None:
        self.settings = settings
        self.stack = stack
        self.templates = templates
        self.rules = RuleRouter(settings)
        self.risks = sorted({i.risk for i in settings.intents.values() if i.risk})
        self.schema = triage_schema(list(settings.intents), self.risks)

    def route(self, item: Item, ctx: Context) -> Route:
        mail = item.mail
        ruled = self.rules.route_mail(mail)
        task = self.stack.task_for("route")
        if task is None or not self.settings.llm.route:
            return ruled
        meta = CallMeta("route", message_pk=item.pk, ticket_id=item.ticket_id, session=ctx.session)
        answer = self.stack.call(task, self.request(task, mail), meta)
        if not isinstance(answer, ChatResponse):
            log.info(
                "message %s: triage failed, rules route it: %s", meta.message_pk, answer.reason
            )
            return replace(ruled, router=f"rules (triage failed: {answer.kind})")
        data, problem = parse_json_answer(answer.content, self.schema)
        if data is None:
            log.info(
                "message %s: triage answer unusable, rules route it: %s", meta.message_pk, problem
            )
            return replace(ruled, router="rules (triage answer unusable)")
        return self.merge(self.from_triage(data, mail), ruled)

    def request(self, task: ModelTask, mail: ParsedMail) -> ChatRequest:
        counter = self.stack.counters[task]
        hints = {n: list(i.keywords[:6]) for n, i in self.settings.intents.items()}
        system = system_prompt(
            self.templates,
            "triage",
            intents=hints,
            risks=self.risks,
            fallback=self.settings.fallback_intent,
        )
        user = mail_blocks(mail, self.stack.masker.mask, counter, MAIL_TOKENS)
        return ChatRequest(
            messages=({"role": "system", "content": system}, {"role": "user", "content": user}),
            max_tokens=min(TRIAGE_MAX_TOKENS, self.stack.spec(task).max_output_tokens),
            json_schema=self.schema,
            stream=False,
        )

    def from_triage(self, data: dict[str, object], mail: ParsedMail) -> Route:
        name = str(data["intent"])
        intent = self.settings.intents[name]
        risk = intent.risk or (str(data["risk"]) if data["risk"] != "none" else None)
        return Route(
            intent=name,
            language=str(data["language"]) or mail.language,
            risk=risk,
            wants_human=bool(data["wants_human"]) or name == "human_request",
            confidence=float(str(data["confidence"])),
            tools=intent.tools,
            namespaces=intent.namespaces,
            policy=intent.policy,
            router="llm",
        )

    def merge(self, llm: Route, ruled: Route) -> Route:
        """The LLM's route, with every escalation signal the rules found kept."""
        if ruled.risk and not llm.risk:
            return replace(
                ruled,
                language=llm.language or ruled.language,
                router="rules (risk topic kept over triage)",
            )
        if ruled.wants_human and not llm.wants_human:
            return replace(llm, wants_human=True, router="llm+rules (asked for a human)")
        return llm
