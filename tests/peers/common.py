"""Helpers every real-server fixture shares: ports, processes, readiness, skips, scratch space.

Decides how a test peer is started, waited for, reported on and stopped, so that the fixtures
for PostgreSQL, Dovecot/Postfix and Request Tracker behave the same way: every server listens
on a free loopback port, runs in its own process group with its output in a log file, is
"ready" only when it answers (a greeting line, not an open port: Dovecot opens its port
before auth is ready), and a failure message always ends with the tail of that log. A missing
binary skips the test with the command that fixes it; it never fails.

The helpers:

- `free_port()` — a free TCP port on 127.0.0.1 (bound and released; pass it to the server).
- `wait_for_banner(port, prefix, timeout=..., log=...)` — connect until a server sends a first
  line starting with `prefix` (IMAP `b"* OK"`, SMTP/LMTP `b"220"`); returns that line.
- `wait_until(check, what, timeout=..., log=...)` — poll `check()` until it returns truthy.
- `Proc.start(cmd, log=...)` — start a foreground server in a new process group with stdout
  and stderr appended to `log`; `.stop()` sends SIGTERM to the group, then SIGKILL;
  `.check_alive()` fails with the log tail when the process has already exited.
- `run(cmd, what, timeout=..., log=...)` — run a setup command (initdb, doveadm, postfix
  start); output appended to `log`; a non-zero exit or a timeout fails with that output.
- `require_binary(path_or_name, package)` — the binary's absolute path, or `pytest.skip`
  saying which Debian package is missing and to run tests/peers/provision.sh as root.
- `require_root(what)` — skip unless running as root (Postfix, Dovecot as vmail, runuser).
- `as_user(user, *cmd)` — the command wrapped in `runuser -u USER --` when we are root and
  USER is someone else (initdb and postgres refuse to run as root); unchanged otherwise.
- `with scratch_dir(name) as root:` — a fresh 0755 folder in the system temp dir that other
  system users (postgres, vmail, postfix) can reach, removed afterwards. Not under pytest's
  tmp factory: pytest keeps that 0700 and resets it whenever another pytest run starts.
- `tail(path, lines=...)` — the last lines of a log file, for failure messages.
- `elapsed(t0)` / `report(name, seconds)` — timing lines printed once per peer start-up (seen
  with `-s`, and kept by pytest in the captured output of a failing test).

Timeouts default generously (`SLOW_MACHINE_FACTOR` times a quiet machine's value): on a loaded
2-core CI machine initdb took 31 s where it usually takes 2 s.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROVISION = "tests/peers/provision.sh"
SLOW_MACHINE_FACTOR = float(os.environ.get("HELPDESKD_PEERS_SLOWDOWN", "1"))
"""Multiply every start-up timeout (set it >1 on a machine known to be very slow)."""


def timeout_of(seconds: float) -> float:
    return seconds * SLOW_MACHINE_FACTOR


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel picks it; we release it for the server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path | None, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that there is none."""
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_bytes()[-20000:].decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def fail_with_log(message: str, log: Path | None) -> None:
    pytest.fail(f"{message}\n--- last lines of {log} ---\n{tail(log)}", pytrace=False)


def elapsed(t0: float) -> float:
    return round(time.monotonic() - t0, 2)


def report(name: str, seconds: float) -> None:
    print(f"[peers] {name}: {seconds:.2f} s")


def wait_until(
    check: Callable[[], Any], what: str, *, timeout: float = 30.0, log: Path | None = None
) -> Any:
    """Poll `check()` until it returns something truthy; fail with the log tail on timeout."""
    deadline = time.monotonic() + timeout_of(timeout)
    delay = 0.02
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            fail_with_log(f"timed out after {timeout_of(timeout):.0f} s waiting for {what}", log)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def read_banner(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bytes | None:
    """The first line a server sends on connect, or None if it is not there yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while b"\n" not in data and len(data) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\n", 1)[0].rstrip(b"\r") or None
    except OSError:
        return None


def wait_for_banner(
    port: int,
    prefix: bytes,
    *,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
    log: Path | None = None,
    proc: Proc | None = None,
) -> bytes:
    """Wait until the server on `port` greets with a line starting with `prefix`."""

    def greeted() -> bytes | None:
        if proc is not None:
            proc.check_alive()
        line = read_banner(port, host)
        return line if line is not None and line.startswith(prefix) else None

    line: bytes = wait_until(
        greeted, f"{prefix!r} greeting on {host}:{port}", timeout=timeout, log=log
    )
    return line


def run(
    cmd: Sequence[str],
    what: str,
    *,
    timeout: float = 60.0,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a setup command to completion; fail the test with its output if it does not work."""
    try:
        done = subprocess.run(
            list(cmd),
            capture_output=True,
            timeout=timeout_of(timeout),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        fail_with_log(f"{what}: timed out after {exc.timeout:.0f} s: {' '.join(cmd)}", log)
        raise  # unreachable: pytest.fail raised
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{output}")
    if done.returncode != 0:
        fail_with_log(f"{what}: exit {done.returncode}: {' '.join(cmd)}\n{output[-3000:]}", log)
    return done


@dataclass
class Proc:
    """A foreground server in its own process group, its output appended to `log`."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(
        cls,
        name: str,
        cmd: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(cmd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,  # its own process group: stop() reaches every child
            )
        return cls(name, popen, log)

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            fail_with_log(f"{self.name} exited with {code} while starting", self.log)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the whole group, SIGKILL what is left after `timeout`; return the exit code."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_of(timeout))
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers the leader left behind
        return self.popen.returncode

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


def require_binary(path_or_name: str, package: str) -> str:
    """The absolute path of a binary, or skip naming the package and how to install it."""
    found = shutil.which(path_or_name)  # an absolute path is checked for the execute bit
    if not found:
        pytest.skip(
            f"{path_or_name} not found: Debian package {package} not installed: "
            f"run {PROVISION} as root"
        )
    return found


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (run the tests as root after {PROVISION})")


def as_user(user: str, *cmd: str) -> list[str]:
    """`cmd` run as `user`: through runuser when we are root, unchanged when we are `user`."""
    if os.geteuid() == 0 and user != "root":
        return [require_binary("runuser", "util-linux"), "-u", user, "--", *cmd]
    me = pwd.getpwuid(os.geteuid()).pw_name
    if me != user:
        pytest.skip(f"needs to run {cmd[0]} as {user}: run the tests as root")
    return list(cmd)


def user_ids(user: str) -> tuple[int, int]:
    """(uid, gid) of a system user, or skip when it does not exist."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        pytest.skip(f"system user {user} missing: run {PROVISION} as root")
    return entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    """A new folder other system users can reach, removed when the block ends.

    Not under pytest's tmp factory on purpose: pytest makes its base folder 0700 and every
    pytest run that starts on the machine resets it to 0700, which would cut a running server
    (postgres, vmail, postfix) off from its own files halfway through the session.
    """
    path = Path(tempfile.mkdtemp(prefix=f"helpdeskd-{name}-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def chown_tree(path: Path, user: str) -> None:
    """Give `path` and everything under it to `user` (a server that drops privileges)."""
    uid, gid = user_ids(user)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for entry in (*dirs, *files):
            os.chown(Path(root) / entry, uid, gid, follow_symlinks=False)
