"""The project's Prefect deployments on a real Prefect server, run by a real process worker.

Nothing is faked: a ``prefect server start`` on a free port with its own SQLite database, the
deployments created by ``prefect --no-prompt deploy`` from ``prefect.yaml``, a ``prefect worker``
of the local process pool, the replay server standing in for Open-Meteo, and a small HTTP
server in this module receiving the alert webhook. One server, worker and successful pipeline
run are shared by the tests of this module (module fixtures) to keep the suite lean.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

# Server start, deploy and three pipeline runs share the module; on a loaded 2-core machine
# that takes longer than the suite's per-test default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "lakehouse-local"
ECS_POOL = "lakehouse-ecs"
# Given to the flow runs so the test can check that no alert ever carries it.
WAREHOUSE_PASSWORD = "e2e-warehouse-password-7f3a"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# What `terraform output` of an env root would give, exported as prefect.yaml expects them.
ECS_OUTPUTS = {
    "LAKEHOUSE_ECS_CLUSTER": "lakehouse-dev",
    "LAKEHOUSE_ECS_IMAGE": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lakehouse:test",
    "LAKEHOUSE_ECS_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/lakehouse-dev-flow-run",
    "LAKEHOUSE_ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/lakehouse-dev-exec",
    "LAKEHOUSE_ECS_VPC_ID": "vpc-0123456789abcdef0",
    "LAKEHOUSE_ECS_SUBNET_ID": "subnet-0123456789abcdef0",
    "LAKEHOUSE_ECS_SECURITY_GROUP_ID": "sg-0123456789abcdef0",
    "LAKEHOUSE_ENV": "dev",
    "AWS_REGION": "eu-west-1",
    "LAKEHOUSE_ALERTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:lakehouse-dev-alerts",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebhookReceiver:
    """A local alert webhook: records every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.messages.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/alerts"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Stack:
    """The running server, worker and helpers of this module."""

    api_url: str
    env: dict[str, str]
    lake_root: Path
    replay: Any
    receiver: WebhookReceiver
    logs: Path
    runs: dict[str, Any] = field(default_factory=dict)

    def prefect(
        self, *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``prefect`` CLI against this module's server, from the project root."""
        result = subprocess.run(
            [PREFECT, *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, (
            f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def client(self):
        from prefect.client.orchestration import PrefectClient

        return PrefectClient(api=self.api_url)

    def run_deployment(self, name: str, timeout: float = 900, **parameters: Any) -> Any:
        """Create a run of ``flow/deployment`` on the server and wait for its final state."""

        async def go() -> Any:
            async with self.client() as client:
                deployment = await client.read_deployment_by_name(name)
                run = await client.create_flow_run_from_deployment(
                    deployment.id, parameters=parameters or None
                )
                return await self.wait(client, run.id, timeout)

        return asyncio.run(go())

    async def wait(self, client: Any, run_id: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = await client.read_flow_run(run_id)
            if run.state and run.state.type.value in FINAL:
                return run
            await asyncio.sleep(2)
        raise AssertionError(f"flow run {run_id} not finished after {timeout}s; {self.tail()}")

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-4000:]
            for p in self.logs.glob("*.log")
        )


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"prefect server at {url} not healthy after {timeout}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, kafka_broker: Any) -> Iterator[Stack]:
    """A real Prefect server with the project's deployments and a process worker; every
    registered source reaches a stand-in (the replay server, the session's Kafka broker)."""
    from lakehouse.replay import ReplayServer

    base = tmp_path_factory.mktemp("prefect-e2e")
    logs = base / "logs"
    logs.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    # The session fixture exported the harness server's URL; this module's subprocesses must
    # talk to their own server instead, with their own home and database.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LAKEHOUSE_"))}
    env.update(
        PREFECT_HOME=str(base / "prefect-home"),
        PREFECT_API_URL=api_url,
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{base / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        # Schedules are checked as stored on the server; the scheduler service would also
        # create runs at the next */20 minute mark, which would race the runs under test.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    lake_root = base / "lake"
    with ReplayServer() as replay, WebhookReceiver() as receiver:
        server_log = open(logs / "server.log", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=base,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        worker = None
        worker_log = open(logs / "worker.log", "w")  # noqa: SIM115
        try:
            _wait_healthy(api_url, server)
            s = Stack(api_url, env, lake_root, replay, receiver, logs)
            s.prefect("work-pool", "create", POOL, "--type", "process")
            # The ECS pool exists so `deploy --all` is tested exactly as the README gives it;
            # its values stand in for the Terraform outputs, and no ECS worker runs here.
            s.prefect("work-pool", "create", ECS_POOL, "--type", "ecs")
            s.runs["deploy"] = s.prefect(
                "--no-prompt", "deploy", "--all", env={**env, **ECS_OUTPUTS}
            )
            worker_env = {
                **env,
                "LAKEHOUSE_PROJECT_DIR": str(ROOT),
                "LAKEHOUSE_LAKE_ROOT": str(lake_root),
                # The older name of LAKEHOUSE_WEATHER_BASE_URL: it keeps working.
                "LAKEHOUSE_OPENMETEO_URL": replay.url,
                "LAKEHOUSE_FLIGHTS_BASE_URL": replay.url,
                "LAKEHOUSE_EVENTS_BASE_URL": replay.url,
                "LAKEHOUSE_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
                "LAKEHOUSE_FLIGHTS_CLIENT_ID": "replay-client-id",
                "LAKEHOUSE_FLIGHTS_CLIENT_SECRET": "replay-client-secret",
                "LAKEHOUSE_ALERT_WEBHOOK_URL": receiver.url,
                "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1g",
                "LAKEHOUSE_WAREHOUSE_PASSWORD": WAREHOUSE_PASSWORD,
            }
            worker = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", POOL, "--type", "process"],
                cwd=base,
                env=worker_env,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
            yield s
        finally:
            if worker is not None:
                _stop(worker)
            _stop(server)
            server_log.close()
            worker_log.close()


def test_deployments_and_schedules_are_on_the_server(stack: Stack) -> None:
    async def read() -> dict[str, Any]:
        async with stack.client() as client:
            return {
                name: await client.read_deployment_by_name(name)
                for name in ("weather-ingest/weather-ingest", "daily-refresh/daily-refresh")
            }

    deployments = asyncio.run(read())
    weather, daily = (
        deployments["weather-ingest/weather-ingest"],
        deployments["daily-refresh/daily-refresh"],
    )
    assert weather.entrypoint == "flows/ingest.py:weather_ingest"  # the generic ingest flow
    assert set(weather.parameter_openapi_schema["properties"]) >= {"start_date", "base_url"}
    for deployment, cron in ((weather, "*/20 * * * *"), (daily, "0 7 * * *")):
        assert deployment.work_pool_name == POOL
        assert deployment.entrypoint.startswith("flows/")
        [schedule] = deployment.schedules
        assert schedule.active
        assert schedule.schedule.cron == cron
        assert schedule.schedule.timezone == "UTC"
        assert deployment.pull_steps == [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $LAKEHOUSE_PROJECT_DIR }}"
                }
            }
        ]
    assert daily.global_concurrency_limit.limit == 1
    assert daily.parameter_openapi_schema["properties"]["start_date"]
    assert daily.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert weather.global_concurrency_limit.limit == 1
    assert weather.concurrency_options.collision_strategy.value == "ENQUEUE"


def _landed(lake_root: Path) -> list[Path]:
    return sorted((lake_root / "landing" / "weather").rglob("*.json.gz"))


def test_weather_ingest_runs_to_completed_through_the_worker(stack: Stack) -> None:
    before = len(stack.replay.requests)
    run = stack.run_deployment("weather-ingest/weather-ingest")
    assert run.state.type.value == "COMPLETED", f"{run.state}\n{stack.tail()}"
    assert len(stack.replay.requests) > before  # the worker's run really called the replay API
    assert _landed(stack.lake_root)


def test_ecs_deployments_point_at_the_terraform_cluster(stack: Stack) -> None:
    async def read() -> list[Any]:
        async with stack.client() as client:
            return [
                await client.read_deployment_by_name(name)
                for name in ("weather-ingest/weather-ingest-ecs", "daily-refresh/daily-refresh-ecs")
            ]

    for deployment in asyncio.run(read()):
        assert deployment.work_pool_name == ECS_POOL
        variables = deployment.job_variables
        assert variables["cluster"] == ECS_OUTPUTS["LAKEHOUSE_ECS_CLUSTER"]
        assert variables["task_role_arn"] == ECS_OUTPUTS["LAKEHOUSE_ECS_TASK_ROLE_ARN"]
        assert variables["network_configuration"]["subnets"] == [
            ECS_OUTPUTS["LAKEHOUSE_ECS_SUBNET_ID"]
        ]
        assert variables["env"]["LAKEHOUSE_PROFILE"] == "aws"
        assert variables["env"]["LAKEHOUSE_ALERTS_TOPIC_ARN"].startswith("arn:aws:sns:")


def _gold(stack: Stack) -> dict[str, Any]:
    """The published gold's pointer and the daily weather mart, as the analysts see it."""
    from lakehouse import gold
    from lakehouse.settings import Settings

    settings = Settings(lake_root=stack.lake_root, _env_file=None)
    _, rows = gold.query(
        settings,
        "select city, local_date, observation_count, avg_temperature_c "
        "from agg_weather_daily order by city, local_date",
    )
    return {"build_id": gold.published_pointer(settings)["build_id"], "daily": rows}


@pytest.fixture(scope="module")
def refreshed(stack: Stack) -> dict[str, Any]:
    """Two daily-refresh runs created at once: one completes, the other never overlaps it."""

    async def go() -> list[Any]:
        async with stack.client() as client:
            deployment = await client.read_deployment_by_name("daily-refresh/daily-refresh")
            first = await client.create_flow_run_from_deployment(deployment.id)
            second = await client.create_flow_run_from_deployment(deployment.id)
            return [await stack.wait(client, run.id, 1500) for run in (first, second)]

    runs = asyncio.run(go())
    return {"runs": runs, "gold": _gold(stack)}


def test_daily_refresh_completes_and_gold_has_every_city(
    stack: Stack, refreshed: dict[str, Any]
) -> None:
    states = sorted(run.state.type.value for run in refreshed["runs"])
    # CANCEL_NEW: the run that found the slot taken was cancelled, not run alongside.
    assert states == ["CANCELLED", "COMPLETED"], f"{states}\n{stack.tail()}"
    daily = refreshed["gold"]["daily"]
    from lakehouse.contracts import load_contract

    cities = load_contract("weather").targets
    assert {row[0] for row in daily} in ({c["name"] for c in cities}, {c["id"] for c in cities})
    assert all(row[2] > 0 for row in daily)
    assert stack.receiver.messages == []  # nothing failed, nothing alerted


def test_failed_gate_fails_the_run_alerts_and_keeps_gold(
    stack: Stack, refreshed: dict[str, Any]
) -> None:
    from lakehouse.replay import Fault

    stack.replay.set_faults([Fault("san_francisco", "impossible_temperature")])
    try:
        run = stack.run_deployment("daily-refresh/daily-refresh", timeout=1500)
    finally:
        stack.replay.set_faults([])
    assert run.state.type.value == "FAILED", f"{run.state}\n{stack.tail()}"
    [alert] = [m for m in stack.receiver.messages if m.get("run_id") == str(run.id)]
    assert alert["flow"] == "daily-refresh"
    assert alert["step"] == "gate:bronze"
    assert "bronze gate failed" in alert["reason"]
    assert WAREHOUSE_PASSWORD not in json.dumps(alert)
    # Write-audit-publish: analysts still see exactly the build of the good run.
    assert _gold(stack) == refreshed["gold"]
