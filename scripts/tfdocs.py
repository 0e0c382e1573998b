"""Generate the Inputs/Outputs tables of each Terraform README from its .tf files.

terraform-docs is not installable here, so this small stand-in reads variables and outputs with
python-hcl2 and rewrites the text between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``.
The structural tests (tests/unit/test_terraform_structure.py) import :func:`load_dir` from here,
so there is one HCL reader for both.

Usage:
    uv run python scripts/tfdocs.py            # rewrite every README under terraform/
    uv run python scripts/tfdocs.py --check    # exit 1 and name the stale READMEs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"

_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=True, explicit_blocks=False)


@dataclass
class TfDir:
    """The blocks of one Terraform folder (a module or a root), merged over its .tf files."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def load_file(path: Path) -> dict[str, Any]:
    """Parse one HCL file (quotes stripped, comments kept under ``__comments__``)."""
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


def load_dir(path: Path) -> TfDir:
    """Parse every ``*.tf`` file of a folder into one :class:`TfDir`.

    Raises:
        ValueError: If a block is declared twice (Terraform would refuse it too).
    """
    tf = TfDir(path=path)
    for file in sorted(path.glob("*.tf")):
        tf.files.append(file.name)
        parsed = load_file(file)
        for kind, target in (
            ("variable", tf.variables),
            ("output", tf.outputs),
            ("module", tf.modules),
        ):
            for block in parsed.get(kind, []):
                for name, body in block.items():
                    if name in target:
                        raise ValueError(f"{file}: {kind} {name!r} declared twice")
                    target[name] = body
        for kind, target in (("resource", tf.resources), ("data", tf.data)):
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        if (rtype, name) in target:
                            raise ValueError(f"{file}: {kind} {rtype}.{name} declared twice")
                        target[(rtype, name)] = body
        tf.terraform.extend(parsed.get("terraform", []))
        tf.providers.extend(parsed.get("provider", []))
    return tf


def expression(value: Any) -> str:
    """Render a parsed value as the HCL a reader would write (``${x}`` -> ``x``)."""
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(expression(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{k} = {expression(v)}" for k, v in value.items() if not k.startswith("__")]
        return "{" + ", ".join(items) + "}"
    return str(value)


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_docs(tf: TfDir) -> str:
    """The generated section: an Inputs table and an Outputs table."""
    lines = ["## Inputs", ""]
    if tf.variables:
        lines += ["| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
        for name in sorted(tf.variables):
            body = tf.variables[name]
            required = "default" not in body
            default = "n/a" if required else f"`{_cell(expression(body['default']))}`"
            raw_type = body.get("type", "any")
            type_ = f"`{_cell(expression(raw_type) if raw_type.startswith('${') else raw_type)}`"
            lines.append(
                f"| `{name}` | {_cell(str(body.get('description', '')))} | {type_} | {default} "
                f"| {'yes' if required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if tf.outputs:
        lines += ["| Name | Description |", "|---|---|"]
        for name in sorted(tf.outputs):
            lines.append(f"| `{name}` | {_cell(str(tf.outputs[name].get('description', '')))} |")
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def updated_readme(text: str, docs: str, readme: Path) -> str:
    """Replace the generated section of a README's text.

    Raises:
        ValueError: If the README lacks the markers.
    """
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {BEGIN} ... {END} markers")
    return pattern.sub(lambda _: f"{BEGIN}\n{docs}\n{END}", text, count=1)


def documented_dirs(root: Path = TERRAFORM) -> list[Path]:
    """Every module and root folder whose README carries generated tables."""
    dirs = sorted(p for p in (root / "modules").iterdir() if p.is_dir())
    dirs += sorted(p for p in (root / "envs").iterdir() if p.is_dir())
    if (root / "bootstrap").is_dir():
        dirs.append(root / "bootstrap")
    return dirs


def stale_readmes(dirs: list[Path], *, write: bool) -> list[Path]:
    """READMEs whose tables differ from their .tf files; rewritten when ``write``."""
    stale = []
    for folder in dirs:
        readme = folder / "README.md"
        if not readme.is_file():
            raise ValueError(f"{folder} has no README.md")
        text = readme.read_text(encoding="utf-8")
        new = updated_readme(text, render_docs(load_dir(folder)), readme)
        if new != text:
            stale.append(readme)
            if write:
                readme.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite the READMEs, or with --check report stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only report stale READMEs.")
    parser.add_argument(
        "dirs", nargs="*", type=Path, help="Folders (default: all under terraform/)."
    )
    args = parser.parse_args(argv)
    dirs = [d.resolve() for d in args.dirs] or documented_dirs()
    try:
        stale = stale_readmes(dirs, write=not args.check)
    except ValueError as exc:
        print(f"tfdocs: {exc}", file=sys.stderr)
        return 2
    for readme in stale:
        rel = readme.relative_to(ROOT) if readme.is_relative_to(ROOT) else readme
        print(f"tfdocs: {'stale' if args.check else 'updated'} {rel}")
    if args.check and stale:
        print(
            "tfdocs: run `uv run python scripts/tfdocs.py` and commit the READMEs", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
