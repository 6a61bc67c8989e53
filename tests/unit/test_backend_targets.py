"""Targets of the product backends (pks, bosh, osb, proxy): each malformed section is one clear line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from tests.support import ROOT

BASE = """\
version: 1
products:
  - name: p
    backend: {backend}
    {section}
    plans: [{{name: small}}]
tenancy:
  - product: p
    tenants: [{{name: blue, plan: small}}]
"""
PKS = 'pks: {api_url: "https://api.pks.example.com:9021", username_env: PKS_USER, password_env: PKS_PASSWORD}'
OSB = 'osb: {broker_url: "https://broker.example.com", username_env: B_USER, password_env: B_PASSWORD}'
BOSH = (
    'bosh: {director_url: "https://10.0.0.6:25555", client_env: BOSH_CLIENT, client_secret_env: BOSH_CLIENT_SECRET, '
    "manifest: cfcr.yml}"
)


def _text(backend: str, section: str) -> str:
    return BASE.format(backend=backend, section=section)


MALFORMED = [
    (
        "pks-url",
        "pks",
        PKS.replace('"https://api.pks.example.com:9021"', "api.pks"),
        "products[0].pks.api_url",
        '"api.pks" is not an http(s) URL',
    ),
    ("pks-grant", "pks", PKS.replace("}", ", grant: implicit}"), "products[0].pks.grant", 'unknown grant "implicit"'),
    (
        "pks-inline-password",
        "pks",
        PKS.replace("}", ", password: hunter2}"),
        "products[0].pks.password",
        "secrets are never written inline",
    ),
    (
        "pks-master-host",
        "pks",
        PKS.replace("}", ', master_host: "api.example.com"}'),
        "products[0].pks.master_host",
        "is not a host name template with {cluster}",
    ),
    ("pks-poll", "pks", PKS.replace("}", ", poll_seconds: 0}"), "products[0].pks.poll_seconds", "out of range"),
    (
        "pks-missing-env",
        "pks",
        PKS.replace(", password_env: PKS_PASSWORD", ""),
        "products[0].pks.password_env",
        "required field is missing",
    ),
    (
        "bosh-manifest-unreadable",
        "bosh",
        BOSH.replace("cfcr.yml", "missing.yml"),
        "products[0].bosh.manifest",
        "cannot read",
    ),
    (
        "bosh-credhub-half",
        "bosh",
        BOSH.replace("}", ", credhub_client_env: CH}"),
        "products[0].bosh.credhub_client_env",
        "set both credhub_client_env and credhub_client_secret_env",
    ),
    (
        "osb-env-name",
        "osb",
        OSB.replace("B_USER", "broker user"),
        "products[0].osb.username_env",
        "is not an environment variable name",
    ),
    ("osb-missing-section", "osb", "", "products[0].osb", 'backend "osb" needs a "osb:" section'),
    (
        "proxy-half-auth",
        "osb",
        OSB + '\n    proxy: {url: "http://proxy:3128", username_env: PU}',
        "products[0].proxy",
        "needs both username_env and password_env",
    ),
    (
        "proxy-url",
        "osb",
        OSB + "\n    proxy: {url: proxy.example.com}",
        "products[0].proxy.url",
        "is not an http(s) URL",
    ),
]


@pytest.mark.parametrize(
    ("backend", "section", "path", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_backend_section_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], backend: str, section: str, path: str, message: str
) -> None:
    (tmp_path / "cfcr.yml").write_text("name: cfcr\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text(_text(backend, section))
    code = main(["check-config", str(targets)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"caas: error: {targets}: {path}: "), lines[0]
    assert message in lines[0]
    assert "hunter2" not in err


@pytest.mark.parametrize("section", [PKS, OSB, BOSH], ids=["pks", "osb", "bosh"])
def test_valid_backend_sections_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str) -> None:
    (tmp_path / "cfcr.yml").write_text("name: cfcr\n")
    targets = tmp_path / "targets.yaml"
    backend = section.split(":", 1)[0]
    targets.write_text(
        _text(backend, section + '\n    proxy: {url: "http://proxy:3128", username_env: A, password_env: B}')
    )
    assert main(["check-config", str(targets)]) == 0, capsys.readouterr().err


def test_the_commented_backend_examples_of_the_example_targets_are_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = (ROOT / "targets.example.yaml").read_text().splitlines()
    products: list[str] = []
    for name in ("tkgi", "cfcr-bosh", "pks-osb"):
        start = example.index(f"  # - name: {name}")
        block = [example[start]]
        block += [line for line in _takewhile_commented(example[start + 1 :])]
        products += [line.replace("  # ", "  ", 1) for line in block]
    for needed in ("pks-ca.pem", "bosh-ca.pem"):
        (tmp_path / needed).write_text("ca")
    manifests = tmp_path / "kubo-deployment" / "manifests" / "ops-files" / "misc"
    manifests.mkdir(parents=True)
    for path in ("cfcr.yml", "ops-files/misc/single-master.yml", "ops-files/allow-privileged-containers.yml"):
        (tmp_path / "kubo-deployment" / "manifests" / path).write_text("[]\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "version: 1\nproducts:\n" + "\n".join(products) + "\ntenancy:\n  - product: pks-osb\n"
        "    tenants: [{name: blue, plan: small}]\n"
    )
    assert main(["check-config", str(targets)]) == 0, capsys.readouterr().err


def _takewhile_commented(lines: list[str]) -> list[str]:
    block = []
    for line in lines:
        if not line.startswith("  #   "):
            break
        block.append(line)
    return block


def test_the_broker_needs_its_credentials(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAAS_BROKER_USERNAME", raising=False)
    monkeypatch.delenv("CAAS_BROKER_PASSWORD", raising=False)
    assert main(["broker", "serve", "--port", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "caas: error: CAAS_BROKER_USERNAME: is not set (export the broker's basic-auth credentials)"
    ]


def test_the_broker_serves_only_lab_products(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(_text("osb", OSB))
    monkeypatch.setenv("CAAS_BROKER_USERNAME", "u")
    monkeypatch.setenv("CAAS_BROKER_PASSWORD", "p")
    assert main(["broker", "serve", "--targets", str(targets), "--product", "p", "--port", "0"]) == 2
    assert 'product "p" is not a lab product' in capsys.readouterr().err
