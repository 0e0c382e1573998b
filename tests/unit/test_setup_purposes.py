"""Setup per purpose: `make demo` installs what the demo runs, never Terraform or checkov.

The Makefile is parsed for the targets a goal depends on and the `scripts/setup.sh` purposes
their recipes run; `scripts/setup.sh --list` names the steps of those purposes without running
any of them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"
SETUP = ROOT / "scripts" / "setup.sh"
STEPS_DIR = ROOT / "scripts" / "setup.d"
RULE = re.compile(r"^([A-Za-z0-9_.-]+):(?!=)([^#]*)")


def make_rules() -> dict[str, tuple[list[str], list[str]]]:
    """Target -> (prerequisites, recipe lines) of the Makefile's explicit rules."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    current: str | None = None
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and current is not None:
            rules[current][1].append(line.strip())
            continue
        match = RULE.match(line)
        if match and not match.group(1).startswith("."):
            current = match.group(1)
            rules[current] = (match.group(2).split(), [])
        else:
            current = None
    return rules


def recipes_of(goal: str) -> list[str]:
    """Every recipe line `make GOAL` runs: its own and its prerequisites', recursively."""
    rules = make_rules()
    assert goal in rules, f"no rule for {goal} in the Makefile"
    seen: list[str] = []

    def visit(target: str) -> None:
        if target in seen or target not in rules:
            return
        seen.append(target)
        for prerequisite in rules[target][0]:
            visit(prerequisite)

    visit(goal)
    return [line for target in seen for line in rules[target][1]]


def setup_purposes(goal: str) -> list[str]:
    """The purposes `make GOAL` passes to scripts/setup.sh."""
    purposes = []
    for line in recipes_of(goal):
        words = shlex.split(line.lstrip("@-"))
        for i, word in enumerate(words):
            if word.endswith("scripts/setup.sh"):
                purposes += words[i + 1 :] or ["all"]
    return purposes


def listed_steps(*purposes: str) -> list[str]:
    done = subprocess.run(
        ["bash", str(SETUP), "--list", *purposes],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()


def mentions_terraform_or_checkov(step: str) -> bool:
    text = (STEPS_DIR / step).read_text(encoding="utf-8").lower()
    return any(word in step.lower() or word in text for word in ("terraform", "checkov"))


def test_the_demo_installs_no_terraform_and_no_checkov() -> None:
    purposes = setup_purposes("demo")
    assert purposes == ["demo"], purposes
    steps = listed_steps(*purposes)
    assert steps, "the demo's setup runs no step at all"
    assert "20-spark-jars.sh" in steps  # the demo runs Spark
    assert not [s for s in steps if mentions_terraform_or_checkov(s)], steps
    # The demo neither builds with Go nor installs Debian packages (no warehouse, no browser).
    for step in steps:
        text = (STEPS_DIR / step).read_text(encoding="utf-8")
        assert "go install" not in text and "apt-get" not in text, step
    # Nor does any recipe of the demo's targets call them directly.
    for line in recipes_of("demo"):
        assert not re.search(r"terraform|checkov|lint-terraform", line), line


def test_lint_and_test_get_terraform_and_checkov() -> None:
    for goal in ("lint", "test"):
        steps = listed_steps(*setup_purposes(goal))
        assert {"30-terraform.sh", "40-checkov.sh"} <= set(steps), (goal, steps)
    test_steps = listed_steps(*setup_purposes("test"))
    # The tests start PostgreSQL, psqlODBC and Chromium for real, and Spark.
    assert {"10-system-packages.sh", "20-spark-jars.sh"} <= set(test_steps), test_steps
    assert "bash scripts/lint-terraform.sh" in recipes_of("lint")


def test_make_setup_is_everything_and_every_step_has_a_purpose() -> None:
    every = sorted(p.name for p in STEPS_DIR.glob("*.sh"))
    assert setup_purposes("setup") == ["all"]
    assert listed_steps("all") == every
    assert listed_steps() == every
    assert sorted(set(listed_steps("demo", "lint", "test"))) == every, (
        "a step in scripts/setup.d belongs to no purpose in scripts/setup.sh"
    )


def test_steps_run_once_in_file_order_and_unknown_purposes_fail() -> None:
    steps = listed_steps("test", "lint", "demo")
    assert steps == sorted(set(steps))
    done = subprocess.run(
        ["bash", str(SETUP), "--list", "everything"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "unknown purpose 'everything'" in done.stderr


@pytest.mark.parametrize("goal", ["demo", "test", "lint", "setup", "test-fast"])
def test_the_make_goals_still_exist(goal: str) -> None:
    assert goal in make_rules()
