"""Apache Kafka's jars for the project's broker: fetched once from Maven Central, then offline.

The broker runs from Apache Kafka's own jars with ``java -cp`` (no distribution tarball, no
Docker). :data:`KAFKA_VERSION` is the one place its version is written: Debezium 3.6 (the
PostgreSQL CDC connector that a later piece of issue 18 runs in Kafka Connect) is built against
Kafka 4.3, and its docs support Kafka Connect 3.1 and later, so the broker and the Connect runtime
share the 4.3 line.

``org.apache.kafka:kafka_2.13`` with its runtime dependencies, plus the SLF4J 1.x binding to
Log4j 2 that Apache's distribution ships in ``libs/`` (the Maven module leaves the binding to the
application), are resolved with Ivy, the resolver Spark itself uses (its jar comes with the
``pyspark`` wheel, so nothing else needs installing), into
``${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse}/kafka/<version>/lib/``. A manifest beside it,
``jars.txt``, is written last: its presence with every listed file means the cache is complete.
Filling happens under a file lock into a temporary folder that is renamed into place, so two
processes never see half a cache.

``python -m lakehouse.kafka.jars`` fills the cache (part of the project's setup); quick and
offline once filled. No JVM or Kafka import happens just to check the cache.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import quoteattr

KAFKA_VERSION = "4.3.1"
SCALA_VERSION = "2.13"
# The Log4j 2 that kafka-server 4.3.1 depends on; its SLF4J 1.x binding must match it.
LOG4J_VERSION = "2.25.4"

Module = tuple[str, str, str]  # (organisation, name, revision) as Maven Central names them

BROKER_MODULES: tuple[Module, ...] = (
    ("org.apache.kafka", f"kafka_{SCALA_VERSION}", KAFKA_VERSION),
    ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
)

# Kafka Connect (the worker) from the same Kafka release as the broker, and the Debezium
# PostgreSQL connector that runs in it (change data capture). Debezium resolves with its own
# copies of the Connect API and clients (same 4.3 line); the worker loads it from a plugin
# folder of its own (``plugin.path``), so those copies never meet the runtime's. The worker's
# own classpath also has Amazon MSK's IAM authentication (the SASL mechanism its Kafka clients
# use against MSK, lakehouse.kafka.client_properties); resolved together with the runtime, so
# the newest of each shared library (Jackson, SLF4J) wins, as Ivy's default conflict manager does.
DEBEZIUM_VERSION = "3.6.1.Final"
MSK_IAM_AUTH_VERSION = "2.3.5"
CONNECT_MODULES: tuple[Module, ...] = (
    ("org.apache.kafka", "connect-runtime", KAFKA_VERSION),
    ("org.apache.kafka", "connect-json", KAFKA_VERSION),
    ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ("software.amazon.msk", "aws-msk-iam-auth", MSK_IAM_AUTH_VERSION),
)
DEBEZIUM_MODULES: tuple[Module, ...] = (
    ("io.debezium", "debezium-connector-postgres", DEBEZIUM_VERSION),
)

_MANIFEST = "jars.txt"
_RESOLVE_TIMEOUT_S = 900


class KafkaJarsError(RuntimeError):
    """The jars are missing and could not be fetched; the message says what to do."""


def cache_dir() -> Path:
    """Cache of downloaded tools and jars, shared by runs and kept outside the repository."""
    return Path(os.environ.get("LAKEHOUSE_CACHE_DIR") or Path.home() / ".cache" / "lakehouse")


def kafka_home(version: str = KAFKA_VERSION) -> Path:
    """``<cache>/kafka/<version>/``: ``lib/`` (the jars) and ``jars.txt`` (the manifest)."""
    return cache_dir() / "kafka" / version


def _read_manifest(folder: Path) -> list[Path] | None:
    manifest = folder / _MANIFEST
    try:
        names = [n.strip() for n in manifest.read_text(encoding="utf-8").splitlines()]
    except OSError:
        return None
    jars = [folder / "lib" / n for n in names if n]
    if not jars or not all(j.is_file() for j in jars):
        return None
    return jars


def cached_jars(version: str = KAFKA_VERSION) -> list[Path] | None:
    """The broker's jar files when the cache holds all of them, else None (no JVM, no network)."""
    return _read_manifest(kafka_home(version))


def classpath(jars: Sequence[Path]) -> str:
    return os.pathsep.join(str(j) for j in jars)


def ivy_jar() -> Path:
    """Ivy's jar from the ``pyspark`` wheel (the resolver behind ``spark.jars.packages``)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise KafkaJarsError("pyspark is not installed; run `uv sync` first")
    found = sorted(Path(next(iter(spec.submodule_search_locations)), "jars").glob("ivy-*.jar"))
    if not found:
        raise KafkaJarsError("Ivy's jar is missing from the pyspark wheel (pyspark/jars/ivy-*.jar)")
    return found[-1]


def _ivy_file(modules: Sequence[Module]) -> str:
    deps = "\n".join(
        f"    <dependency org={quoteattr(o)} name={quoteattr(n)} rev={quoteattr(r)} "
        'conf="default->default"/>'
        for o, n, r in modules
    )
    return (
        '<ivy-module version="2.0">\n'
        '  <info organisation="lakehouse" module="kafka-jars"/>\n'
        '  <configurations><conf name="default"/></configurations>\n'
        f"  <dependencies>\n{deps}\n  </dependencies>\n"
        "</ivy-module>\n"
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resolve(modules: Sequence[Module], folder: Path, *, java: str = "java") -> list[Path]:
    """Resolve ``modules`` and their runtime dependencies from Maven Central into ``folder``.

    ``folder/lib/`` gets the jar files and ``folder/jars.txt`` lists them. An already complete
    folder is returned as is. Also meant for the later Kafka Connect and Debezium jars.
    """
    done = _read_manifest(folder)
    if done:
        return done
    with _locked(folder.parent / f".{folder.name}.lock"):
        done = _read_manifest(folder)  # another process may have filled it meanwhile
        if done:
            return done
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            (work / "ivy.xml").write_text(_ivy_file(modules), encoding="utf-8")
            cmd = [
                java,
                "-jar",
                str(ivy_jar()),
                "-ivy",
                str(work / "ivy.xml"),
                "-confs",
                "default",
                # Ivy's own resolution cache, shared by every resolve of this project.
                "-cache",
                str(cache_dir() / "kafka" / "ivy-cache"),
                "-retrieve",
                str(work / "lib" / "[artifact]-[revision](-[classifier]).[ext]"),
            ]
            try:
                result = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=_RESOLVE_TIMEOUT_S
                )
            except FileNotFoundError:
                raise KafkaJarsError("java was not found; Kafka needs Java 17 or newer") from None
            except subprocess.TimeoutExpired:
                raise KafkaJarsError(
                    f"resolving Kafka's jars took longer than {_RESOLVE_TIMEOUT_S} s"
                ) from None
            jars = sorted((work / "lib").glob("*.jar")) if (work / "lib").is_dir() else []
            if result.returncode != 0 or not jars:
                raise KafkaJarsError(
                    "could not fetch Kafka's jars from Maven Central (Ivy exit "
                    f"{result.returncode}):\n{(result.stdout + result.stderr).strip()[-2000:]}"
                )
            (work / _MANIFEST).write_text("\n".join(j.name for j in jars) + "\n", encoding="utf-8")
            (work / "ivy.xml").unlink()
            if folder.exists():  # an incomplete earlier attempt
                shutil.rmtree(folder)
            os.replace(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    jars = _read_manifest(folder)
    if not jars:
        raise KafkaJarsError(f"the jar cache {folder} is incomplete after resolving")
    return jars


def ensure_jars(version: str = KAFKA_VERSION) -> list[Path]:
    """The broker's jars, fetched once (the only step that needs the network)."""
    if version != KAFKA_VERSION:
        raise KafkaJarsError(f"only Kafka {KAFKA_VERSION} is configured, not {version}")
    return resolve(BROKER_MODULES, kafka_home(version))


def connect_home() -> Path:
    """``<cache>/kafka-connect/<kafka>-msk-iam-<version>/``: the Connect worker's jars (``lib/``,
    ``jars.txt``); named by both versions, so a cache of an earlier module list is not taken."""
    return cache_dir() / "kafka-connect" / f"{KAFKA_VERSION}-msk-iam-{MSK_IAM_AUTH_VERSION}"


def debezium_home() -> Path:
    """``<cache>/debezium/<version>/``: the connector's jars; the worker's ``plugin.path``."""
    return cache_dir() / "debezium" / DEBEZIUM_VERSION


def ensure_connect_jars() -> tuple[list[Path], Path]:
    """The Connect worker's jars and Debezium's plugin folder, fetched once."""
    jars = resolve(CONNECT_MODULES, connect_home())
    resolve(DEBEZIUM_MODULES, debezium_home())
    return jars, debezium_home()


def require_connect_jars() -> tuple[list[Path], Path]:
    """Like :func:`ensure_connect_jars`, from the cache only (never the network)."""
    jars = _read_manifest(connect_home())
    if jars is None or _read_manifest(debezium_home()) is None:
        raise KafkaJarsError(
            f"Kafka Connect {KAFKA_VERSION} and Debezium {DEBEZIUM_VERSION} are not cached in "
            f"{cache_dir()}; fetch them once with `python -m lakehouse.kafka.jars` "
            "(part of `make setup`)"
        )
    return jars, debezium_home()


def require_jars() -> list[Path]:
    """The broker's jars from the cache, never the network (what ``lakehouse kafka start`` uses)."""
    jars = cached_jars()
    if jars is None:
        raise KafkaJarsError(
            f"Kafka {KAFKA_VERSION}'s jars are not cached in {kafka_home()}; fetch them once with "
            "`python -m lakehouse.kafka.jars` (part of `make setup`)"
        )
    return jars


def main(argv: Sequence[str] | None = None) -> int:
    """Fill the cache once (broker, Connect, Debezium); quick and offline when already filled.

    ``--connect-only``: Kafka Connect and Debezium alone (the image: its Kafka is MSK's).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    broker = (
        [] if "--connect-only" in args else [(f"Kafka {KAFKA_VERSION}", kafka_home(), ensure_jars)]
    )
    for label, home, fill in (
        *broker,
        (
            f"Kafka Connect {KAFKA_VERSION}",
            connect_home(),
            lambda: resolve(CONNECT_MODULES, connect_home()),
        ),
        (
            f"Debezium {DEBEZIUM_VERSION}",
            debezium_home(),
            lambda: resolve(DEBEZIUM_MODULES, debezium_home()),
        ),
    ):
        jars = _read_manifest(home)
        if jars:
            print(f"kafka jars: cached ({label}, {len(jars)} jar files)")
            continue
        print(f"kafka jars: resolving {label} from Maven Central into {home}")
        started = time.monotonic()
        try:
            jars = fill()
        except KafkaJarsError as exc:
            print(f"kafka jars: {exc}", file=sys.stderr)
            return 1
        print(f"kafka jars: cached {len(jars)} jar files in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
