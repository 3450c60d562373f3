"""The stage table and the loop that moves each message through it.

Decides the order of the stages and what happens between them. Each `Step` turns one state into
the next by running its stage functions in one transaction (parse and screen of a batch of new
mail share one); the new state, the stage results and the audit row are committed together, so
a process killed at any point resumes at the last committed state and redoes at most the
transaction it was in. A stage returns either a new `Item` or an
outcome (`Ignored`, `Held`, `Escalated`, `Sent`); outcomes end the flow through `finish`.
A message whose step raises `max_failures` times, or on which the process died `max_crashes`
times, is quarantined with its error; its raw bytes stay in the store and `status` shows it.
A stage that runs past its budget (`stage_seconds`, `model_stage_seconds` for the steps that
wait on a model) is abandoned (`daemon.deadline`) and its message quarantined at once, with
"stage X exceeded N s"; the other messages go on. A stop request abandons the running stages
(their transactions roll back) and starts no further step.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from daemon.deadline import StageTimeout, stage_deadline, stopping
from daemon.item_rows import drafted_reply, load_item, save_item
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated, Held, Ignored, Outcome, Sent
from daemon.kernel.stage import Context, Runtime, StageFn, context_for
from daemon.metrics import QUARANTINED
from daemon.records import ParsedMail
from daemon.stages import (
    decide,
    deliver,
    draft,
    escalate,
    guard,
    owned,
    parse,
    retrieve,
    route,
    screen,
    thread,
)
from daemon.store.audit import audit, buffered_audit, transition
from daemon.store.content import Content, load_contents, message_content
from daemon.store.engine import session_scope
from daemon.store.leases import claim, claim_many, owner_is_dead, release, worker_name
from daemon.tables import TERMINAL, Message, Quarantine, State, utcnow

log = logging.getLogger("helpdeskd.pipeline")


@dataclass(frozen=True, slots=True)
class Step:
    start: State
    name: str
    stages: tuple[StageFn, ...]
    end: State
    model: bool = False
    """It waits on the LLM: its budget is `model_stage_seconds`, not `stage_seconds`."""


STEPS: dict[State, Step] = {
    s.start: s
    for s in (
        Step(State.received, "parse", (parse.run,), State.parsed),
        Step(
            State.parsed,
            "screen",
            (thread.run, owned.agent_reply, screen.run, thread.ensure_ticket),
            State.screened,
        ),
        # owned.run: a ticket a human owns is escalated before any model sees the message,
        # and again at each later step (an agent may take it while it is drafted)
        Step(State.screened, "route", (owned.run, route.run), State.routed, model=True),
        Step(State.routed, "retrieve", (owned.run, retrieve.run), State.retrieved),
        Step(
            State.retrieved, "draft", (owned.run, draft.run, guard.run), State.drafted, model=True
        ),
        Step(State.drafted, "decide", (owned.run, decide.run), State.decided),
        Step(State.decided, "deliver", (owned.run, deliver.run), State.decided),
    )
}

OUTCOME_STATE: dict[type[Outcome], State] = {
    Ignored: State.ignored,
    Sent: State.sent,
    Held: State.awaiting_approval,
    Escalated: State.escalated,
}


WAITING = frozenset({*TERMINAL, State.awaiting_approval})
"""States the pipeline does not move on (an agent or an operator does)."""

THREADING = frozenset({State.received, State.parsed})
"""States whose steps (parse; thread + screen + open a ticket) decide a message's ticket. They
run one message at a time in arrival order: a reply fetched in the same batch as the mail it
answers must find that mail's ticket, not race it and open a second one. Routing (maybe an LLM
call) and everything after it run on the worker pool."""


def pending_rows(session: Session, limit: int | None = None) -> list[tuple[int, State]]:
    """Messages the pipeline can move on with their states, oldest first, whoever holds them."""
    query = (
        select(Message.id, Message.state)
        .where(col(Message.state).not_in([s.value for s in WAITING]))
        .order_by(col(Message.id))
    )
    if limit:
        query = query.limit(limit)
    return [(pk, State(state)) for pk, state in session.exec(query) if pk is not None]


BATCH = 50
"""Messages per transaction in the serial steps: one commit per step for the whole batch
instead of two per message (claim, step) is most of the ingest rate."""


def process_pending(services: Runtime, *, limit: int | None = None) -> int:
    """Move every pending message as far as it goes; return how many were worked on."""
    release_dead_leases(services)
    with session_scope(services.engine) as session:
        rows = pending_rows(session, limit)
    owner = worker_name()
    early = [pk for pk, state in rows if state in THREADING]
    later = [pk for pk, state in rows if state not in THREADING]
    for start in range(0, len(early), BATCH):
        if stopping():
            return len(rows)
        later += run_threading(services, early[start : start + BATCH], owner)
    run_rest(services, sorted(later), owner)
    return len(rows)


def run_threading(
    services: Runtime,
    pks: list[int],
    owner: str,
    parsed_ahead: Mapping[int, ParsedMail] | None = None,
) -> list[int]:
    """Parse, then thread and screen, a batch in arrival order, in one transaction for the
    whole batch. The batch is claimed once, for both steps (the claim is committed first:
    it counts a start, which is how a process death is noticed). Messages on which a process
    already died run one at a time, so a message that kills the process is found and
    quarantined without taking its batch along. `parsed_ahead`: the batch's parse results,
    worked out in worker processes (`daemon.parse_pool`). Returns the messages that moved past."""
    lease = timedelta(seconds=services.settings.pipeline.lease_seconds)
    with session_scope(services.engine) as session:
        claimed = claim_many(session, pks, owner, lease, THREADING)
    batch = [pk for pk, starts in claimed if starts <= 1]
    steps = (STEPS[State.received], STEPS[State.parsed])
    run_batch(services, batch, steps, owner, ahead=parsed_ahead)
    for pk in (pk for pk, starts in claimed if starts > 1):
        advance(services, pk, owner, within=THREADING)
    with session_scope(services.engine) as session:
        states = session.exec(select(Message.id, Message.state).where(col(Message.id).in_(pks)))
        return [pk for pk, st in states if pk is not None and State(st) not in WAITING | THREADING]


def run_batch(
    services: Runtime,
    pks: list[int],
    steps: Sequence[Step],
    owner: str,
    *,
    ahead: Mapping[int, ParsedMail] | None = None,
) -> None:
    """Consecutive steps for a batch of claimed messages in one transaction: the whole batch
    through the first step in arrival order, its row updates flushed together, then through
    the next (the lease kept until the last step); the audit rows are written at the end, and
    a parse result is not read back from the store between the steps. A message that raises
    rolls the batch back, and the batch is then done one message and one step at a time, so
    the failure is recorded on the one that raised."""
    if not pks:
        return
    try:
        with session_scope(services.engine) as session, buffered_audit(session):
            rows = session.exec(
                select(Message)
                .where(col(Message.id).in_(pks), Message.lease_owner == owner)
                .order_by(col(Message.id))
            ).all()
            contents = load_contents(session, (row.id for row in rows if row.id is not None))
            for index, step in enumerate(steps):
                last = index == len(steps) - 1
                for row in rows:
                    if row.state == step.start:
                        content = contents.get(row.id or 0)
                        run_loaded(
                            services,
                            session,
                            row,
                            content,
                            keep_lease=not last,
                            ahead=ahead,
                            batch=rows,
                        )
                session.flush()  # what the next step's queries read (the senders, for bursts)
    except StageTimeout as exc:
        record_timeout(services, exc)
        run_one_by_one(services, pks, steps)
    except Exception:
        names = "+".join(step.name for step in steps)
        log.info("a %s batch of %d failed: one message at a time", names, len(pks))
        run_one_by_one(services, pks, steps)


def run_one_by_one(services: Runtime, pks: list[int], steps: Sequence[Step]) -> None:
    """The steps of a batch that failed, one message and one step at a time, so a failure
    or a stage past its budget is recorded on the one message it belongs to."""
    starts = frozenset(step.start for step in steps)
    for pk in pks:
        try:
            for _step in steps:
                if run_step(services, pk, within=starts) is None:
                    break
        except StageTimeout as exc:
            record_timeout(services, exc)
        except Exception as exc:
            record_failure(services, pk, exc)


def run_rest(services: Runtime, ids: list[int], owner: str) -> None:
    """The steps after routing (retrieve, draft, decide, deliver), several messages at once."""
    workers = services.settings.pipeline.workers
    if workers == 1 or len(ids) <= 1:
        for pk in ids:
            advance(services, pk, owner)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="pipeline") as pool:
            list(pool.map(lambda pk: advance(services, pk, owner), ids))


def advance(
    services: Runtime, pk: int, owner: str, *, within: frozenset[State] | None = None
) -> State | None:
    """Run steps on one message until it waits or ends (or leaves `within`); return its last
    state, None when its step failed or another worker holds it."""
    lease = timedelta(seconds=services.settings.pipeline.lease_seconds)
    state: State | None = None
    while not stopping():
        with session_scope(services.engine) as session:
            if not claim(session, pk, owner, lease):
                return state
        try:
            state = run_step(services, pk)
        except StageTimeout as exc:  # stuck on this message: it would be stuck again
            state = record_timeout(services, exc)
        except Exception as exc:  # a broken stage: recorded, retried, then quarantined
            state = record_failure(services, pk, exc)
        if state is None or state in WAITING or (within is not None and state not in within):
            return state
    return state


def run_step(services: Runtime, pk: int, *, within: frozenset[State] | None = None) -> State | None:
    """Run the step of the message's state (none when that state is not `within`)."""
    with session_scope(services.engine) as session:
        row = session.get(Message, pk)
        if row is None or (within is not None and State(row.state) not in within):
            return None
        return run_loaded(services, session, row)


def run_loaded(
    services: Runtime,
    session: Session,
    row: Message,
    content: Content | None = None,
    *,
    keep_lease: bool = False,
    ahead: Mapping[int, ParsedMail] | None = None,
    batch: Sequence[Message] = (),
) -> State:
    """Run the step of the row's state on it (the caller holds the lease and commits)."""
    step = STEPS.get(State(row.state))
    if step is None:
        release(session, row)
        return State(row.state)
    if row.starts > services.settings.pipeline.max_crashes:
        return quarantine(
            session, row, step.name, f"the process died {row.starts - 1} times during {step.name}"
        )
    ctx = context_for(services, session, row, ahead, batch)
    content = content or message_content(session, row.id or 0)
    before = load_item(row, content, drafted_reply(session, row))
    try:
        with stage_deadline(step.name, stage_budget(services, step)):
            result = run_stages(step, before, ctx)
    except StageTimeout as exc:
        exc.pk = row.id
        raise
    return apply(ctx, row, content, step, result, before, keep_lease=keep_lease)


def run_stages(step: Step, item: Item, ctx: Context) -> Item | Outcome:
    """The step's stage functions in order, until one returns an outcome."""
    result: Item | Outcome = item
    for stage in step.stages:
        assert isinstance(result, Item)
        result = stage(result, ctx)
        if not isinstance(result, Item):
            break
    return result


def stage_budget(services: Runtime, step: Step) -> float:
    pipeline = services.settings.pipeline
    return pipeline.model_stage_seconds if step.model else pipeline.stage_seconds


def apply(
    ctx: Context,
    row: Message,
    content: Content,
    step: Step,
    result: Item | Outcome,
    before: Item | None = None,
    *,
    keep_lease: bool = False,
) -> State:
    """Write the step's result to the row and move it to its next state (caller commits)."""
    if isinstance(result, Item):
        save_item(result, row, content, before)
        starts = row.starts
        if not keep_lease:
            release(ctx.session, row)
        transition(ctx.session, row, step.end, step=step.name)
        if keep_lease:
            row.starts = starts  # the claim's start counts until the claimed work is done
        return step.end
    item = load_item(row, content)
    return finish(ctx, row, item, result, step.name)


def finish(ctx: Context, row: Message, item: Item, outcome: Outcome, step: str) -> State:
    """End the flow of a message with an outcome: hold, send, escalate or ignore it."""
    if isinstance(outcome, Sent):
        outcome = deliver.send(item, outcome, ctx)
    elif isinstance(outcome, Held):
        outcome = deliver.hold(item, outcome, ctx)
    if isinstance(outcome, Escalated):
        escalate.record(item, outcome, ctx)
    end = OUTCOME_STATE[type(outcome)]
    release(ctx.session, row)
    transition(ctx.session, row, end, reason=outcome.reason, step=step)
    return end


def record_failure(services: Runtime, pk: int, exc: Exception) -> State | None:
    """Count a failed step; quarantine the message after `max_failures`."""
    with session_scope(services.engine) as session:
        row = session.get(Message, pk)
        if row is None:
            return None
        return fail(services, session, row, exc)


def fail(services: Runtime, session: Session, row: Message, exc: Exception) -> State | None:
    """Record a step that raised on `row` (caller commits); quarantine after `max_failures`."""
    pk = row.id
    step = STEPS.get(State(row.state))
    name = step.name if step else row.state
    row.failures += 1
    row.starts = max(row.starts - 1, 0)  # this start ended in a recorded error, not a death
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning(
        "message %s: %s failed (%d/%d): %s",
        pk,
        name,
        row.failures,
        services.settings.pipeline.max_failures,
        row.last_error,
        exc_info=log.isEnabledFor(logging.DEBUG),
    )
    if row.failures >= services.settings.pipeline.max_failures:
        return quarantine(session, row, name, row.last_error, traceback.format_exc())
    audit(
        session,
        "stage_failed",
        message=row,
        step=name,
        error=row.last_error,
        failures=row.failures,
    )
    release(session, row)
    session.add(row)
    return None


def record_timeout(services: Runtime, exc: StageTimeout) -> State | None:
    """Quarantine the message whose stage ran past its budget (a new transaction: the step's
    own was rolled back). No retry: the same bytes would take as long again."""
    with session_scope(services.engine) as session:
        row = session.get(Message, exc.pk) if exc.pk is not None else None
        if row is None or State(row.state) in TERMINAL:
            return None
        row.last_error = str(exc)
        return quarantine(session, row, exc.stage, str(exc))


def quarantine(session: Session, row: Message, stage: str, error: str, tb: str = "") -> State:
    assert row.id is not None
    session.add(Quarantine(message_pk=row.id, stage=stage, error=error, traceback=tb))
    QUARANTINED.labels(stage).inc()
    release(session, row)
    transition(session, row, State.quarantined, reason=f"{stage}: {error}"[:500], step=stage)
    log.error("message %s quarantined at %s: %s", row.id, stage, error)
    return State.quarantined


def release_dead_leases(services: Runtime) -> int:
    """Free leases held by processes of this host that no longer exist (after a crash)."""
    freed = 0
    with session_scope(services.engine) as session:
        rows = session.exec(select(Message).where(col(Message.lease_owner).is_not(None))).all()
        for row in rows:
            if owner_is_dead(row.lease_owner):
                release(session, row)
                freed += 1
    return freed


def requeue(services: Runtime, pks: Sequence[int], actor: str) -> int:
    """Send quarantined messages back to the step that broke (operator command)."""
    count = 0
    with session_scope(services.engine) as session:
        for pk in pks:
            row = session.get(Message, pk)
            if row is None or row.state != State.quarantined:
                continue
            q = session.exec(
                select(Quarantine).where(
                    Quarantine.message_pk == pk, col(Quarantine.released_at).is_(None)
                )
            ).first()
            back = next(
                (s.start for s in STEPS.values() if q and s.name == q.stage), State.received
            )
            if q:
                q.released_at = utcnow()
                session.add(q)
            transition(session, row, back, reason=f"requeued by {actor}")
            count += 1
    return count
