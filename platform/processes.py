"""Child processes for the harnesses that run the platform on this machine (tests/, bench/): a free
port, waiting on a condition, starting a process with its log, and stopping it - with everything it
forked - for sure. The running platform never imports this module; it is here so tests and the
benchmark harness share one copy (standard library only).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick). Another process may take it
    before the caller binds it; callers that start a server retry or fail loudly."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class WaitTimeout(AssertionError, TimeoutError):
    """A condition never became true. An AssertionError, so a test that waits in vain fails with the
    message (and `except AssertionError` around a wait keeps working); a TimeoutError for harness code."""


def wait_until(
    predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, message: str = "condition"
) -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy, and return that.
    Raises WaitTimeout after `timeout` seconds; whatever the predicate raises goes through at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {message}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str, *, host: str | None = None, timeout: float = 2) -> bool:
    """GET `url` (with a Host header if given) answers 200."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


class ProcessExited(RuntimeError):
    """A child process ended while something waited for it."""


def _quietly(action: Callable[..., object], *args: int) -> None:
    """Signal a process that may be gone already (or was reaped by someone else)."""
    try:
        action(*args)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(process: subprocess.Popen, timeout: float, first: Callable[[], None], kill: Callable[[], None]) -> None:
    if process.poll() is None:
        first()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill()
            process.wait()


def stop_process(process: subprocess.Popen | None, timeout: float = 20.0, *, sig: int = signal.SIGTERM) -> None:
    """Send `sig` (SIGTERM: a graceful stop), wait up to `timeout` seconds, then SIGKILL; the process
    is reaped either way. For a child that shares our process group; a ChildProcess stops its group."""
    if process is not None:
        _stop(process, timeout, lambda: _quietly(process.send_signal, sig), lambda: _quietly(process.kill))


class ChildProcess:
    """One child process in its own session (so it is stopped with everything it forks), its output
    appended to `log_path`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        name: str | None = None,
    ):
        self.name = name or Path(argv[0]).name
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at_offset = log_size(self.log_path)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, size: int = 4000) -> str:
        return log_tail(self.log_path, size)

    def ensure_alive(self) -> None:
        """Raise ProcessExited (with the end of its log) if the process has ended."""
        if not self.alive():
            raise ProcessExited(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_for_log(self, marker: bytes, *, timeout: float = 60, since: int | None = None) -> None:
        """Until `marker` appears in the log after offset `since` (default: where this process began)."""
        start = self.started_at_offset if since is None else since

        def written() -> bool:
            self.ensure_alive()
            return log_contains(self.log_path, marker, since=start)

        wait_until(written, timeout, interval=0.1, message=f"{self.name} to log {marker!r}")

    def wait_for_http(self, url: str, *, host: str | None = None, timeout: float = 60) -> None:
        """Until GET `url` answers 200 (the process must stay up meanwhile)."""

        def answers() -> bool:
            self.ensure_alive()
            return http_ok(url, host=host)

        wait_until(answers, timeout, interval=0.1, message=f"{self.name} to answer {url}")

    def wait_for_port(self, port: int, *, host: str = "127.0.0.1", timeout: float = 60) -> None:
        """Until the process accepts connections on host:port."""

        def listening() -> bool:
            self.ensure_alive()
            return port_open(port, host)

        wait_until(listening, timeout, interval=0.1, message=f"{self.name} to listen on {host}:{port}")

    def stop(self, timeout: float = 20.0, *, sig: int = signal.SIGTERM, whole_group: bool = False) -> None:
        """`sig` to the process (with `whole_group`, to every process it forked too, as when its container
        is killed), SIGKILL to the group after `timeout`, then whatever is left of the group - a pool
        child that missed the shutdown - is killed. Idempotent."""

        def to_group(signal_number: int) -> None:
            _quietly(os.killpg, self.pid, signal_number)

        first = (lambda: to_group(sig)) if whole_group else (lambda: _quietly(self.process.send_signal, sig))
        _stop(self.process, timeout, first, lambda: to_group(signal.SIGKILL))
        to_group(signal.SIGKILL)


def log_size(path: Path) -> int:
    """Bytes in the file so far (0 if it does not exist): an offset to read new lines from."""
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0


def log_contains(path: Path, marker: bytes, *, since: int = 0) -> bool:
    """`marker` was written to the file after offset `since`."""
    try:
        with open(path, "rb") as log:
            log.seek(since)
            return marker in log.read()
    except FileNotFoundError:
        return False


def log_tail(path: Path, size: int = 4000) -> str:
    """The last `size` bytes of the file, decoded leniently ("" if it cannot be read)."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, log_size(path) - size))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""
