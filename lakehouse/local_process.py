"""What every server the project starts on this machine shares (PostgreSQL, Kafka, Connect).

Each runs in a folder of its own under the lake's ``_state``, listens on 127.0.0.1, remembers
its port and pid in a JSON state file there, and is started or stopped by one process at a time.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"

# Servers this process started: their exit must be collected here, or they linger as zombies
# that still answer signal 0.
CHILDREN: dict[int, subprocess.Popen] = {}


def free_port(exclude: Collection[int] = ()) -> int:
    """A port on 127.0.0.1 nothing listens on now (and not one of ``exclude``)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port


def port_is_free(port: int) -> bool:
    """True when a server could bind ``port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Bind as the servers do (SO_REUSEADDR): connections a stopped server closed leave its
        # port in TIME_WAIT, which it can reuse; only a live listener makes the port taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def accepts(port: int, timeout: float = 1.0) -> bool:
    """True when something accepts connections on ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def reap(pid: int) -> bool:
    """Wait for ``pid`` if it is a child of this process that has exited; True if it is gone."""
    child = CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            CHILDREN.pop(pid, None)
            return True
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its parent (or init) reaps it
        return False
    return done == pid


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs (a zombie does not; another user's process does)."""
    if reap(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user (the server user when we are root)
        return True
    try:  # a zombie still answers signal 0
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def terminate(pid: int, *, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; True when it had to be killed."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        reap(pid)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return False
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    return True


def cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid`` (None: gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` of a log file, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class StateFile:
    """A server's remembered facts (port, pid, ids) in one JSON file, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def update(self, **fields: object) -> None:
        """Merge ``fields`` into the file; a field set to None is removed."""
        state = {k: v for k, v in (self.read() | fields).items() if v is not None}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.path)


@contextmanager
def folder_lock(directory: Path) -> Iterator[None]:
    """One start or stop at a time per server folder (across processes)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
