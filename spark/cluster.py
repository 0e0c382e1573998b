"""A Spark standalone cluster on this machine: one master and N workers, from pyspark's scripts.

The scale-out stand-in for EMR Serverless: the same ``spark-submit`` command and artifacts
(:mod:`lakehouse.package`) run on it, with executors in separate JVMs and Python workers that
import the job from the shipped archives, not from this checkout. Each daemon is started with
pyspark's own launcher (``bin/spark-class``), sized small (one core and ``worker_memory`` each),
bound to loopback, and stopped by its process id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class StandaloneCluster:
    """A master and ``workers`` workers under ``directory`` (logs and work folders)."""

    directory: Path
    workers: int = 2
    worker_memory: str = "1g"
    env: dict[str, str] = field(default_factory=dict)
    master_url: str = ""
    ui_url: str = ""
    _processes: list[subprocess.Popen] = field(default_factory=list)

    def worker_dir(self, index: int) -> Path:
        return self.directory / f"worker-{index}"

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        env = {
            **os.environ,
            **self.env,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            # The daemons are small; the executors get their own memory from the submit.
            "SPARK_DAEMON_MEMORY": "256m",
        }
        self._processes.append(
            subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        )

    def start(self, timeout_s: float = 180) -> StandaloneCluster:
        """Start the master and workers; return once every worker registered."""
        self.directory.mkdir(parents=True, exist_ok=True)
        port, ui = _free_port(), _free_port()
        self.master_url = f"spark://127.0.0.1:{port}"
        self.ui_url = f"http://127.0.0.1:{ui}"
        self._start(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
        )
        for index in range(self.workers):
            self.worker_dir(index).mkdir(parents=True, exist_ok=True)
            self._start(
                f"worker-{index}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    self.master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    self.worker_memory,
                    "--webui-port",
                    str(_free_port()),
                    "--work-dir",
                    str(self.worker_dir(index)),
                ],
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.alive_workers()) >= self.workers:
                return self
            if any(p.poll() is not None for p in self._processes):
                break
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"the standalone cluster did not start; see {self.directory}/*.log")

    def state(self) -> dict:
        """The master's JSON status (workers, applications)."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as reply:  # noqa: S310
            return json.load(reply)

    def alive_workers(self) -> list[dict]:
        try:
            return [w for w in self.state().get("workers", []) if w.get("state") == "ALIVE"]
        except OSError:
            return []

    def executors_by_worker(self, app_id: str) -> dict[int, list[str]]:
        """Executor ids each worker launched for ``app_id`` (its work folder's sub-folders)."""
        out = {}
        for index in range(self.workers):
            app_dir = self.worker_dir(index) / app_id
            out[index] = sorted(p.name for p in app_dir.iterdir()) if app_dir.is_dir() else []
        return out

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self._processes.clear()

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
