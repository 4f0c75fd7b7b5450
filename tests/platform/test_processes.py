"""saas_platform.processes, the one port/wait/process helper of tests/ and bench/: every helper is
driven against real child processes and sockets, including the ways each can go wrong."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from saas_platform.processes import (
    ChildProcess,
    ProcessExited,
    WaitTimeout,
    free_port,
    http_ok,
    port_open,
    stop_process,
    wait_until,
)


def _python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_free_port_is_not_one_that_is_taken_and_can_be_bound():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = free_port()
        assert port != taken.getsockname()[1]
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


def test_wait_until_returns_the_first_truthy_value():
    answers = iter([0, None, "ready", "later"])
    assert wait_until(lambda: next(answers), timeout=5, interval=0.01) == "ready"
    assert next(answers) == "later", "the predicate was called again after it held"


def test_wait_until_gives_up_after_its_timeout_naming_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"timed out after 0\.3s waiting for the moon") as raised:
        wait_until(lambda: False, timeout=0.3, interval=0.05, message="the moon")
    assert time.monotonic() - started >= 0.3
    # Tests that catch a failed wait as an AssertionError and harness code that expects a TimeoutError both work.
    assert isinstance(raised.value, AssertionError) and isinstance(raised.value, TimeoutError)


def test_wait_until_lets_the_predicates_own_error_through_at_once():
    calls = []

    def broken():
        calls.append(1)
        raise ValueError("the predicate itself failed")

    with pytest.raises(ValueError, match="the predicate itself failed"):
        wait_until(broken, timeout=5)
    assert len(calls) == 1


def test_a_marker_from_an_earlier_run_in_the_same_log_does_not_count(tmp_path):
    log = tmp_path / "worker.log"
    log.write_bytes(b"an earlier worker: ready.\n")
    child = ChildProcess(_python("import time; print('starting'); time.sleep(60)"), log_path=log, name="silent")
    try:
        with pytest.raises(WaitTimeout, match="silent to log b'ready.'"):
            child.wait_for_log(b"ready.", timeout=0.5)
    finally:
        child.stop()


def test_wait_for_log_returns_once_the_child_writes_the_marker(tmp_path):
    code = "import time; time.sleep(0.3); print('worker ready.'); time.sleep(60)"
    child = ChildProcess(_python(code), log_path=tmp_path / "worker.log")
    try:
        child.wait_for_log(b"ready.", timeout=30)
        assert "worker ready." in child.log_tail()
    finally:
        child.stop()


def test_waiting_on_a_child_that_died_says_so_with_the_end_of_its_log(tmp_path):
    code = "print('cannot bind: address in use'); raise SystemExit(3)"
    child = ChildProcess(_python(code), log_path=tmp_path / "server.log")
    with pytest.raises(ProcessExited, match=r"(?s)exited with 3:.*cannot bind: address in use"):
        child.wait_for_log(b"ready.", timeout=30)


def test_stop_takes_down_what_the_child_forked(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    child = ChildProcess(
        ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], log_path=tmp_path / "parent.log", name="parent"
    )
    grandchild = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=10))
    assert _running(grandchild)
    child.stop(timeout=5)
    wait_until(lambda: not _running(grandchild), timeout=10, message="the grandchild to be gone")
    assert child.poll() is not None


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up'); time.sleep(60)"
    child = ChildProcess(_python(code), log_path=tmp_path / "stubborn.log")
    child.wait_for_log(b"up", timeout=30)
    started = time.monotonic()
    child.stop(timeout=0.5)
    assert child.poll() == -signal.SIGKILL
    assert time.monotonic() - started < 10
    child.stop()  # a second stop is harmless


def test_stop_process_stops_a_plain_child_and_accepts_none_and_the_dead():
    process = subprocess.Popen(["sleep", "60"])
    stop_process(process, timeout=10)
    assert process.returncode == -signal.SIGTERM
    stop_process(process)
    stop_process(None)


def test_port_and_http_waits_see_a_real_server_come_and_go(tmp_path):
    port = free_port()
    assert not port_open(port)
    child = ChildProcess(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        log_path=tmp_path / "server.log",
        name="http.server",
    )
    try:
        child.wait_for_port(port, timeout=30)
        child.wait_for_http(f"http://127.0.0.1:{port}/", timeout=30)
        assert not http_ok(f"http://127.0.0.1:{port}/missing")  # a 404 is not ok
    finally:
        child.stop()
    assert not port_open(port)
    with pytest.raises(ProcessExited):
        child.wait_for_http(f"http://127.0.0.1:{port}/", timeout=5)
