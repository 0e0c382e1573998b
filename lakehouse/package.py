"""The bronze job's artifacts for ``spark-submit``: code archive, entry point, dependency archive.

EMR Serverless (and any Spark cluster) runs the job from three files, built here from this
checkout and ``uv.lock``:

- ``lakehouse_src.zip``: the project's packages (``lakehouse``, ``spark``, ``expectations``)
  with the contracts, for ``--py-files``;
- ``landing_to_bronze.py``: the entry point, ``spark/landing_to_bronze.py`` as is;
- ``pyspark_venv.tar.gz``: a relocatable virtualenv holding the job's libraries at the versions
  of ``uv.lock`` (pyspark excluded: the cluster brings its own), for
  ``--archives ...#environment``; executors run ``./environment/bin/python``.

:func:`submit_args` renders the one ``spark-submit`` argument list used for every cluster:
EMR Serverless's ``sparkSubmitParameters`` and the standalone cluster of the tests differ only in
the master and in where the Delta jars are (EMR ships them under ``/usr/share/aws/delta/lib``).

The virtualenv holds native wheels for the platform it is built on; for EMR it must be built on
the EMR release's OS (Amazon Linux 2023, x86_64 or arm64 as the application). The project's
image (``Dockerfile``) is Debian, so it is not that place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.settings import Settings

#: Packages of the code archive.
CODE_PACKAGES = ("lakehouse", "spark", "expectations")

#: What the job imports beyond pyspark (driver and executors), resolved within ``uv.lock``.
JOB_REQUIREMENTS = (
    "pyyaml",
    "pydantic",
    "pydantic-settings",
    "pyarrow",
    "pandas",
    "deltalake",
    "universal-pathlib",
    "s3fs",
    "boto3",
)

CODE_ARCHIVE = "lakehouse_src.zip"
ENTRY_POINT = "landing_to_bronze.py"
ENV_ARCHIVE = "pyspark_venv.tar.gz"
ENV_ALIAS = "environment"

#: Delta's jars on EMR 7.x (the release pins them; nothing is downloaded at submit time).
EMR_DELTA_JARS = (
    "/usr/share/aws/delta/lib/delta-spark.jar",
    "/usr/share/aws/delta/lib/delta-storage.jar",
)


class PackageError(RuntimeError):
    """The artifacts could not be built; the message says what failed."""


@dataclass(frozen=True)
class Package:
    """Paths of the built artifacts."""

    code: Path
    entry_point: Path
    environment: Path | None

    def files(self) -> list[Path]:
        return [p for p in (self.code, self.entry_point, self.environment) if p is not None]


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def build_code_archive(out: Path, root: Path | None = None) -> Path:
    """Zip the project's packages (sources and data files, no caches) into ``out``."""
    root = root or project_root()
    target = out / CODE_ARCHIVE
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package in CODE_PACKAGES:
            for path in sorted((root / package).rglob("*")):
                if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                    continue
                # A fixed timestamp: the same code gives the same archive, byte for byte.
                info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
    return target


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(args: list[str], what: str, cwd: Path | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise PackageError(f"{what} failed: {detail[-1] if detail else done.returncode}")
    return done.stdout


def build_environment(out: Path, root: Path | None = None) -> Path:
    """Build the dependency archive: a relocatable venv of :data:`JOB_REQUIREMENTS`, tarred."""
    root = root or project_root()
    with tempfile.TemporaryDirectory(prefix="lakehouse-env-") as tmp:
        work = Path(tmp)
        constraints = work / "constraints.txt"
        constraints.write_text(
            _run(
                [
                    *_uv(),
                    "export",
                    "--frozen",
                    "--no-dev",
                    "--no-hashes",
                    "--no-emit-project",
                    "--format",
                    "requirements-txt",
                ],
                "uv export (versions from uv.lock)",
                cwd=root,
            ),
            encoding="utf-8",
        )
        env = work / ENV_ALIAS
        _run(
            [*_uv(), "venv", "--relocatable", "--quiet", "--python", sys.executable, str(env)],
            "uv venv",
        )
        _run(
            [
                *_uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(env / "bin" / "python"),
                "--constraint",
                str(constraints),
                *JOB_REQUIREMENTS,
            ],
            "uv pip install (the job's libraries)",
        )
        target = out / ENV_ARCHIVE
        with tarfile.open(target, "w:gz", compresslevel=1) as archive:
            archive.add(env, arcname=".")
    return target


def build_package(out: Path, *, environment: bool = True, root: Path | None = None) -> Package:
    """Build the artifacts into ``out`` (created; files replaced).

    Args:
        out: Output folder.
        environment: Also build the dependency archive (the slow part).
        root: Project root; this checkout by default.
    """
    root = root or project_root()
    out.mkdir(parents=True, exist_ok=True)
    code = build_code_archive(out, root)
    entry = out / ENTRY_POINT
    shutil.copyfile(root / "spark" / "landing_to_bronze.py", entry)
    env = build_environment(out, root) if environment else None
    return Package(code=code, entry_point=entry, environment=env)


def submit_args(
    code: str,
    entry_point: str,
    environment: str | None,
    *,
    job_args: list[str],
    master: str | None = None,
    jars: list[str] | None = None,
    conf: dict[str, str] | None = None,
) -> list[str]:
    """The ``spark-submit`` arguments of the bronze job (without ``spark-submit`` itself).

    Args:
        code: Location of the code archive (``s3://.../lakehouse_src.zip`` or a local path).
        entry_point: Location of the entry point.
        environment: Location of the dependency archive, or None to use the cluster's Python.
        job_args: The job's own arguments (``--source <source> ...``).
        master: ``spark://host:port`` of a standalone cluster; None on EMR Serverless.
        jars: Delta's jars (and the s3a connector outside EMR); EMR's own by default.
        conf: Further ``--conf`` settings.
    """
    from spark.session import JOB_CONF

    args: list[str] = []
    if master:
        args += ["--master", master]
    settings = {
        **JOB_CONF,
        "spark.jars": ",".join(jars or EMR_DELTA_JARS),
        "spark.submit.pyFiles": code,
    }
    if environment:
        python = f"./{ENV_ALIAS}/bin/python"
        settings.update(
            {
                "spark.archives": f"{environment}#{ENV_ALIAS}",
                "spark.executorEnv.PYSPARK_PYTHON": python,
                "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": python,
                "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": python,
            }
        )
    settings.update(conf or {})
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    return [*args, entry_point, *job_args]


def job_args(settings: Settings, source: str) -> list[str]:
    """The job's own arguments for the lake of ``settings``: the source, the lake root when it
    is an object store URI (``_state`` and any layer without a bucket live under it) and one
    ``--layer-root`` per layer bucket of the aws profile (``Settings.layer_roots``)."""
    args = ["--source", source]
    if not isinstance(settings.lake_root, Path):
        args += ["--lake-root", settings.lake_root]
    args += [f"--layer-root={layer}={uri}" for layer, uri in sorted(settings.layer_roots.items())]
    return args


def spark_submit() -> str:
    """The ``spark-submit`` of the installed pyspark."""
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    if not os.access(path, os.X_OK):
        raise PackageError(f"{path} is not executable")
    return str(path)
