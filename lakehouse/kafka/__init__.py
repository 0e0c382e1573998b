"""Kafka for the lakehouse: the project's own broker, or another cluster (MSK in AWS).

Every part that talks to Kafka asks :func:`bootstrap_servers` where the cluster is:
``LAKEHOUSE_KAFKA_BOOTSTRAP`` when it is set (another cluster, e.g. Amazon MSK), else the
address of the project's running local broker (``lakehouse kafka start``, see
:mod:`lakehouse.kafka.broker`), else a :class:`KafkaBrokerError` that says what to do.

The variable is read here rather than through :class:`lakehouse.settings.Settings` for now; it is
meant to become a Settings field (``kafka_bootstrap``) later, and this function the one place
that changes then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.settings import Settings

BOOTSTRAP_ENV = "LAKEHOUSE_KAFKA_BOOTSTRAP"


class KafkaBrokerError(RuntimeError):
    """A Kafka problem the user can act on; the message says what to do."""


def configured_bootstrap() -> str | None:
    """``LAKEHOUSE_KAFKA_BOOTSTRAP`` (another cluster's ``host:port[,host:port...]``), if set."""
    value = os.environ.get(BOOTSTRAP_ENV, "").strip()
    return value or None


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
    "BOOTSTRAP_ENV",
    "KafkaBrokerError",
    "bootstrap_servers",
    "configured_bootstrap",
    "ensure_bootstrap",
]
