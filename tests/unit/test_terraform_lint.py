"""`terraform fmt -check`, the provider schema check and checkov over terraform/, as `make lint`
runs them, enforced in CI.

terraform and checkov come from scripts/setup.d (30-terraform.sh, 40-checkov.sh); where setup
has not run the tests skip, except under CI, where a missing tool is a failure. The schema check
is the team's shared tool beside the checkout (../shared/tools/tfschema, or TFSCHEMA_CHECK),
not part of this repository: where it is absent its test skips and says so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
BIN = Path(os.environ.get("LAKEHOUSE_CACHE_DIR", Path.home() / ".cache" / "lakehouse")) / "bin"
TFSCHEMA = Path(
    os.environ.get("TFSCHEMA_CHECK", ROOT.parent / "shared" / "tools" / "tfschema" / "check.py")
)


def tool(name: str) -> str:
    """Path of a tool from the project's cache, else PATH; skips (or fails under CI) if absent."""
    pinned = BIN / name
    found = str(pinned) if pinned.is_file() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: run `make setup` (scripts/setup.d)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def fmt_check(terraform: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_terraform_is_formatted() -> None:
    done = fmt_check(tool("terraform"), TERRAFORM)
    assert done.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{done.stdout}"


def test_fmt_check_catches_bad_formatting(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("locals {\nx=1\n  longer_name = 2\n}\n", encoding="utf-8")
    done = fmt_check(tool("terraform"), tmp_path)
    assert done.returncode != 0
    assert "main.tf" in done.stdout


def schema_check(folder: Path) -> subprocess.CompletedProcess:
    if not TFSCHEMA.is_file():
        pytest.skip(
            f"the provider schema check is not beside this checkout ({TFSCHEMA.name} absent)"
        )
    return subprocess.run(
        [sys.executable, str(TFSCHEMA), str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_provider_schema_check_finds_nothing() -> None:
    done = schema_check(TERRAFORM)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b0 findings\b", last), last
    # Every module was read, not an empty tree.
    blocks = int(re.match(r"(\d+) resources/data blocks", last).group(1))
    assert blocks > 100, last


def test_provider_schema_check_catches_an_unknown_argument(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  bucket      = "x"\n  no_such_arg = 1\n}\n',
        encoding="utf-8",
    )
    done = schema_check(tmp_path)
    assert done.returncode == 1
    assert "no_such_arg" in done.stdout


@pytest.mark.slow
def test_checkov_reports_no_failed_checks(tmp_path: Path) -> None:
    report = tmp_path / "checkov"
    done = subprocess.run(
        [
            tool("checkov"),
            "--directory",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--output-file-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    files = list(report.glob("*.json"))
    assert files, f"checkov wrote no report (exit {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(files[0].read_text(encoding="utf-8"))
    results = result["results"] if isinstance(result, dict) else result[0]["results"]
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in results["failed_checks"]]
    assert failed == []
    summary = result["summary"] if isinstance(result, dict) else result[0]["summary"]
    assert summary["failed"] == 0 and summary["parsing_errors"] == 0
    # Every module and root was scanned, not an empty folder.
    assert summary["passed"] > 300
    # Every skip is made in a comment with its reason, next to the resource.
    skip_comments = set()
    for path in TERRAFORM.rglob("*.tf"):
        skip_comments |= set(
            re.findall(r"checkov:skip=([A-Z0-9_]+):\S", path.read_text(encoding="utf-8"))
        )
    for check in results["skipped_checks"]:
        assert check["check_id"] in skip_comments, check["check_id"]
        assert check["check_result"].get("suppress_comment"), check["check_id"]
