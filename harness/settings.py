"""One typed settings object, built once from CLI options, the targets file and the environment.

Nothing else in the suite reads `os.environ`: code that needs a setting receives
`Settings` (the `settings` session fixture in the pytest plugin, or the CLI).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.names import InvalidName, check_cluster_prefix, check_run_id
from harness.targets import Targets, load_targets
from harness.wait import Timeouts
from provisioning.lab.home_env import lab_home
from provisioning.model.mutations import Mutation

# Timeouts (the type of Settings.timeouts) and lab_home (CAAS_LAB_HOME) are settings too: imported from here
__all__ = ["DEFAULT_TARGETS", "ENV_PREFIX", "Settings", "Timeouts", "build_settings", "cluster_prefix"]
__all__ += ["lab_home", "new_run_id", "valid_run_id"]

ENV_PREFIX = "CAAS_"


@dataclass(frozen=True)
class Covering:
    """How much of each RBAC observation the cluster is asked (issue 23; checks.rbac.design.chosen,
    checks.rbac.covering). A shared cluster of at most `every_cell_tenants` tenants
    (CAAS_RBAC_EVERY_CELL_TENANTS: the lab's runs of 2-5) is asked every cell. A larger one is asked the
    covering design: its required cells (every identity kind x namespace, every identity kind x relation x
    item, and for the access matrix every ordered tenant pair once: ~N^2 + N cells, never traded) and
    `sample` random cells (CAAS_RBAC_SAMPLE) drawn from `seed` (CAAS_RBAC_SEED; None: a fresh seed per
    run, printed in the report). Every asked cell is asked by the real request; the access reviews only
    the sample, every identity kind x relation and every tenant once (checks.rbac.design.cross_checked;
    the checks linear in the tenants: cross_checked_linear). `budget` (CAAS_RBAC_CELL_BUDGET) caps the
    cells one observation asks: the sample is cut to what the required cells leave of it (never below 0;
    the record says so)."""

    budget: int = 100_000
    sample: int = 2_000
    seed: int | None = None
    every_cell_tenants: int = 5


def covering_of(environment: Mapping[str, str]) -> Covering:
    """The Covering of CAAS_RBAC_CELL_BUDGET, CAAS_RBAC_SAMPLE, CAAS_RBAC_SEED and
    CAAS_RBAC_EVERY_CELL_TENANTS (whole numbers, each unset for its default); ConfigError naming the
    variable otherwise."""
    found: dict[str, int] = {}
    variables = (
        ("RBAC_CELL_BUDGET", "budget", "100000"),
        ("RBAC_SAMPLE", "sample", "2000"),
        ("RBAC_SEED", "seed", "7"),
        ("RBAC_EVERY_CELL_TENANTS", "every_cell_tenants", "5"),
    )
    for name, field_name, example in variables:
        text = environment.get(f"{ENV_PREFIX}{name}", "")
        if text and not text.isdigit():
            raise ConfigError(
                f"{ENV_PREFIX}{name}", "", f"{text!r} is not a whole number (fix: e.g. {example}, or unset it)"
            )
        if text:
            found[field_name] = int(text)
    return Covering(**found)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, validated up front."""

    targets: Targets
    run_id: str
    output_dir: Path
    lab_home: Path
    keep: bool = False
    products: tuple[str, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    hypothesis_examples: int = 10
    cluster_prefix: str = ""  # keeps cluster names of concurrent suites on one lab apart
    mutation: Mutation | None = None  # onboarding with one fence removed (mutation testing)
    covering: Covering = field(default_factory=Covering)  # when the access matrix is asked as a covering design
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def selected_products(self) -> tuple[str, ...]:
        names = tuple(p.name for p in self.targets.model.products)
        return tuple(n for n in names if not self.products or n in self.products)


def new_run_id() -> str:
    return f"run-{secrets.token_hex(4)}"


def build_settings(
    *,
    targets_path: str | Path,
    environment: Mapping[str, str],
    run_id: str | None = None,
    output_dir: str | Path | None = None,
    keep: bool = False,
    products: tuple[str, ...] = (),
) -> Settings:
    """Build and validate the run's settings; CLI options win over the environment."""
    targets = load_targets(targets_path)
    if run_id is not None:
        chosen_run_id = valid_run_id(run_id, "--run-id")
    elif f"{ENV_PREFIX}RUN_ID" in environment:
        chosen_run_id = valid_run_id(environment[f"{ENV_PREFIX}RUN_ID"], f"{ENV_PREFIX}RUN_ID")
    else:
        chosen_run_id = new_run_id()
    known = {p.name for p in targets.model.products}
    for name in products:
        if name not in known:
            raise ConfigError("--product", "", f'unknown product "{name}" (one of: {", ".join(sorted(known))})')
    examples_text = environment.get(f"{ENV_PREFIX}HYPOTHESIS_EXAMPLES", "10")
    if not examples_text.isdigit() or int(examples_text) < 1:
        raise ConfigError(f"{ENV_PREFIX}HYPOTHESIS_EXAMPLES", "", "must be a whole number of at least 1")
    prefix = cluster_prefix(environment)
    mutation_text = environment.get(f"{ENV_PREFIX}MUTATION", "")
    known_mutations = ", ".join(m.value for m in Mutation)
    if mutation_text and mutation_text not in {m.value for m in Mutation}:
        raise ConfigError(
            f"{ENV_PREFIX}MUTATION", "", f'unknown mutation "{mutation_text}" (one of: {known_mutations})'
        )
    return Settings(
        targets=targets,
        run_id=chosen_run_id,
        output_dir=Path(output_dir or environment.get(f"{ENV_PREFIX}OUTPUT_DIR") or "out").resolve(),
        lab_home=lab_home(environment),
        keep=keep or environment.get(f"{ENV_PREFIX}KEEP", "") == "1",
        products=products,
        hypothesis_examples=int(examples_text),
        cluster_prefix=prefix,
        mutation=Mutation(mutation_text) if mutation_text else None,
        covering=covering_of(environment),
        environment=dict(environment),
    )


DEFAULT_TARGETS = Path(__file__).resolve().parent.parent / "targets.example.yaml"


def cluster_prefix(environment: Mapping[str, str]) -> str:
    """CAAS_CLUSTER_PREFIX ("" when unset): the start of every lab cluster name this suite creates,
    lists or removes (rule: harness.names). Raises ConfigError for an invalid prefix."""
    try:
        return check_cluster_prefix(environment.get(f"{ENV_PREFIX}CLUSTER_PREFIX", ""))
    except InvalidName as exc:
        raise ConfigError(f"{ENV_PREFIX}CLUSTER_PREFIX", "", str(exc)) from None


def valid_run_id(value: str, source: str = "--run-id") -> str:
    """`value` if it is a valid run id (rule: harness.names); else ConfigError naming `source`
    (the option or variable it came from). For every place a run id enters: `caas run`, `caas clean`,
    pytest's --run-id, CAAS_RUN_ID."""
    try:
        return check_run_id(value)
    except InvalidName as exc:
        raise ConfigError(source, "", str(exc)) from None
