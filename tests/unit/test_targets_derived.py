"""What a run would refuse later is refused by check-config: derived names, named files, references.

Each case is a targets file in a temporary folder; `caas check-config` must exit 2 with exactly one
line naming the field and the fix.
"""

from __future__ import annotations

import string
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli.main import main
from harness.errors import CaasError
from harness.targets import parse_targets
from harness.targets_names import LAB_CLUSTER_NAME_MAX, LONGEST_CLUSTER_PREFIX, NETNS_NAME_MAX
from provisioning.lab.layout import MAX_WORKERS, NodeLayout

LAB = """\
version: 1
products:
  - name: {product}
    backend: lab
    plans: [{{name: small}}]
tenancy:
  - product: {product}
    tenants:
{tenants}
"""


def lab_targets(product: str = "lab", tenants: tuple[tuple[str, str], ...] = (("blue", "shared"),)) -> str:
    listed = "\n".join(f"      - {{name: {n}, plan: small, placement: {p}}}" for n, p in tenants)
    return LAB.format(product=product, tenants=listed)


KUBECONFIG_TARGETS = """\
version: 1
products:
  - name: mine
    backend: kubeconfig
    kubeconfig: {section}
    plans: [{{name: default}}]
tenancy:
  - product: mine
    tenants: [{{name: blue, plan: default}}, {{name: red, plan: default, placement: dedicated}}]
"""

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "admin@one",
    "clusters": [
        {"name": "one", "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority-data": "Y2E="}},
        {"name": "two", "cluster": {"server": "https://10.0.0.2:6443", "certificate-authority": "two-ca.crt"}},
        {"name": "broken", "cluster": {"certificate-authority-data": "Y2E="}},
    ],
    "users": [{"name": "admin", "user": {"token": "t"}}, {"name": "blue", "user": {"client-certificate": "blue.crt"}}],
    "contexts": [
        {"name": "admin@one", "context": {"cluster": "one", "user": "admin"}},
        {"name": "red@two", "context": {"cluster": "two", "user": "admin"}},
        {"name": "blue@one", "context": {"cluster": "one", "user": "blue"}},
        {"name": "broken", "context": {"cluster": "broken", "user": "admin"}},
    ],
}
GOOD_SECTION = (
    "{path: kube.yaml, context: admin@one, tenant_contexts: {red: red@two}, impersonate_missing_identities: true}"
)


def check_config(targets: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check-config", str(targets)])
    captured = capsys.readouterr()
    assert code == 0 or captured.out == "", "a refused file prints nothing on stdout"
    return code, captured.err.splitlines()


def write(directory: Path, text: str) -> Path:
    targets = directory / "targets.yaml"
    targets.write_text(text)
    return targets


def write_kubeconfig(directory: Path, config: dict[str, object] | None = None) -> None:
    (directory / "kube.yaml").write_text(yaml.safe_dump(config or KUBECONFIG))
    (directory / "two-ca.crt").write_text("ca")
    (directory / "blue.crt").write_text("cert")


def assert_one_line(lines: list[str], targets: Path, field: str, *words: str) -> None:
    assert len(lines) == 1, "\n".join(lines)
    assert lines[0].startswith(f"caas: error: {targets}: {field}: "), lines[0]
    assert "(fix: " in lines[0] or "fix:" in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


# --- names derived from product and tenant names -------------------------------------------------


def test_a_dedicated_tenant_named_shared_collides_with_the_shared_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = write(tmp_path, lab_targets("lab", (("blue", "shared"), ("shared", "dedicated"))))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(
        lines,
        targets,
        "tenancy[0].tenants[1].name",
        'dedicated tenant "shared" of product "lab" would be named "lab-shared"',
        'the shared cluster of product "lab"',
        "fix: rename the tenant",
    )


def test_cluster_names_collide_across_products(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = textwrap.dedent("""\
        version: 1
        products:
          - {name: a-b, backend: lab, plans: [{name: small}]}
          - {name: a, backend: lab, plans: [{name: small}]}
        tenancy:
          - {product: a-b, tenants: [{name: blue, plan: small}]}
          - {product: a, tenants: [{name: b-shared, plan: small, placement: dedicated}]}
        """)
    targets = write(tmp_path, text)
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "tenancy[1].tenants[0].name", '"a-b-shared"', 'shared cluster of product "a-b"')


def test_a_tenant_name_too_long_once_prefixed_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "pks-twelvechars1" is 16 characters: it fits the lab's 20 only without a CAAS_CLUSTER_PREFIX.
    targets = write(tmp_path, lab_targets("pks", (("blue", "shared"), ("twelvechars1", "dedicated"))))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(
        lines,
        targets,
        "tenancy[0].tenants[1].name",
        '"pks-twelvechars1" (16 characters, 22 with a CAAS_CLUSTER_PREFIX of up to 6); the lab allows 20',
        "fix: shorten the tenant name to at most 10 characters",
    )


def test_a_product_name_too_long_for_its_shared_cluster_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = write(tmp_path, lab_targets("tenplusone1"))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "products[0].name", '"tenplusone1-shared"', "shorten the product name to at most 7")


def test_a_pks_cluster_name_must_stay_a_dns_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product, tenant = "p" * 30, "t" * 30  # 61 characters, 67 with the longest prefix
    text = textwrap.dedent(f"""\
        version: 1
        products:
          - name: {product}
            backend: pks
            pks: {{api_url: "https://api.example.com", username_env: U, password_env: P}}
            plans: [{{name: small}}]
        tenancy:
          - product: {product}
            tenants: [{{name: {tenant}, plan: small, placement: dedicated}}]
        """)
    targets = write(tmp_path, text)
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "tenancy[0].tenants[0].name", "a DNS label allows 63", "at most 26 characters")


def test_a_kubeconfig_product_creates_no_cluster_so_long_names_are_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_kubeconfig(tmp_path)
    long_name = "r" * 40
    section = GOOD_SECTION.replace("{red:", f"{{{long_name}:")
    text = KUBECONFIG_TARGETS.format(section=section).replace("{name: red,", f"{{name: {long_name},")
    code, lines = check_config(write(tmp_path, text), capsys)
    assert (code, lines) == (0, [])


def names(longest: int) -> st.SearchStrategy[str]:
    return st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=longest)


@settings(max_examples=60, deadline=None)
@given(
    product=names(8),
    tenants=st.lists(st.tuples(names(10), st.booleans()), min_size=1, max_size=4, unique_by=lambda t: t[0]),
)
def test_every_accepted_lab_file_yields_valid_distinct_names(product: str, tenants: list[tuple[str, bool]]) -> None:
    text = lab_targets(product, tuple((n, "dedicated" if d else "shared") for n, d in tenants))
    try:
        targets = parse_targets(text, "t.yaml", Path())
    except CaasError:
        return  # refused: nothing is derived
    names = [LONGEST_CLUSTER_PREFIX + c.name for c in targets.model.clusters(product, "")]
    assert len(set(names)) == len(names)
    assert all(len(n) <= LAB_CLUSTER_NAME_MAX for n in names)
    netns = [NodeLayout(n, i, 1, Path()).netns for n in names for i in range(MAX_WORKERS + 1)]
    assert len(set(netns)) == len(netns)
    assert all(len(n) <= NETNS_NAME_MAX for n in netns)
    for tenant in targets.model.tenants[product]:
        assert len(tenant.namespace) <= 63
        assert all(len(i.user) <= 64 for i in tenant.identities)


# --- files the targets file names ----------------------------------------------------------------


def test_a_kubeconfig_path_to_a_file_that_is_no_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kube.yaml").write_text("just some notes, not a kubeconfig\n")
    targets = write(tmp_path, KUBECONFIG_TARGETS.format(section=GOOD_SECTION))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "products[0].kubeconfig.path", "is not a kubeconfig", "fix: name a kubeconfig")


def test_a_valid_kubeconfig_section_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_kubeconfig(tmp_path)
    code, lines = check_config(write(tmp_path, KUBECONFIG_TARGETS.format(section=GOOD_SECTION)), capsys)
    assert (code, lines) == (0, [])


def test_the_kubeconfig_path_expands_the_home_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write_kubeconfig(home / ".kube")
    monkeypatch.setenv("HOME", str(home))
    section = GOOD_SECTION.replace("path: kube.yaml", "path: ~/.kube/kube.yaml")
    code, lines = check_config(write(tmp_path, KUBECONFIG_TARGETS.format(section=section)), capsys)
    assert (code, lines) == (0, [])


KUBECONFIG_CASES = [
    ("unknown-context", GOOD_SECTION.replace("context: admin@one", "context: nope"), "products[0].kubeconfig.context",
     'has no context "nope"'),
    ("unknown-tenant-context", GOOD_SECTION.replace("red: red@two", "red: gone"),
     "products[0].kubeconfig.tenant_contexts.red", 'has no context "gone"'),
    ("cluster-without-server", GOOD_SECTION.replace("red: red@two", "red: broken"),
     "products[0].kubeconfig.tenant_contexts.red", 'names cluster "broken", which the file does not define'),
    ("missing-ca-file", GOOD_SECTION, "products[0].kubeconfig.tenant_contexts.red", "names certificate-authority"),
    ("tenant-context-of-a-shared-tenant", GOOD_SECTION.replace("{red: red@two}", "{red: red@two, blue: blue@one}"),
     "products[0].kubeconfig.tenant_contexts.blue", '"blue" is not a dedicated tenant of product "mine"'),
    ("unknown-identity",
     GOOD_SECTION.replace("impersonate", "identities: {blue-admn: {context: blue@one}}, impersonate"),
     "products[0].kubeconfig.identities.blue-admn", 'no tenant of product "mine" has an identity "blue-admn"'),
    ("identity-with-two-credentials",
     GOOD_SECTION.replace("impersonate", "identities: {blue-admin: {context: blue@one, token_env: T}}, impersonate"),
     "products[0].kubeconfig.identities.blue-admin", "name exactly one credential"),
    ("identities-without-credentials", GOOD_SECTION.replace("true", "false") + "\n    identities_via_csr: false",
     "products[0].kubeconfig.identities",
     "no credentials for blue-admin, blue-developer, blue-viewer, red-admin, red-developer, red-viewer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("section", "field", "words"), [c[1:] for c in KUBECONFIG_CASES], ids=[c[0] for c in KUBECONFIG_CASES]
)
def test_kubeconfig_problems_are_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, field: str, words: str
) -> None:
    write_kubeconfig(tmp_path)
    if "certificate-authority" in words:
        (tmp_path / "two-ca.crt").unlink()
    targets = write(tmp_path, KUBECONFIG_TARGETS.format(section=section))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, field, words)


def test_a_kubeconfig_without_current_context_needs_a_named_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_kubeconfig(tmp_path, {k: v for k, v in KUBECONFIG.items() if k != "current-context"})
    section = GOOD_SECTION.replace("context: admin@one, ", "")
    targets = write(tmp_path, KUBECONFIG_TARGETS.format(section=section))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "products[0].kubeconfig.context", "has no current-context")


def test_a_bosh_ops_file_must_be_a_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cfcr.yml").write_text("name: cfcr\n")
    (tmp_path / "ops.yml").write_text("type: replace\n")
    text = textwrap.dedent("""\
        version: 1
        products:
          - name: p
            backend: bosh
            bosh: {director_url: "https://d:25555", client_env: C, client_secret_env: S, manifest: cfcr.yml,
                   ops_files: [ops.yml]}
            plans: [{name: small}]
        tenancy: [{product: p, tenants: [{name: blue, plan: small}]}]
        """)
    targets = write(tmp_path, text)
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "products[0].bosh.ops_files[0]", "is not a list of operations")


# --- expectations --------------------------------------------------------------------------------


def expectations(*items: str) -> str:
    return lab_targets() + "expectations:\n" + "".join(f"  - {item}\n" for item in items)


def test_an_expectation_for_an_unknown_check_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = write(tmp_path, expectations("{product: lab, check: check_network_01, status: fail, reason: r}"))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "expectations[0].check", 'unknown check id "check_network_01"', "check_network_001")


def test_two_contradicting_expectations_for_one_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = write(
        tmp_path,
        expectations(
            "{product: lab, check: check_network_001, status: fail, reason: flannel}",
            "{product: lab, check: check_network_001, status: pass, reason: calico}",
        ),
    )
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(
        lines, targets, "expectations[1].status", 'expected to "pass" here and to "fail" at expectations[0]'
    )


def test_a_duplicate_expectation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    item = "{product: lab, check: check_network_001, status: fail, reason: flannel}"
    targets = write(tmp_path, expectations(item, item))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert_one_line(lines, targets, "expectations[1]", "duplicate expectation for check_network_001 on lab")


def test_an_expectation_for_an_unknown_product(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = write(tmp_path, expectations("{product: gke, check: check_network_001, status: fail, reason: r}"))
    code, lines = check_config(targets, capsys)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"caas: error: {targets}: expectations[0].product: ")
    assert 'unknown product "gke" (one of: lab)' in lines[0]
