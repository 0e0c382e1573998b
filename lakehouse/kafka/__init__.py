"""Kafka for the lakehouse: the project's own broker, or another cluster (MSK in AWS).

Every part that talks to Kafka asks :func:`bootstrap_servers` where the cluster is:
``LAKEHOUSE_KAFKA_BOOTSTRAP`` when it is set (another cluster, e.g. Amazon MSK), else the
address of the project's running local broker (``lakehouse kafka start``, see
:mod:`lakehouse.kafka.broker`), else a :class:`KafkaBrokerError` that says what to do.

How Java clients (Kafka Connect) authenticate is :func:`client_properties`, from
``LAKEHOUSE_KAFKA_AUTH``: ``none`` (the default: the local broker's plaintext listener) or
``iam`` (Amazon MSK with IAM access control: TLS and the ``AWS_MSK_IAM`` SASL mechanism of
``software.amazon.msk:aws-msk-iam-auth``, credentials from the AWS SDK's default chain, e.g. an
ECS task role).

The variables are read here rather than through :class:`lakehouse.settings.Settings` for now;
they are meant to become Settings fields (``kafka_bootstrap``, ``kafka_auth``) later, and these
functions the one place that changes then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.settings import Settings

BOOTSTRAP_ENV = "LAKEHOUSE_KAFKA_BOOTSTRAP"
AUTH_ENV = "LAKEHOUSE_KAFKA_AUTH"
AUTH_MODES = ("none", "iam")

# Amazon MSK's IAM access control for Java clients (aws-msk-iam-auth, on the worker's classpath).
_MSK_IAM = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "AWS_MSK_IAM",
    "sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
    "sasl.client.callback.handler.class": ("software.amazon.msk.auth.iam.IAMClientCallbackHandler"),
}


class KafkaBrokerError(RuntimeError):
    """A Kafka problem the user can act on; the message says what to do."""


def configured_bootstrap() -> str | None:
    """``LAKEHOUSE_KAFKA_BOOTSTRAP`` (another cluster's ``host:port[,host:port...]``), if set."""
    value = os.environ.get(BOOTSTRAP_ENV, "").strip()
    return value or None


def auth_mode() -> str:
    """``LAKEHOUSE_KAFKA_AUTH``: ``none`` (default) or ``iam``; anything else is an error."""
    value = os.environ.get(AUTH_ENV, "").strip().lower() or "none"
    if value not in AUTH_MODES:
        raise KafkaBrokerError(
            f"{AUTH_ENV}={value!r} is not one of {', '.join(AUTH_MODES)} "
            "(iam: Amazon MSK with IAM access control)"
        )
    return value


def client_properties() -> dict[str, str]:
    """Security properties of a Java Kafka client for :func:`auth_mode` (empty for ``none``)."""
    return dict(_MSK_IAM) if auth_mode() == "iam" else {}


def bootstrap_servers(settings: Settings) -> str:
    """Where Kafka clients connect: the configured cluster, else the running local broker."""
    configured = configured_bootstrap()
    if configured:
        return configured
    from lakehouse.kafka.broker import LocalBroker

    status = LocalBroker(settings).status()
    if status.running and status.bootstrap:
        return status.bootstrap
    raise KafkaBrokerError(
        f"no Kafka broker: run `lakehouse kafka start` or set {BOOTSTRAP_ENV} "
        f"(local broker folder {status.directory})"
    )


def ensure_bootstrap(settings: Settings) -> str:
    """Like :func:`bootstrap_servers`, but starts the project's local broker when none runs.

    Used by the steps that need Kafka (a stream produced to a topic, the streaming bronze job)
    so that ``lakehouse run`` works on a fresh checkout; the broker keeps running afterwards
    (``lakehouse kafka stop``). With ``LAKEHOUSE_KAFKA_BOOTSTRAP`` set nothing is started.
    """
    try:
        return bootstrap_servers(settings)
    except KafkaBrokerError:
        pass
    from lakehouse.kafka.broker import LocalBroker
    from lakehouse.log import get_logger, log_event

    status = LocalBroker(settings).start()
    log_event(
        get_logger("kafka"),
        "kafka.broker_started",
        bootstrap=status.bootstrap,
        folder=str(status.directory),
    )
    if not status.bootstrap:
        raise KafkaBrokerError(f"the local broker did not start (log {status.log_file})")
    return status.bootstrap


__all__ = [
    "AUTH_ENV",
    "BOOTSTRAP_ENV",
    "KafkaBrokerError",
    "auth_mode",
    "bootstrap_servers",
    "client_properties",
    "configured_bootstrap",
    "ensure_bootstrap",
]
