"""Reply caps across senders: may one more answer go out now, whoever it is for?

Decides the caps that a robot answering from a new address each time (and a new subject, so a
new ticket) cannot dodge: `[screen] replies_per_hour` over all our replies, and
`[screen] replies_per_domain_per_hour` over the replies to one sender domain — its registrable
domain (public-suffix list), so a robot rotating subdomains (x1.evil.example, x2.…) shares one
count. Big free-mail
domains (`[screen] shared_domains`) are shared by unrelated customers, so they get their own,
higher cap (`replies_per_shared_domain_per_hour`). A cap of 0 is off. The counts are Outbox
replies of the last hour; the deliver stage checks them under a lock at the moment of sending
and holds the draft for an agent with the reason when one is reached, so a real customer caught
in a robot's storm is answered by a person instead of being dropped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from daemon.config import ScreenSettings
from daemon.mail.auth import organizational_domain
from daemon.store.locks import serialize
from daemon.tables import Outbox

GLOBAL_LOCK = "reply-cap:*"


def domain_of(address: str) -> str:
    """The registrable domain of an address, lower-cased ('' when there is none): subdomains
    count with their organisation."""
    domain = address.rpartition("@")[2].lower() if "@" in address else ""
    return (organizational_domain(domain) or domain) if domain else ""


def domain_cap(cfg: ScreenSettings, domain: str) -> int:
    shared = {d.lower() for d in cfg.shared_domains}
    return (
        cfg.replies_per_shared_domain_per_hour
        if domain in shared
        else cfg.replies_per_domain_per_hour
    )


def over_rate_caps(
    session: Session, cfg: ScreenSettings, sender: str, since: datetime
) -> str | None:
    """The reason one more reply to `sender` would break the global or the domain cap, or None.
    Takes the caps' locks first (global, then domain: always in this order), so two workers
    cannot both take the last place."""
    domain = domain_of(sender)
    serialize(session, GLOBAL_LOCK)
    serialize(session, f"reply-cap:@{domain}")
    if cfg.replies_per_hour and (total := count_replies(session, since)) >= cfg.replies_per_hour:
        return (
            f"global reply cap: {total} replies in the last hour (robot guard): held for an agent"
        )
    cap = domain_cap(cfg, domain)
    if domain and cap and (to_domain := count_replies(session, since, domain)) >= cap:
        return (
            f"domain reply cap: {to_domain} replies to @{domain} in the last hour "
            "(robot guard): held for an agent"
        )
    return None


def count_replies(session: Session, since: datetime, domain: str | None = None) -> int:
    """Replies queued since `since`, to anyone or to addresses at `domain`."""
    params: dict[str, object] = {"since": since}
    statement = ALL_RECENT
    if domain is not None:
        escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement, params["pattern"], params["sub"] = DOMAIN_RECENT, f"%@{escaped}", f"%.{escaped}"
    # On the connection: a session query would flush the caller's pending rows one by one.
    return int(session.connection().execute(statement, params).scalar_one())


ALL_RECENT = (
    select(func.count())
    .select_from(Outbox)
    .where(col(Outbox.created_at) >= bindparam("since"), col(Outbox.kind) == "reply")
)
DOMAIN_RECENT = ALL_RECENT.where(
    col(Outbox.customer).like(bindparam("pattern"), escape="\\")
    | col(Outbox.customer).like(bindparam("sub"), escape="\\")
)
