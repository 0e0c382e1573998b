"""Geo events end to end (issue 18): the RSVP stream through a real Kafka broker, Spark
Structured Streaming, the gates and dbt, with a dropped connection and a SIGKILLed bronze job.

Nothing is faked: the session's Kafka broker (tests/conftest.py), the replay of Meetup's
``/2/rsvps`` (chunked JSON lines with re-sent RSVPs, private venues and lines that are not JSON),
and the CLI as a user types it, in subprocesses. The first connection of the stream is cut after
60 lines (the ingester resumes with ``since_mtime``), and the first ingest stops at 250 records
so the second resumes from the stored position. The bronze job runs with 100 records per
micro-batch and is killed with SIGKILL once its first batch has landed; run again, it must
neither lose nor double a record, and a third run commits nothing.

The expected figures are computed here in plain Python from the stream as the replay server
sends it (fetched separately with httpx), not from anything the pipeline wrote.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lakehouse import gold
from lakehouse.contracts import load_contract
from lakehouse.lake import Lake
from lakehouse.landing import iter_objects, read_object
from lakehouse.replay import ReplayServer
from lakehouse.replay.meetup import RsvpStream
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
LINES = 400


@dataclass
class Sent:
    """What the replay server sends, read here without the pipeline."""

    records: list[dict]
    not_json: int

    @property
    def versions(self) -> set[tuple[int, int]]:
        return {(r["rsvp_id"], r["mtime"]) for r in self.records}

    @property
    def latest(self) -> dict[int, dict]:
        newest: dict[int, dict] = {}
        for r in self.records:
            if r["rsvp_id"] not in newest or r["mtime"] > newest[r["rsvp_id"]]["mtime"]:
                newest[r["rsvp_id"]] = r
        return newest


def _sent(url: str) -> Sent:
    records, not_json = [], 0
    with httpx.stream("GET", f"{url}/2/rsvps", timeout=30) as response:
        for line in response.iter_lines():
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                not_json += 1
    return Sent(records, not_json)


def _env(root: Path, bootstrap: str, contracts: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    for other in contracts.glob("*.yml"):
        if other.name != "events.yml":
            other.unlink()
    env.update(
        {
            # Only this source: the other sources' models stay disabled, so dbt runs quickly.
            "LAKEHOUSE_CONTRACTS_DIR": str(contracts),
            "LAKEHOUSE_LAKE_ROOT": str(root / "lake"),
            "LAKEHOUSE_KAFKA_BOOTSTRAP": bootstrap,
            "LAKEHOUSE_HTTP_BACKOFF_BASE_S": "0.05",
            "LAKEHOUSE_HTTP_BACKOFF_MAX_S": "0.2",
            "LAKEHOUSE_STREAM_MAX_RECORDS_PER_BATCH": "100",
            "COLUMNS": "200",
        }
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _topic_count(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "events-e2e-count"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return high - low
    finally:
        consumer.close()


def _kafka_landed(lake: Path) -> int:
    """Landing documents written by the streaming job (transport kind kafka)."""
    return sum(
        1
        for path in iter_objects(Lake(lake), "events", "rsvps")
        if read_object(path)["envelope"].get("transport", {}).get("kind") == "kafka"
    )


def _delta(path: Path, *columns: str) -> list[tuple]:
    from deltalake import DeltaTable

    table = DeltaTable(str(path)).to_pyarrow_table(columns=list(columns))
    return list(zip(*[table.column(c).to_pylist() for c in columns], strict=True))


@pytest.fixture(scope="module")
def pipeline(kafka_broker, tmp_path_factory, own_topic_contracts):  # noqa: ANN001, ANN201
    root = tmp_path_factory.mktemp("events-e2e")
    contracts = own_topic_contracts(root / "contracts")
    topic = load_contract("events", contracts).topic
    env = _env(root, kafka_broker.bootstrap, contracts)
    lake = root / "lake"
    runs: dict[str, subprocess.CompletedProcess] = {}
    with ReplayServer(rsvps=RsvpStream(total=LINES, drop_after=60, drops=1)) as replay:
        runs["ingest-1"] = _cli(
            env, "ingest", "events", "--base-url", replay.url, "--max-records", "250"
        )
        runs["ingest-2"] = _cli(env, "ingest", "events", "--base-url", replay.url)
        requests = httpx.get(f"{replay.url}/__replay/requests").json()
        sent = _sent(replay.url)

    # Bronze, killed with SIGKILL once its first micro-batch has landed.
    proc = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.cli.app", "bronze", "events"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill reaches Spark's JVM too
    )
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline and not _kafka_landed(lake):
        time.sleep(0.2)
    killed_after = _kafka_landed(lake)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    runs["bronze-killed"] = subprocess.CompletedProcess(proc.args, proc.returncode, "", "")
    runs["bronze-2"] = _cli(env, "bronze", "events")
    runs["bronze-3"] = _cli(env, "bronze", "events")
    runs["transform"] = _cli(env, "transform")
    return {
        "env": env, "lake": lake, "runs": runs, "sent": sent, "requests": requests,
        "killed_after": killed_after, "bootstrap": kafka_broker.bootstrap, "topic": topic,
    }  # fmt: skip


def _ok(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, f"{run.args}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"


def test_ingest_produces_every_record_once_through_a_drop_and_a_restart(pipeline) -> None:  # noqa: ANN001
    _ok(pipeline["runs"]["ingest-1"])
    _ok(pipeline["runs"]["ingest-2"])
    sent: Sent = pipeline["sent"]
    assert sent.not_json == LINES // 50 and len(sent.records) == LINES - sent.not_json
    # The first connection was cut and reopened with since_mtime; the second run resumed too.
    resumed = [r for r in pipeline["requests"] if r["since_mtime"] is not None]
    assert len(resumed) >= 2, pipeline["requests"]
    # Every record produced exactly once (the replay resumes inclusively: repeats are skipped).
    assert _topic_count(pipeline["bootstrap"], pipeline["topic"]) == len(sent.records)
    # Lines that are not JSON are counted by the runs (and landed, for bronze to quarantine).
    said = "".join(pipeline["runs"][k].stderr for k in ("ingest-1", "ingest-2"))
    counted = [int(n) for n in re.findall(r"(\d+) lines? not JSON", said)]
    assert sum(counted) == sent.not_json, said[-2000:]


def test_bronze_killed_mid_run_loses_and_doubles_nothing(pipeline) -> None:  # noqa: ANN001
    killed = pipeline["runs"]["bronze-killed"]
    assert killed.returncode == -signal.SIGKILL, "the bronze job ended before it could be killed"
    assert pipeline["killed_after"] >= 1
    _ok(pipeline["runs"]["bronze-2"])
    sent: Sent = pipeline["sent"]
    rows = _delta(pipeline["lake"] / "bronze" / "events__rsvps", "rsvp_id", "mtime")
    assert len(rows) == len(set(rows)) == len(sent.versions)
    assert set(rows) == sent.versions
    # Identical rejects of one landed object are one quarantine row (keyed by object and record).
    reasons = _delta(pipeline["lake"] / "quarantine" / "events__rsvps", "reason")
    assert reasons and all(r[0].startswith("unparseable record") for r in reasons), reasons


def test_a_second_bronze_run_with_nothing_new_commits_nothing(pipeline) -> None:  # noqa: ANN001
    run = pipeline["runs"]["bronze-3"]
    _ok(run)
    assert "nothing committed" in run.stderr, run.stderr[-2000:]
    assert "(unchanged)" in run.stderr


def test_gold_holds_the_newest_version_of_each_rsvp_and_the_city_counts(pipeline) -> None:  # noqa: ANN001
    _ok(pipeline["runs"]["transform"])
    sent: Sent = pipeline["sent"]
    settings = Settings(lake_root=pipeline["lake"], _env_file=None)
    with gold.connect_published(settings) as con:
        fct = dict(con.execute("select rsvp_id, response from fct_rsvp").fetchall())
        by_city = {
            (country, city): (total, yes)
            for country, city, total, yes in con.execute(
                "select group_country, group_city, rsvp_count, yes_count from agg_rsvps_by_city"
            ).fetchall()
        }
        columns = [d[0] for d in con.execute("select * from agg_rsvps_by_city limit 0").description]
        hourly = con.execute("select sum(rsvp_count) from agg_rsvps_by_city_hourly").fetchone()[0]
        clusters = con.execute(
            "select k, count(*), sum(venue_count), sum(rsvp_count)"
            " from geo_venue_clusters group by k"
        ).fetchall()
        venues = con.execute(
            "select count(*), sum(n) from (select venue_id, count(*) as n from fct_rsvp"
            " where venue_id is not null group by venue_id)"
        ).fetchone()
    assert columns == ["group_country", "group_city", "rsvp_count", "yes_count"]
    assert fct == {i: r["response"] for i, r in sent.latest.items()}
    expected_total: Counter = Counter()
    expected_yes: Counter = Counter()
    for r in sent.latest.values():
        key = (r["group"]["group_country"], r["group"]["group_city"])
        expected_total[key] += 1
        expected_yes[key] += r["response"] == "yes"
    assert by_city == {k: (expected_total[k], expected_yes[k]) for k in expected_total}
    assert hourly == len(sent.latest)
    # One k for the run, k clusters, every public venue and its RSVPs in exactly one cluster.
    assert len(clusters) == 1 and clusters[0][1] == clusters[0][0] >= 2, clusters
    assert (clusters[0][2], clusters[0][3]) == venues
