"""A real Request Tracker 5 for the helpdesk tests: SQLite, rt-server on loopback, REST2.

Decides how the RT tests get a server, following ../shared/PEERS.md §3. The session fixture
`rt_server` writes an `RT_SiteConfig.pm` (with `BcryptCost 4` *before* the database exists:
the default 12 makes every authenticated request 0.3 s slower; a `MailCommand` that writes each
outgoing mail to `outbox/` instead of sending it; `RT_SITE_CONFIG_DIR` pointing at an empty
folder so /etc/request-tracker5 is ignored), and starts `rt-server --max-workers 2` (the default
10 Starlet workers take about 2 GB) on a free port, ready when `/REST/2.0/rt` answers 200.

The database is built once — `rt-setup-database-5 --action init`, then our initialdata (users
`helpbot` and `agent` with their rights given globally, so every per-test queue works; the
`Everyone` rights the mail gateway needs, whose lack `rt-mailgate` hides behind exit 0; the
`AI Draft` and `Escalation` custom fields applied globally; the ACL `map`s in parentheses, or
the first swallows the second) and one auth token per user (RT 5.0.3 has no command for that)
— and kept as a snapshot in pytest's cache folder, keyed by the RT version and this setup.
Later runs copy the snapshot and only start the server (about 3 s instead of 12).

Each test makes its own queue (`rt.new_queue()`) so tests sharing the server never see each
other's tickets. Not root, or the Debian packages missing (`request-tracker5 rt5-db-sqlite
rt5-standalone`, installed after postfix: see tests/peers/provision.sh): the tests are skipped
with the command that fixes it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.peers.common import (
    Proc,
    elapsed,
    free_port,
    report,
    require_binary,
    require_root,
    run,
    scratch_dir,
    wait_until,
)

RT_SERVER = "/usr/share/request-tracker5/libexec/rt-server"
USERS = {"helpbot": "botpassword", "agent": "agentpassword"}
_queues = itertools.count(1)

INITIALDATA = r"""
@Queues = ( { Name => 'Support', Description => 'helpdeskd tests',
              CorrespondAddress => 'support@example.test',
              CommentAddress => 'support-comment@example.test' } );
@CustomFields = (
    { Name => 'AI Draft', Type => 'SelectSingle', LookupType => 'RT::Queue-RT::Ticket',
      Values => [ { Name => 'approved', SortOrder => 1 },
                  { Name => 'rejected', SortOrder => 2 } ] },
    { Name => 'Escalation', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket' } );
@Users = (
    { Name => 'helpbot', Password => 'botpassword', EmailAddress => 'helpbot@example.test',
      RealName => 'Help Bot', Privileged => 1 },
    { Name => 'agent', Password => 'agentpassword', EmailAddress => 'agent@example.test',
      RealName => 'Alice Agent', Privileged => 1 } );
@ACL = (
    (map { my $right = $_; map { { UserId => $_, Right => $right } } qw(helpbot agent) }
      qw(SeeQueue ShowTicket CreateTicket ReplyToTicket CommentOnTicket ModifyTicket
         ShowTicketComments SeeCustomField ModifyCustomField ShowOutgoingEmail)),
    (map { { GroupDomain => 'SystemInternal', GroupType => 'Everyone', Right => $_ } }
      qw(CreateTicket ReplyToTicket)) );
1;
"""

MKTOKEN = r"""
use lib '/usr/share/request-tracker5/lib'; use RT; RT::LoadConfig(); RT::Init();
for my $name (@ARGV) {
    my $u = RT::User->new(RT->SystemUser); $u->Load($name) or die "no user $name\n";
    my ($id, $msg, $auth) = RT::AuthToken->new(RT->SystemUser)->Create(
        Owner => $u->id, Description => 'helpdeskd tests');
    die "$msg\n" unless $id; print "$name $auth\n";
}
"""


def site_config(root: Path, port: int) -> str:
    return f"""Set($rtname, 'example.test');
Set($Organization, 'example.test');
Set($Timezone, 'UTC');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{root}/rt5.db');
Set($CorrespondAddress, 'rt@example.test');
Set($CommentAddress, 'rt-comment@example.test');
Set($LogToSyslog, undef);
Set($LogToSTDERR, 'warning');
Set($LogToFile, 'info');
Set($LogDir, '{root}/log');
Set($LogToFileNamed, 'rt.log');
Set($BcryptCost, 4);
Set($MailCommand, sub {{
    my $entity = shift;
    my $f = sprintf('{root}/outbox/%d-%09d.eml', time, int(rand(1e9)));
    open(my $fh, '>', $f) or return 0; print $fh $entity->stringify; close $fh; return 1;
}});
1;
"""


@dataclass
class RtPeer:
    url: str
    root: Path
    tokens: dict[str, str]
    env: dict[str, str]
    outbox: Path
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, user: str = "agent") -> httpx.Client:
        """A REST2 client authenticated as `user` (root, helpbot or agent)."""
        if user not in self.clients:
            self.clients[user] = httpx.Client(
                base_url=f"{self.url}/REST/2.0",
                headers={"Authorization": f"token {self.tokens[user]}"},
                timeout=30,
            )
        return self.clients[user]

    def new_queue(self, prefix: str = "Q") -> str:
        """A queue only this test uses (tickets of other tests stay out of its searches)."""
        name = f"{prefix}{next(_queues)}-{os.getpid()}-{int(time.time() * 1000) % 10**8}"
        answer = self.api("root").post(
            "/queue",
            json={
                "Name": name,
                "CorrespondAddress": "support@example.test",
                "CommentAddress": "support-comment@example.test",
            },
        )
        assert answer.status_code == 201, answer.text
        return name

    def mailgate(self, raw: bytes, queue: str, action: str = "correspond") -> None:
        """Deliver a customer's mail the way a mail server does: through rt-mailgate."""
        mailgate = require_binary("rt-mailgate-5", "request-tracker5")
        done = subprocess.run(
            [mailgate, "--queue", queue, "--action", action, "--url", self.url],
            input=raw,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

    def outgoing(self) -> list[EmailMessage]:
        """Every mail RT 'sent' so far (its MailCommand writes them here), oldest first."""
        mails = []
        for path in sorted(self.outbox.glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            mails.append(msg)
        return mails

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def require_rt() -> dict[str, str]:
    require_root("Request Tracker (rt-server, rt-setup-database)")
    return {
        "server": require_binary(RT_SERVER, "rt5-standalone"),
        "setup": require_binary("rt-setup-database-5", "request-tracker5"),
        "perl": require_binary("perl", "perl"),
    }


def rt_version() -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "request-tracker5"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def snapshot_key() -> str:
    setup = INITIALDATA + MKTOKEN + site_config(Path("/ROOT"), 0) + rt_version()
    return hashlib.sha256(setup.encode()).hexdigest()[:16]


def environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RT_SITE_CONFIG": str(root / "RT_SiteConfig.pm"),
        "RT_SITE_CONFIG_DIR": str(root / "siteconfig.d"),
    }


def prepare(root: Path, port: int) -> dict[str, str]:
    for sub in ("outbox", "log", "siteconfig.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "RT_SiteConfig.pm").write_text(site_config(root, port))
    return environment(root)


def build_snapshot(tools: dict[str, str], cache: Path) -> None:
    """init-db, initialdata and tokens, once; the database and tokens go to `cache`."""
    t0 = time.monotonic()
    with scratch_dir("rt-build") as build:
        env = prepare(build, 0)
        log = build / "setup.log"
        run(
            [tools["setup"], "--action", "init", "--skip-create"],
            "RT init-db",
            env=env,
            log=log,
            timeout=180,
            input=b"",
        )
        (build / "initialdata.pl").write_text(INITIALDATA)
        run(
            [tools["setup"], "--action", "insert", "--datafile", str(build / "initialdata.pl")],
            "RT initialdata",
            env=env,
            log=log,
            timeout=120,
            input=b"",
        )
        (build / "mktoken.pl").write_text(MKTOKEN)
        done = run(
            [tools["perl"], str(build / "mktoken.pl"), "root", *USERS],
            "RT tokens",
            env=env,
            log=log,
            timeout=60,
        )
        tokens = dict(line.split() for line in done.stdout.decode().splitlines() if line.strip())
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build / "rt5.db", cache / "rt5.db.tmp")
    (cache / "tokens.json").write_text(json.dumps(tokens))
    (cache / "rt5.db.tmp").replace(cache / "rt5.db")
    report("RT snapshot built (init-db, initialdata, tokens)", elapsed(t0))


def snapshot_dir(config: pytest.Config) -> Path:
    """pytest's cache folder (kept between runs), or ~/.cache when the cache plugin is off."""
    if cache := getattr(config, "cache", None):
        return Path(cache.mkdir("helpdeskd-rt"))
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "helpdeskd-tests" / "rt"


@pytest.fixture(scope="session")
def rt_server(pytestconfig: pytest.Config) -> Iterator[RtPeer]:
    tools = require_rt()
    cache = snapshot_dir(pytestconfig) / snapshot_key()
    if not (cache / "rt5.db").exists() or not (cache / "tokens.json").exists():
        build_snapshot(tools, cache)
    t0 = time.monotonic()
    with scratch_dir("rt") as root:
        port = free_port()
        env = prepare(root, port)
        shutil.copyfile(cache / "rt5.db", root / "rt5.db")
        tokens = json.loads((cache / "tokens.json").read_text())
        proc = Proc.start(
            "rt-server",
            [tools["server"], "--host", "127.0.0.1", "--port", str(port), "--max-workers", "2"],
            log=root / "server.log",
            env=env,
        )
        peer = RtPeer(f"http://127.0.0.1:{port}", root, tokens, env, root / "outbox")
        try:
            wait_until(
                lambda: ready(peer, proc),
                "RT REST2 to answer 200",
                timeout=60,
                log=root / "server.log",
            )
            report("RT from snapshot to first 200", elapsed(t0))
            yield peer
        finally:
            peer.close()
            proc.stop()


def ready(peer: RtPeer, proc: Proc) -> bool:
    proc.check_alive()
    try:
        return peer.api("helpbot").get("/rt").status_code == 200
    except httpx.TransportError:
        return False
