"""The name rules (harness.names) and where settings apply them: cluster prefix, lab cluster names, run ids."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.names import (
    CLUSTER_NAME_MAX,
    RUN_ID_MAX,
    InvalidName,
    check_cluster_name,
    check_cluster_prefix,
    check_run_id,
    is_dns_label,
    is_label_value,
    owned_by,
    shown,
)
from harness.settings import build_settings, cluster_prefix, lab_home, valid_run_id
from provisioning.lab.home_env import DEFAULT_LAB_HOME

DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


@pytest.mark.parametrize("name", ["a", "pks", "na-pks-shared", "0", "a-b-c", "x" * CLUSTER_NAME_MAX, "9lives"])
def test_lab_cluster_names_that_the_lab_gives_are_accepted(name: str) -> None:
    assert check_cluster_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "is empty"),
        (".", "characters other than"),
        ("..", "characters other than"),
        ("../bin", "characters other than"),
        ("x/../x", "characters other than"),
        ("a.b", "characters other than"),
        ("a b", "characters other than"),
        ("a_b", "characters other than"),
        ("-x", 'starts or ends with "-"'),
        ("x-", 'starts or ends with "-"'),
        ("-", 'starts or ends with "-"'),
        ("Pks", "upper-case"),
        ("PKS", "upper-case"),
        ("ünï", "characters other than"),
        ("ǅ", "upper-case"),  # titlecase: lower() changes it
        ("x" * (CLUSTER_NAME_MAX + 1), f"longer than {CLUSTER_NAME_MAX} characters"),
    ],
)
def test_names_the_lab_cannot_give_are_refused_with_the_rule_they_break(name: str, why: str) -> None:
    with pytest.raises(InvalidName, match="is not a lab cluster name") as refused:
        check_cluster_name(name)
    assert why in str(refused.value)
    assert "(fix: 1 to 20 of a-z, 0-9" in str(refused.value)


def test_with_a_prefix_a_name_must_start_with_it_and_the_fix_names_the_prefixed_name() -> None:
    assert check_cluster_name("na-x", "na-") == "na-x"
    with pytest.raises(InvalidName, match=r'does not start with CAAS_CLUSTER_PREFIX "na-".*fix: "na-x"'):
        check_cluster_name("x", "na-")
    with pytest.raises(InvalidName, match="does not start with"):
        check_cluster_name("nab-x", "na-")
    with pytest.raises(InvalidName, match="is not a lab cluster name"):  # the name rule comes first
        check_cluster_name("na-X", "na-")


@given(st.text(max_size=300))
@example("\U0001f600" * 40)  # each escapes to 12 characters
def test_every_refusal_is_one_ascii_line_of_bounded_length(value: str) -> None:
    for check in (check_cluster_name, check_run_id, check_cluster_prefix):
        try:
            check(value)
        except InvalidName as exc:
            message = str(exc)
            assert message.isascii()
            assert len(message.splitlines()) == 1
            assert len(message) < 400
    assert shown(value).isascii()


@given(st.from_regex(rf"\A{DNS_LABEL}\Z").filter(lambda v: len(v) <= CLUSTER_NAME_MAX))
def test_every_dns_label_of_at_most_20_characters_is_a_cluster_name(name: str) -> None:
    assert check_cluster_name(name) == name


@given(st.text(min_size=1, max_size=40))
def test_a_cluster_name_is_accepted_exactly_when_it_is_a_short_dns_label(value: str) -> None:
    import re

    expected = len(value) <= CLUSTER_NAME_MAX and re.fullmatch(DNS_LABEL, value) is not None
    try:
        check_cluster_name(value)
        accepted = True
    except InvalidName:
        accepted = False
    assert accepted == expected


@pytest.mark.parametrize("prefix", ["", "a-", "ci-", "na-", "abcde-", "0-"])
def test_valid_prefixes(prefix: str) -> None:
    assert check_cluster_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["-", "a", "ab", "abcdef-", "A-", "a--", "a-b-", "a_", "ä-", "a-\n"])
def test_invalid_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidName, match="is not a cluster prefix"):
        check_cluster_prefix(prefix)


@given(
    st.from_regex(r"\A[a-z0-9]{1,5}-\Z"),
    st.from_regex(r"\A[a-z0-9]{1,5}-\Z"),
    st.from_regex(rf"\A{DNS_LABEL}\Z"),
)
def test_a_cluster_name_is_within_at_most_one_prefix(first: str, second: str, rest: str) -> None:
    """A prefix holds one "-", at its end: no suite's prefix reaches into another suite's clusters."""
    name = first + rest
    if first != second:
        assert not (owned_by(name, first) and owned_by(name, second))
    assert owned_by(name, "")


@pytest.mark.parametrize("run_id", ["run-1a2b3c4d", "a", "na-killed", "x" * RUN_ID_MAX, "0"])
def test_valid_run_ids(run_id: str) -> None:
    assert check_run_id(run_id) == run_id


@pytest.mark.parametrize(
    "run_id", ["", "Run", "a_b", "a.b", "-a", "a-", "a/b", "ä", "x" * (RUN_ID_MAX + 1), "a\nb", "a,b!=c"]
)
def test_invalid_run_ids_are_refused(run_id: str) -> None:
    with pytest.raises(InvalidName, match="is not a run id"):
        check_run_id(run_id)


@given(st.from_regex(rf"\A{DNS_LABEL}\Z").filter(lambda v: len(v) <= RUN_ID_MAX))
def test_every_run_id_is_a_kubernetes_label_value(run_id: str) -> None:
    assert check_run_id(run_id) == run_id
    assert is_label_value(run_id)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("", True), ("a", True), ("A.b_c-9", True), ("x" * 63, True), ("x" * 64, False), ("-a", False), ("a.", False)],
)
def test_label_value_rule(value: str, valid: bool) -> None:
    assert is_label_value(value) is valid


def test_shown_quotes_escapes_and_shortens() -> None:
    assert shown("a\nb") == '"a\\nb"'
    assert shown("\u2028") == '"\\u2028"'
    assert shown("x" * 100) == '"' + "x" * 40 + '..." (100 characters)'


# --- where settings apply the rules ---------------------------------------------------------------------


def test_lab_home_must_be_absolute() -> None:
    assert lab_home({}) == DEFAULT_LAB_HOME
    assert lab_home({"CAAS_LAB_HOME": "/tmp/lab"}) == Path("/tmp/lab")
    for bad in ("", "lab", "./lab"):
        with pytest.raises(ConfigError, match=r"CAAS_LAB_HOME: .* is not an absolute path"):
            lab_home({"CAAS_LAB_HOME": bad})


def test_cluster_prefix_from_the_environment() -> None:
    assert cluster_prefix({}) == ""
    assert cluster_prefix({"CAAS_CLUSTER_PREFIX": "na-"}) == "na-"
    with pytest.raises(ConfigError, match='CAAS_CLUSTER_PREFIX: "NA" is not a cluster prefix'):
        cluster_prefix({"CAAS_CLUSTER_PREFIX": "NA"})


def test_a_run_id_error_names_where_the_run_id_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'^--run-id: "Bad" is not a run id'):
        valid_run_id("Bad")
    targets = _targets(tmp_path, "blue")
    with pytest.raises(ConfigError, match=r'^CAAS_RUN_ID: "a_b" is not a run id'):
        build_settings(targets_path=targets, environment={"CAAS_RUN_ID": "a_b"})
    with pytest.raises(ConfigError, match=r'^--run-id: "" is not a run id: it is empty'):
        build_settings(targets_path=targets, environment={}, run_id="")
    assert build_settings(targets_path=targets, environment={}, run_id="r1").run_id == "r1"


def _targets(directory: Path, tenant: str) -> Path:
    path = directory / "targets.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        products:
          - name: pks
            backend: lab
            lab: {{profile: pks}}
            plans:
              - {{name: small}}
        tenancy:
          - product: pks
            tenants:
              - {{name: {tenant}, plan: small}}
        """)
    )
    return path


@given(st.text(alphabet="abz09-.A_\n", max_size=70))
@example("a" * 63)
@example("a" * 64)
@example("tenant-blue\n")
def test_a_dns_label_is_the_rfc_1123_label_within_its_length(value: str) -> None:
    assert is_dns_label(value) is (len(value) <= 63 and re.fullmatch(DNS_LABEL, value) is not None)
    assert is_dns_label(value, 5) is (is_dns_label(value) and len(value) <= 5)
