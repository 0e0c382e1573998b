"""`lakehouse kafka`: the project's own Kafka broker (KRaft, one node) and its topics."""

from __future__ import annotations

from typing import Annotated

import typer

kafka_app = typer.Typer(
    name="kafka",
    help="Run the local Kafka broker (or use LAKEHOUSE_KAFKA_BOOTSTRAP's cluster) and its topics.",
    no_args_is_help=True,
)
topics_app = typer.Typer(name="topics", help="Create and list topics.", no_args_is_help=True)
kafka_app.add_typer(topics_app, name="topics")


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.add_typer(kafka_app, name="kafka")


def _settings():
    from lakehouse.settings import get_settings

    return get_settings()


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@kafka_app.command(
    "start",
    epilog="Example: lakehouse kafka start   (then: lakehouse kafka topics create <topic>)",
)
def start() -> None:
    """Start the broker in <lake>/_state/kafka (created on first use); a running one is kept.

    Prints the bootstrap address. With LAKEHOUSE_KAFKA_BOOTSTRAP set, every part uses that
    cluster instead and nothing is started.
    """
    from lakehouse.kafka import BOOTSTRAP_ENV, KafkaBrokerError, configured_bootstrap
    from lakehouse.kafka.broker import LocalBroker

    configured = configured_bootstrap()
    if configured:
        typer.echo(f"{BOOTSTRAP_ENV} is set: using Kafka at {configured}; no local broker started")
        return
    try:
        status = LocalBroker(_settings()).start()
    except KafkaBrokerError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"kafka running on {status.bootstrap} (Kafka {status.version}, KRaft, pid {status.pid})\n"
        f"  folder: {status.directory}\n  log:    {status.log_file}"
    )


@kafka_app.command("stop", epilog="Example: lakehouse kafka stop")
def stop() -> None:
    """Stop the broker if it runs (SIGTERM, then SIGKILL after a minute); its data stays."""
    from lakehouse.kafka import KafkaBrokerError
    from lakehouse.kafka.broker import LocalBroker

    try:
        was_running = LocalBroker(_settings()).stop()
    except KafkaBrokerError as exc:
        raise _fail(exc) from None
    typer.echo("kafka stopped" if was_running else "kafka was not running")


@kafka_app.command("status", epilog="Example: lakehouse kafka status")
def status() -> None:
    """Say whether the broker runs and where.

    Exits 0 when it runs (or LAKEHOUSE_KAFKA_BOOTSTRAP names a cluster), 3 when it does not.
    """
    from lakehouse.kafka import BOOTSTRAP_ENV, configured_bootstrap
    from lakehouse.kafka.broker import LocalBroker

    configured = configured_bootstrap()
    current = LocalBroker(_settings()).status()
    if configured:
        typer.echo(f"using Kafka at {configured} ({BOOTSTRAP_ENV})")
        local = f"running on {current.bootstrap}" if current.running else "not running"
        typer.echo(f"  local broker: {local}; folder {current.directory}")
        return
    if not current.running:
        where = "stopped" if current.formatted else "not created yet"
        typer.echo(f"kafka not running ({where}); folder {current.directory}")
        raise typer.Exit(3)
    typer.echo(
        f"kafka running on {current.bootstrap} (pid {current.pid}, Kafka {current.version}, "
        f"cluster {current.cluster_id})\n"
        f"  folder: {current.directory}\n  log:    {current.log_file}"
    )


@topics_app.command(
    "create",
    epilog="Example: lakehouse kafka topics create <source>.<entity> --partitions 3",
)
def topics_create(
    name: Annotated[str, typer.Argument(help="Topic name, <source>.<entity> by convention.")],
    partitions: Annotated[int, typer.Option(min=1, help="Number of partitions.")] = 1,
    replication_factor: Annotated[
        int,
        typer.Option(help="Replicas per partition; -1 takes the cluster's default (1 locally)."),
    ] = -1,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", help="Topic setting KEY=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Create a topic (topics are never created implicitly); an existing one is left as is."""
    from lakehouse.kafka import KafkaBrokerError, bootstrap_servers
    from lakehouse.kafka.broker import create_topic

    settings = dict(item.split("=", 1) for item in config or [] if "=" in item)
    if config and len(settings) != len(config):
        raise _fail(ValueError("--config takes KEY=VALUE"))
    try:
        bootstrap = bootstrap_servers(_settings())
        created = create_topic(
            bootstrap,
            name,
            partitions=partitions,
            replication_factor=replication_factor,
            config=settings,
        )
    except KafkaBrokerError as exc:
        raise _fail(exc) from None
    if created:
        typer.echo(f"topic {name} created ({partitions} partitions) on {bootstrap}")
    else:
        typer.echo(f"topic {name} already exists on {bootstrap}")


@topics_app.command("list", epilog="Example: lakehouse kafka topics list")
def topics_list() -> None:
    """List topics with their partition counts (internal ones left out)."""
    from lakehouse.kafka import KafkaBrokerError, bootstrap_servers
    from lakehouse.kafka.broker import list_topics

    try:
        topics = list_topics(bootstrap_servers(_settings()))
    except KafkaBrokerError as exc:
        raise _fail(exc) from None
    for name, count in topics.items():
        typer.echo(f"{name}\t{count}")
