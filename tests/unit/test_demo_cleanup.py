"""`make demo` stops its replay server when it ends, whether the pipeline passed or failed.

scripts/demo.sh runs for real, with a stand-in `uv` first on PATH that answers `uv run
lakehouse run|status` at once (pass or fail) and hands everything else, the replay server
included, to the real uv. Every process the demo starts carries a marker in its environment,
so the test can tell whether any of them outlives the script.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.sh"
MARKER = "LAKEHOUSE_DEMO_TEST_MARKER"

FAKE_UV = """#!/usr/bin/env bash
# Stand-in for uv: the pipeline steps answer at once; anything else goes to the real uv.
if [ "$1 $2 $3" = "run --frozen lakehouse" ]; then
  case "$4" in
    run) echo "fake pipeline: exit $FAKE_PIPELINE_EXIT" >&2; exit "$FAKE_PIPELINE_EXIT" ;;
    status) echo "fake status"; exit 0 ;;
  esac
fi
exec "$REAL_UV" "$@"
"""


def _marked_processes(marker: str) -> dict[int, str]:
    """pid -> command line of every process whose environment holds the marker."""
    found = {}
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the processes")
@pytest.mark.parametrize("pipeline_exit", [0, 1], ids=["pipeline-passes", "pipeline-fails"])
def test_demo_leaves_no_replay_server_running(tmp_path: Path, pipeline_exit: int) -> None:
    real_uv = shutil.which("uv")
    if real_uv is None:
        pytest.skip("uv is not on PATH")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "uv"
    fake.write_text(FAKE_UV, encoding="utf-8")
    fake.chmod(0o755)
    marker = uuid.uuid4().hex
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REAL_UV": real_uv,
        "FAKE_PIPELINE_EXIT": str(pipeline_exit),
        "LAKEHOUSE_LAKE_ROOT": str(tmp_path / "lake"),
        MARKER: marker,
    }
    try:
        done = subprocess.run(
            ["bash", str(DEMO)], env=env, capture_output=True, text=True, timeout=120
        )
        assert "replay server: http://127.0.0.1:" in done.stdout, done.stdout + done.stderr
        assert done.returncode == pipeline_exit, done.stdout + done.stderr
        deadline = time.monotonic() + 3
        while (left := _marked_processes(marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == {}, f"processes of the demo still run: {left}"
        if pipeline_exit == 0:
            hints = done.stdout.split("where to look", 1)[1]
            assert "uv run lakehouse serve" in hints
            assert 'uv run lakehouse sql "' in hints
            assert "uv run lakehouse status" in hints
        else:
            assert "the pipeline failed" in done.stderr
            assert "'uv run lakehouse status'" in done.stderr
    finally:
        for pid in _marked_processes(marker):  # only what this test started
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_sourcing_the_demo_runs_nothing_and_stop_kills_the_server(tmp_path: Path) -> None:
    """The start/stop functions alone: the recorded pid is the server itself."""
    script = f"""
        source {DEMO}
        start_replay_server
        echo "pid=$replay_pid url=$url"
        tr '\\0' ' ' </proc/$replay_pid/cmdline; echo
        server=$replay_pid
        stop_replay_server
        if kill -0 "$server" 2>/dev/null; then echo alive; fi
    """
    marker = uuid.uuid4().hex
    env = {**os.environ, "LAKEHOUSE_LAKE_ROOT": str(tmp_path / "lake"), MARKER: marker}
    try:
        done = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("pid=") and "url=http://127.0.0.1:" in lines[0]
        assert "replay-server" in lines[1], lines  # the pid is the server, not a wrapper
        assert "alive" not in done.stdout
        assert "== " not in done.stdout  # sourcing ran none of the demo's steps
        assert _marked_processes(marker) == {}
    finally:
        for pid in _marked_processes(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
