"""Structure of terraform/, checked offline with python-hcl2 (no providers, so no validate).

Each rule is a function that returns the problems it finds; the rules run over the real tree and
over small broken trees built in tmp, so a rule that cannot fail would be caught.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from lakehouse.cloud import AWS_FIELDS

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = (
    "lakehouse",
    "network",
    "storage",
    "catalog",
    "compute",
    "warehouse",
    "orchestration",
    "source_database",
    "state",
    "streaming",
    "inbox",
    "access_logs",
)
ENVS = ("dev", "prod")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
# The composition root module every env calls once; the envs hold only what differs.
STACK = TERRAFORM / "modules" / "lakehouse"
ENV_FILES = (*MODULE_FILES, "backend.hcl.example")
# Variables an operator must pass at apply time (the others have defaults in the module).
OPERATOR_VARIABLES = {"prefect_api_url"}
# Resource types the AWS provider gives no tags argument.
UNTAGGABLE = {
    "aws_cloudwatch_event_api_destination",
    "aws_cloudwatch_event_connection",
    "aws_cloudwatch_event_target",
    "aws_default_security_group_rule",
    "aws_ecs_cluster_capacity_providers",
    "aws_glue_data_catalog_encryption_settings",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_alias",
    "aws_lakeformation_permissions",
    "aws_redshiftserverless_usage_limit",
    "aws_route",
    "aws_route_table_association",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_sns_topic_subscription",
    "aws_sqs_queue_policy",
}


def _load_tfdocs():
    spec = importlib.util.spec_from_file_location("tfdocs", ROOT / "scripts" / "tfdocs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tfdocs"] = module
    spec.loader.exec_module(module)
    return module


tfdocs = _load_tfdocs()


def all_dirs() -> list[Path]:
    """Every module and root folder."""
    return tfdocs.documented_dirs(TERRAFORM)


def _rel(path: Path) -> str:
    """Short name for messages: ``modules/storage``, ``envs/dev/main.tf``."""
    return str(path.relative_to(path.parents[1]))


################################################################################
# Rules
################################################################################


def missing_files(module_dir: Path) -> list[str]:
    """Standard files a module lacks, and a README without generated tables."""
    problems = [
        f"{module_dir.name}: no {name}"
        for name in MODULE_FILES
        if not (module_dir / name).is_file()
    ]
    readme = module_dir / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        for marker in (tfdocs.BEGIN, tfdocs.END, "## Usage"):
            if marker not in text:
                problems.append(f"{module_dir.name}: README.md lacks {marker}")
    return problems


def undocumented(tf_dir: Path) -> list[str]:
    """Variables without a type or description, outputs without a description."""
    tf = tfdocs.load_dir(tf_dir)
    problems = []
    for name, body in tf.variables.items():
        for attr in ("type", "description"):
            if not body.get(attr):
                problems.append(f"{_rel(tf_dir)}: variable {name} has no {attr}")
    for name, body in tf.outputs.items():
        if not body.get("description"):
            problems.append(f"{_rel(tf_dir)}: output {name} has no description")
    return problems


def bad_module_calls(root_dir: Path) -> list[str]:
    """Module calls with an unknown source, undeclared inputs or missing required inputs."""
    tf = tfdocs.load_dir(root_dir)
    problems = []
    meta = {"source", "version", "providers", "depends_on", "count", "for_each"}
    for call, body in tf.modules.items():
        source = (root_dir / body["source"]).resolve()
        if not source.is_dir():
            problems.append(f"{_rel(root_dir)}: module {call} source {body['source']} is missing")
            continue
        declared = tfdocs.load_dir(source).variables
        passed = {k for k in body if not k.startswith("__")} - meta
        for name in sorted(passed - set(declared)):
            problems.append(f"{_rel(root_dir)}: module {call} passes undeclared input {name}")
        required = {n for n, v in declared.items() if "default" not in v}
        for name in sorted(required - passed):
            problems.append(f"{_rel(root_dir)}: module {call} misses required input {name}")
    return problems


def dangling_module_outputs(root_dir: Path) -> list[str]:
    """``module.<call>.<output>`` references to outputs the called module does not declare."""
    tf = tfdocs.load_dir(root_dir)
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(root_dir.glob("*.tf")))
    problems = []
    for call, output in sorted(
        set(re.findall(r"\bmodule\.([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)", text))
    ):
        if call not in tf.modules:
            problems.append(f"{_rel(root_dir)}: module.{call} is not called")
            continue
        outputs = tfdocs.load_dir((root_dir / tf.modules[call]["source"]).resolve()).outputs
        if output not in outputs:
            problems.append(f"{_rel(root_dir)}: module.{call}.{output} is not an output of {call}")
    return problems


def thin_env_root(env_dir: Path, stack_dir: Path) -> list[str]:
    """An env root that is more than a backend, a provider, one call of the stack and pass-throughs.

    Its variables must be the stack's own (same name, type and description, no default of their
    own: the stack owns defaults), each passed on under its name; its outputs must be exactly the
    stack's outputs re-exported under the same names, so readers of ``terraform output`` (such as
    `lakehouse cloud settings`) see one set of names whatever the env.
    """
    where = _rel(env_dir)
    problems = []
    stack = tfdocs.load_dir(stack_dir)
    tf = tfdocs.load_dir(env_dir)
    for path in sorted(env_dir.glob("*.tf")):
        extra = sorted(
            set(tfdocs.load_file(path))
            - {"terraform", "provider", "module", "variable", "output", "__comments__"}
        )
        problems += [f"{where}: {path.name} declares {kind} blocks" for kind in extra]
    providers = [name for block in tf.providers for name in block]
    if providers != ["aws"]:
        problems.append(f"{where}: configures providers {providers}, not one aws provider")
    backends = [b for block in tf.terraform for b in block.get("backend", [])]
    if [name for b in backends for name in b] != ["s3"]:
        problems.append(f"{where}: has no s3 backend")
    if list(tf.modules) != ["lakehouse"]:
        return problems + [f"{where}: calls {sorted(tf.modules)}, not only module lakehouse"]
    call = tf.modules["lakehouse"]
    if (env_dir / call["source"]).resolve() != stack_dir.resolve():
        problems.append(f"{where}: module lakehouse has source {call['source']}")
    if call.get("env") != env_dir.name:
        problems.append(f"{where}: passes env = {call.get('env')!r}, not its folder name")
    for name, body in sorted(tf.variables.items()):
        declared = stack.variables.get(name)
        if declared is None:
            problems.append(f"{where}: variable {name} is not an input of the stack")
            continue
        for attr in ("type", "description"):
            if body.get(attr) != declared.get(attr):
                problems.append(f"{where}: variable {name} has another {attr} than the stack's")
        if body.get("default") is not None:
            problems.append(f"{where}: variable {name} has a default of its own")
        if call.get(name) != f"${{var.{name}}}":
            problems.append(f"{where}: variable {name} is not passed to the stack as is")
    for name in sorted(set(stack.outputs) - set(tf.outputs)):
        problems.append(f"{where}: does not re-export output {name}")
    for name, body in sorted(tf.outputs.items()):
        if body.get("value") != f"${{module.lakehouse.{name}}}":
            problems.append(f"{where}: output {name} is not module.lakehouse.{name}")
        elif body.get("description") != stack.outputs[name].get("description"):
            problems.append(f"{where}: output {name} has another description than the stack's")
    return problems


def untagged_resources(tf_dir: Path) -> list[str]:
    """Taggable resources that set no tags."""
    tf = tfdocs.load_dir(tf_dir)
    return [
        f"{_rel(tf_dir)}: {rtype}.{name} has no tags"
        for (rtype, name), body in sorted(tf.resources.items())
        if rtype not in UNTAGGABLE and "tags" not in body
    ]


def version_pins(tf_dir: Path) -> list[str]:
    """versions.tf holds the terraform block, with required_version and a bounded aws provider."""
    versions = tfdocs.load_file(tf_dir / "versions.tf")
    problems = [
        f"{_rel(tf_dir)}: versions.tf holds {k}" for k in versions if k not in ("terraform",)
    ]
    blocks = versions.get("terraform", [])
    if not blocks or not blocks[0].get("required_version"):
        return problems + [f"{_rel(tf_dir)}: versions.tf pins no Terraform version"]
    providers = {}
    for block in blocks[0].get("required_providers", []):
        providers.update(block)
    aws = providers.get("aws")
    if not aws or aws.get("source") != "hashicorp/aws":
        problems.append(f"{_rel(tf_dir)}: versions.tf does not require hashicorp/aws")
    elif not re.search(r"~>\s*5\.|<\s*6", aws.get("version", "")):
        problems.append(
            f"{_rel(tf_dir)}: aws provider version {aws.get('version')!r} is not held to 5.x"
        )
    return problems


def open_ingress(tf_dir: Path) -> list[str]:
    """Ingress rules open to the whole internet."""
    tf = tfdocs.load_dir(tf_dir)
    problems = []
    for (rtype, name), body in tf.resources.items():
        rules = []
        if rtype == "aws_vpc_security_group_ingress_rule":
            rules = [body]
        elif rtype == "aws_security_group":
            rules = body.get("ingress", []) or []
        elif rtype == "aws_security_group_rule" and body.get("type") == "ingress":
            rules = [body]
        for rule in rules:
            cidrs = (
                str(rule.get("cidr_ipv4", ""))
                + str(rule.get("cidr_blocks", ""))
                + str(rule.get("cidr_ipv6", ""))
            )
            if "0.0.0.0/0" in cidrs or "::/0" in cidrs:
                problems.append(f"{_rel(tf_dir)}: {rtype}.{name} allows ingress from anywhere")
    return problems


SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def unjustified_skips(tf_dir: Path) -> list[str]:
    """checkov skips without a reason of a few words."""
    problems = []
    for path in sorted(tf_dir.glob("*.tf")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SKIP_COMMENT.search(line)
            if match and len((match.group(2) or "").split()) < 4:
                problems.append(
                    f"{_rel(path)}:{lineno}: checkov skip {match.group(1)} has no reason"
                )
    return problems


HARD_CODED = [
    (re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])"), "an account id"),
    (
        re.compile(
            r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(north|south|east|west|central|northeast|southeast|northwest|southwest)-[0-9]\b"
        ),
        "a region",
    ),
]


def hard_coded_placement(tf_dir: Path) -> list[str]:
    """Account ids or regions written into .tf files instead of read from data sources."""
    problems = []
    for path in sorted(tf_dir.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        for pattern, what in HARD_CODED:
            for match in pattern.finditer(text):
                problems.append(f"{_rel(path)}: hard-coded {what} {match.group(0)}")
    return problems


################################################################################
# The real tree
################################################################################


def test_every_module_has_its_files() -> None:
    assert sorted(p.name for p in (TERRAFORM / "modules").iterdir() if p.is_dir()) == sorted(
        MODULES
    )
    problems = [p for m in MODULES for p in missing_files(TERRAFORM / "modules" / m)]
    for env in ENVS:
        files = sorted(p.name for p in (TERRAFORM / "envs" / env).iterdir() if p.is_file())
        assert files == sorted(ENV_FILES), f"envs/{env} holds {files}"
    assert problems == []


@pytest.mark.parametrize(
    "rule",
    [
        undocumented,
        untagged_resources,
        version_pins,
        open_ingress,
        unjustified_skips,
        hard_coded_placement,
    ],
)
def test_rule_holds_everywhere(rule) -> None:
    assert [p for d in all_dirs() for p in rule(d)] == []


def test_module_calls_pass_declared_and_required_inputs() -> None:
    modules = [TERRAFORM / "modules" / m for m in MODULES]
    roots = [TERRAFORM / "envs" / e for e in ENVS] + [TERRAFORM / "bootstrap", *modules]
    assert [p for r in roots for p in bad_module_calls(r)] == []

    # Every module but the state bootstrap's is used by the stack, directly or through a module
    # it calls (by its source folder: source_database is called once per source that needs it).
    def called_by(folder: Path) -> set[str]:
        calls = tfdocs.load_dir(folder).modules.values()
        return {str(call.get("source", "")).rstrip("/").rsplit("/", 1)[-1] for call in calls}

    used = called_by(STACK)
    used |= {inner for outer in used for inner in called_by(TERRAFORM / "modules" / outer)}
    assert used == set(MODULES) - {"state", "lakehouse"}
    assert called_by(TERRAFORM / "modules" / "state") == {"access_logs"}


def test_every_module_output_a_root_reads_exists() -> None:
    roots = [TERRAFORM / "envs" / e for e in ENVS] + [STACK, TERRAFORM / "bootstrap"]
    assert [p for r in roots for p in dangling_module_outputs(r)] == []


@pytest.mark.parametrize("env", ENVS)
def test_env_root_is_thin(env: str) -> None:
    assert thin_env_root(TERRAFORM / "envs" / env, STACK) == []


@pytest.mark.parametrize("env", ENVS)
def test_env_sets_what_differs_and_operators_pass_the_rest(env: str) -> None:
    root = TERRAFORM / "envs" / env
    required = {n for n, v in tfdocs.load_dir(STACK).variables.items() if "default" not in v}
    assert required == OPERATOR_VARIABLES | {"env"}
    env_required = {n for n, v in tfdocs.load_dir(root).variables.items() if "default" not in v}
    assert env_required == OPERATOR_VARIABLES
    call = tfdocs.load_dir(root).modules["lakehouse"]
    # dev is destroyed without leftovers; prod refuses to delete data (the stack's default).
    assert call["force_destroy"] is (env == "dev")
    assert tfdocs.load_dir(STACK).variables["force_destroy"]["default"] is False


def test_envs_differ_only_in_their_values() -> None:
    """Same files, variables, outputs and module inputs: only the values given differ."""
    dev, prod = (tfdocs.load_dir(TERRAFORM / "envs" / e) for e in ENVS)
    assert dev.variables == prod.variables
    assert dev.outputs == prod.outputs
    assert dev.terraform == prod.terraform
    assert set(dev.modules["lakehouse"]) - {"__comments__"} == set(prod.modules["lakehouse"]) - {
        "__comments__"
    }


def test_lakehouse_settings_output_is_the_settings_fields() -> None:
    output = tfdocs.load_dir(STACK).outputs["lakehouse_settings"]
    keys = {k for k in output["value"] if not k.startswith("__")}
    assert keys == set(AWS_FIELDS)


def test_readme_tables_are_up_to_date() -> None:
    stale = tfdocs.stale_readmes(all_dirs(), write=False)
    assert stale == [], "run `uv run python scripts/tfdocs.py` and commit the READMEs"


################################################################################
# The rules catch what they are for
################################################################################


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


VERSIONS = """terraform {
  required_version = ">= 1.5.7"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 6.0"
    }
  }
}
"""


def test_rules_catch_broken_trees(tmp_path: Path) -> None:
    module = _write(
        tmp_path / "modules" / "thing",
        {
            "versions.tf": VERSIONS.replace('">= 5.80, < 6.0"', '">= 4.0"'),
            "variables.tf": (
                'variable "needed" {\n  type = string\n}\n'
                'variable "opt" {\n  description = "x"\n  type = number\n  default = 1\n}\n'
            ),
            "outputs.tf": 'output "id" {\n  value = aws_vpc.this.id\n}\n',
            "main.tf": (
                'resource "aws_vpc" "this" {\n  cidr_block = "10.0.0.0/16"\n}\n'
                'resource "aws_vpc_security_group_ingress_rule" "open" {\n'
                '  #checkov:skip=CKV_AWS_23:\n  security_group_id = "sg"\n'
                '  cidr_ipv4 = "0.0.0.0/0"\n'
                "  tags = {}\n}\n"
                'data "aws_iam_policy_document" "x" {\n  statement {\n'
                '    resources = ["arn:aws:s3:::b-123456789012-eu-west-1"]\n  }\n}\n'
            ),
        },
    )
    root = _write(
        tmp_path / "envs" / "dev",
        {
            "main.tf": (
                'module "thing" {\n  source = "../../modules/thing"\n  opt = 2\n  typo = 3\n}\n'
                'module "ghost" {\n  source = "../../modules/ghost"\n}\n'
                'output "x" {\n  description = "x"\n  value = module.thing.arn\n}\n'
            )
        },
    )
    assert missing_files(module) == ["thing: no README.md"]
    assert undocumented(module) == [
        "modules/thing: variable needed has no description",
        "modules/thing: output id has no description",
    ]
    assert untagged_resources(module) == ["modules/thing: aws_vpc.this has no tags"]
    assert version_pins(module) == [
        "modules/thing: aws provider version '>= 4.0' is not held to 5.x"
    ]
    assert open_ingress(module) == [
        "modules/thing: aws_vpc_security_group_ingress_rule.open allows ingress from anywhere"
    ]
    assert len(unjustified_skips(module)) == 1
    assert [p.split(": ", 1)[1] for p in hard_coded_placement(module)] == [
        "hard-coded an account id 123456789012",
        "hard-coded a region eu-west-1",
    ]
    assert bad_module_calls(root) == [
        "envs/dev: module thing passes undeclared input typo",
        "envs/dev: module thing misses required input needed",
        "envs/dev: module ghost source ../../modules/ghost is missing",
    ]
    assert dangling_module_outputs(root) == ["envs/dev: module.thing.arn is not an output of thing"]


def test_thin_env_rule_catches_a_fat_root(tmp_path: Path) -> None:
    stack = _write(
        tmp_path / "modules" / "lakehouse",
        {
            "variables.tf": (
                'variable "env" {\n  description = "e"\n  type = string\n}\n'
                'variable "size" {\n  description = "s"\n  type = number\n  default = 1\n}\n'
            ),
            "outputs.tf": (
                'output "a" {\n  description = "a"\n  value = 1\n}\n'
                'output "b" {\n  description = "b"\n  value = 2\n}\n'
            ),
        },
    )
    root = _write(
        tmp_path / "envs" / "dev",
        {
            "versions.tf": VERSIONS,
            "main.tf": (
                'provider "aws" {}\n'
                "locals {\n  x = 1\n}\n"
                'resource "aws_s3_bucket" "extra" {\n  bucket = "b"\n}\n'
                'module "lakehouse" {\n  source = "../../modules/lakehouse"\n'
                '  env = "prod"\n  size = 3\n}\n'
            ),
            "variables.tf": (
                'variable "size" {\n  description = "other"\n  type = number\n  default = 2\n}\n'
                'variable "own" {\n  description = "o"\n  type = string\n}\n'
            ),
            "outputs.tf": 'output "a" {\n  description = "a"\n  value = 1\n}\n',
        },
    )
    assert thin_env_root(root, stack) == [
        "envs/dev: main.tf declares locals blocks",
        "envs/dev: main.tf declares resource blocks",
        "envs/dev: has no s3 backend",
        "envs/dev: passes env = 'prod', not its folder name",
        "envs/dev: variable own is not an input of the stack",
        "envs/dev: variable size has another description than the stack's",
        "envs/dev: variable size has a default of its own",
        "envs/dev: variable size is not passed to the stack as is",
        "envs/dev: does not re-export output b",
        "envs/dev: output a is not module.lakehouse.a",
    ]


def test_tfdocs_detects_and_fixes_a_stale_readme(tmp_path: Path) -> None:
    module = _write(
        tmp_path / "m",
        {
            "variables.tf": (
                'variable "size" {\n  description = "How big | how many."\n'
                "  type = map(string)\n}\n"
            ),
            "README.md": f"# m\n\n{tfdocs.BEGIN}\nold\n{tfdocs.END}\n",
        },
    )
    assert tfdocs.stale_readmes([module], write=True) == [module / "README.md"]
    text = (module / "README.md").read_text(encoding="utf-8")
    assert "| `size` | How big \\| how many. | `map(string)` | n/a | yes |" in text
    assert "No outputs." in text
    assert tfdocs.stale_readmes([module], write=False) == []
