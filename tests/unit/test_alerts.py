"""Alerts: payload, redaction and delivery to a real local webhook and to SNS.

The webhook is a real HTTP server on loopback. SNS is moto's in-process AWS (the only fake here),
with an SQS queue subscribed to the topic so the test reads what SNS would deliver.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from lakehouse.alerts import AlertEvent, StepFailed, event_from_exception, notify, scrub_text
from lakehouse.settings import Settings


@pytest.fixture
def receiver():
    messages: list[dict[str, Any]] = []
    statuses = [204]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            if status < 300:
                messages.append(json.loads(body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield f"http://{host}:{port}/hook", messages, statuses
    httpd.shutdown()
    httpd.server_close()


def test_webhook_receives_step_and_reason_without_secrets(settings: Settings, receiver) -> None:
    url, messages, _ = receiver
    settings = settings.model_copy(
        update={"alert_webhook_url": url, "warehouse_password": SecretStr("hunter2-secret")}
    )
    event = AlertEvent(
        flow="daily-refresh",
        step="gate",
        source="weather",
        run_id="run-1",
        reason="bronze.weather__hourly: quarantine rate 0.25 > 0.05; "
        "dsn=postgresql://lakehouse:hunter2-secret@db/x api_key=abc123",
        details={"password": "p", "rows": 3},
    )
    assert notify(settings, event) == ["webhook"]
    [message] = messages
    assert message["flow"] == "daily-refresh"
    assert message["step"] == "gate"
    assert message["source"] == "weather"
    assert message["run_id"] == "run-1"
    assert "quarantine rate 0.25" in message["reason"]
    assert "step gate (weather) failed" in message["summary"]
    text = json.dumps(message)
    assert "hunter2" not in text and "abc123" not in text
    assert message["details"] == {"password": "***", "rows": 3}


def test_webhook_retries_a_failing_receiver_and_never_raises(settings: Settings, receiver) -> None:
    url, messages, statuses = receiver
    statuses[:] = [503, 204]
    settings = settings.model_copy(update={"alert_webhook_url": url})
    assert notify(settings, AlertEvent(flow="f", step="s", reason="r")) == ["webhook"]
    assert len(messages) == 1

    dead = settings.model_copy(update={"alert_webhook_url": "http://127.0.0.1:9/none"})
    assert notify(dead, AlertEvent(flow="f", step="s", reason="r")) == []


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("GET /v1/forecast?apikey=XYZ987&city=sf", "XYZ987"),
        ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("connect postgresql://user:pa55word@host:5432/db", "pa55word"),
        ("password=topsecret failed", "topsecret"),
    ],
)
def test_scrub_text_removes_secret_values(text: str, leaked: str) -> None:
    scrubbed = scrub_text(text)
    assert leaked not in scrubbed
    assert "***" in scrubbed


def test_event_from_step_failed_keeps_step_and_source() -> None:
    event = event_from_exception("daily-refresh", StepFailed("bronze", "weather", "Spark died"))
    assert (event.step, event.source, event.reason) == ("bronze", "weather", "Spark died")


def test_event_from_state_message_recovers_the_step() -> None:
    message = (
        "Flow run encountered an exception: StepFailed: step gate for source weather failed: "
        "suite bronze.weather__hourly failed"
    )
    event = event_from_exception("daily-refresh", None, message=message)
    assert (event.step, event.source) == ("gate", "weather")
    assert event.reason == "suite bronze.weather__hourly failed"


def test_event_from_other_exception_names_the_flow() -> None:
    event = event_from_exception("weather-ingest", ValueError("bad city"))
    assert event.step == "weather-ingest"
    assert event.reason == "ValueError: bad city"


def test_sns_receives_the_same_message(settings: Settings, monkeypatch) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="lakehouse-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        settings = settings.model_copy(
            update={"alerts_topic_arn": topic, "aws_region": "eu-west-1"}
        )
        event = AlertEvent(flow="daily-refresh", step="transform", reason="token=abc dbt failed")
        assert notify(settings, event) == ["sns"]
        [received] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        envelope = json.loads(received["Body"])
        assert envelope["Subject"] == "lakehouse daily-refresh failed at transform"
        message = json.loads(envelope["Message"])
        assert message["step"] == "transform"
        assert "abc" not in message["reason"]


def test_failure_hook_alerts_for_a_top_level_run_only(receiver, monkeypatch) -> None:
    """A failed subflow stays quiet: the flow that called it fails too and alerts once."""
    from types import SimpleNamespace

    from lakehouse.alerts import on_flow_failure

    url, messages, _ = receiver
    monkeypatch.setenv("LAKEHOUSE_ALERT_WEBHOOK_URL", url)
    flow = SimpleNamespace(name="weather-ingest")
    state = SimpleNamespace(
        message="Flow run failed: san_diego: HTTP 500", type="FAILED", result=lambda **_: None
    )
    sub = SimpleNamespace(id="sub-run", deployment_id=None, parent_task_run_id="task-1")
    on_flow_failure(flow, sub, state)
    assert messages == []
    top = SimpleNamespace(id="top-run", deployment_id=None, parent_task_run_id=None)
    on_flow_failure(flow, top, state)
    [message] = messages
    assert message["flow"] == "weather-ingest" and message["run_id"] == "top-run"
    assert "san_diego" in message["reason"]
