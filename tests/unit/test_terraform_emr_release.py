"""The EMR release that Terraform provisions runs the Spark and Delta that pyproject.toml pins.

The label is read from the Terraform files (the compute module's default and any override in the
lakehouse module or an env root), mapped through terraform/modules/compute/emr_releases.json
(cited from the EMR release notes) and compared with the pyspark and delta-spark pins.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPUTE = ROOT / "terraform" / "modules" / "compute"
RELEASES = COMPUTE / "emr_releases.json"


def _tfdocs():
    spec = importlib.util.spec_from_file_location("tfdocs", ROOT / "scripts" / "tfdocs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tfdocs", module)
    spec.loader.exec_module(module)
    return module


tfdocs = _tfdocs()


def release_labels(terraform: Path) -> dict[str, str]:
    """Every EMR release label the Terraform sets: where -> label."""
    labels = {
        "modules/compute default": tfdocs.load_dir(terraform / "modules" / "compute").variables[
            "release_label"
        ]["default"]
    }
    roots = [terraform / "modules" / "lakehouse", *sorted((terraform / "envs").iterdir())]
    for root in roots:
        for call, body in tfdocs.load_dir(root).modules.items():
            source = (root / body["source"]).resolve()
            if source == (terraform / "modules" / "compute").resolve() and "release_label" in body:
                labels[f"{root.parent.name}/{root.name} module {call}"] = body["release_label"]
    return labels


def pinned_versions(pyproject: Path) -> dict[str, str]:
    """Exact pins of pyspark and delta-spark in pyproject.toml (``name==version``)."""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = {}
    for dep in deps:
        match = re.fullmatch(r"\s*(pyspark|delta-spark)\s*==\s*([0-9.]+)\s*", dep)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def mismatches(labels: dict[str, str], table: dict, pins: dict[str, str]) -> list[str]:
    """Where a label is unknown to the table or its engine differs from the pins."""
    problems = []
    for where, label in labels.items():
        release = table["releases"].get(label)
        if release is None:
            problems.append(
                f"{where}: {label} is not in emr_releases.json; add it from the release notes"
            )
            continue
        for engine, package in (("spark", "pyspark"), ("delta", "delta-spark")):
            if release[engine] != pins.get(package):
                problems.append(
                    f"{where}: {label} ships {engine} {release[engine]}, "
                    f"pyproject.toml pins {package}=={pins.get(package)}"
                )
    return problems


def test_release_table_names_its_source() -> None:
    table = json.loads(RELEASES.read_text(encoding="utf-8"))
    assert "docs.aws.amazon.com/emr" in table["source"]
    for label, release in table["releases"].items():
        assert re.fullmatch(r"emr-\d+\.\d+\.\d+", label)
        assert release["as_shipped"]["spark"].startswith(release["spark"] + "-amzn-")
        assert release["as_shipped"]["delta"].startswith(release["delta"] + "-amzn-")


def test_terraform_release_matches_the_pinned_engine() -> None:
    labels = release_labels(ROOT / "terraform")
    assert labels["modules/compute default"] == "emr-7.10.0"
    pins = pinned_versions(ROOT / "pyproject.toml")
    assert set(pins) == {"pyspark", "delta-spark"}, "pyspark and delta-spark must be pinned with =="
    table = json.loads(RELEASES.read_text(encoding="utf-8"))
    assert mismatches(labels, table, pins) == []


@pytest.mark.parametrize(
    ("label", "pins", "expected"),
    [
        ("emr-7.10.0", {"pyspark": "3.5.4", "delta-spark": "3.3.0"}, "ships spark 3.5.5"),
        ("emr-7.10.0", {"pyspark": "3.5.5", "delta-spark": "3.2.0"}, "ships delta 3.3.0"),
        ("emr-6.15.0", {"pyspark": "3.5.5", "delta-spark": "3.3.0"}, "not in emr_releases.json"),
    ],
)
def test_a_drift_is_reported(label: str, pins: dict[str, str], expected: str) -> None:
    table = json.loads(RELEASES.read_text(encoding="utf-8"))
    problems = mismatches({"here": label}, table, pins)
    assert len(problems) == 1 and expected in problems[0]
