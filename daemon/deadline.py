"""deadline: how long one stage may work on one message, and how a stop reaches a running stage.

Decides when a stage is abandoned. Python cannot kill a thread, so the stage's own thread is
interrupted where it stands: on the main thread (`run --once`) by SIGALRM from `setitimer`,
which also breaks a blocking system call and a long regular-expression match; on any other
thread (the scheduler's jobs, the pipeline's workers) by an asynchronous exception
(`PyThreadState_SetAsyncExc`) that a timer thread sets. Either lands between two bytecodes, so
one long call into C still finishes first: that is why the parser's inputs are capped as well.
`StageTimeout` and `Stopping` derive from `BaseException`, so the `except Exception` guards
inside the stages cannot swallow them. `stop_stages` (SIGTERM in `run`) interrupts every
running stage with `Stopping`, so a stuck message never holds up the exit.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType


class StageTimeout(BaseException):
    """A stage ran past its budget on one message (which the pipeline then quarantines)."""

    def __init__(self, stage: str = "", seconds: float = 0.0) -> None:
        super().__init__(f"stage {stage} exceeded {seconds:g} s" if stage else "")
        self.stage = stage
        self.seconds = seconds
        self.pk: int | None = None


class Stopping(BaseException):
    """The process is stopping: the running stage was abandoned, its transaction rolled back,
    and the message is taken up again by the next run."""


@dataclass
class Running:
    stage: str
    seconds: float
    sent: bool = False
    """An exception was sent to the thread (it may not have landed yet)."""
    started: float = field(default_factory=time.monotonic)


LOCK = threading.RLock()  # re-entrant: the SIGTERM handler may run while the main thread holds it
RUNNING: dict[int, Running] = {}
STOPPING = threading.Event()


def remaining() -> float | None:
    """Seconds left of the budget of the stage running on this thread (None: none running),
    so a call inside it (a model request and its retries) can end in time."""
    with LOCK:
        running = RUNNING.get(threading.get_ident())
    return None if running is None else running.seconds - (time.monotonic() - running.started)


def stopping() -> bool:
    """Whether the process was asked to stop: start no further work."""
    return STOPPING.is_set()


@contextmanager
def stage_deadline(stage: str, seconds: float) -> Iterator[None]:
    """Run the block as stage `stage` of one message, for at most `seconds`."""
    if stopping():
        raise Stopping()
    ident = threading.get_ident()
    running = Running(stage, seconds)
    on_main = threading.current_thread() is threading.main_thread()
    with LOCK:
        RUNNING[ident] = running
    disarm = arm_alarm(running) if on_main else arm_timer(ident, running)
    try:
        yield
    except StageTimeout as exc:
        if exc.stage:
            raise
        raise StageTimeout(stage, seconds) from None  # an asynchronous one carries no details
    finally:
        disarm()
        with LOCK:
            RUNNING.pop(ident, None)
            if running.sent and not on_main:
                set_async(ident, None)  # sent but not landed: the block ended first


def arm_alarm(running: Running) -> Callable[[], None]:
    """SIGALRM after the budget, raising `StageTimeout` in the main thread."""

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        if not running.sent:
            running.sent = True
            raise StageTimeout(running.stage, running.seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, running.seconds)

    def disarm() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    return disarm


def arm_timer(ident: int, running: Running) -> Callable[[], None]:
    """A timer thread that sends `StageTimeout` to thread `ident` after the budget."""

    def fire() -> None:
        with LOCK:
            if RUNNING.get(ident) is running and not running.sent:
                running.sent = True
                set_async(ident, StageTimeout)

    timer = threading.Timer(running.seconds, fire)
    timer.daemon = True
    timer.start()
    return timer.cancel


def stop_stages() -> None:
    """Ask every running stage to stop (from a signal handler, on the main thread): other
    threads get `Stopping` asynchronously; a stage on the main thread gets it raised here."""
    STOPPING.set()
    main = threading.main_thread().ident
    with LOCK:
        for ident, running in RUNNING.items():
            if ident != main and not running.sent:
                running.sent = True
                set_async(ident, Stopping)
        on_main = main in RUNNING
    if on_main:
        raise Stopping()


def set_async(ident: int, exc: type[BaseException] | None) -> None:
    """Raise `exc` in thread `ident` at its next bytecode (None: cancel one not yet raised)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc) if exc is not None else None
    )


def reset() -> None:
    """Forget a stop request (tests, and a process that serves again after one)."""
    STOPPING.clear()
