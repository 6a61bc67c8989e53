"""Canary secrets of every shape go through the places that handle credentials; none reaches an artifact.

A pytest-bdd session (tests/canary) creates credentials, API clients and kubeconfig clients from 50+
canaries, logs, prints and attaches them and fails with them in its assertion. Its Allure results,
JUnit file, log file, terminal output and the Allure 3 report generated from them are then searched
for every canary, literally and with the final scan of `caas run`; and the scan must catch a file in
which one canary was planted unredacted.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import redaction
from harness.cli import run_command
from harness.errors import ExitCode, SecretLeakError
from provisioning.lab import pki
from reports import allure_report
from tests.support import ROOT


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt() -> str:
    header = _b64url(json.dumps({"alg": "RS256", "kid": secrets.token_hex(4)}).encode())
    claims = {"iss": "https://oidc.example", "sub": secrets.token_hex(6), "aud": "caas", "email": "a@b.example"}
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(secrets.token_bytes(64))}"


def _key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _kubeconfig(ca_pem: str, index: int) -> str:
    user = (
        {"token": secrets.token_urlsafe(32)}
        if index % 2
        else {
            "client-certificate-data": base64.b64encode(ca_pem.encode()).decode(),
            "client-key-data": base64.b64encode(_key_pem().encode()).decode(),
        }
    )
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {
                        "server": "https://127.0.0.1:1",
                        "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        },
        indent=1,
    )


def _canaries() -> dict[str, list[str]]:
    ca = pki.new_ca("canary-ca").cert_pem.decode()
    return {
        "ca_pem": [ca],
        "bearer": [secrets.token_urlsafe(24) for _ in range(10)],  # lab-style static tokens
        "static": [secrets.token_hex(16) for _ in range(5)],  # shapeless: only registration finds them
        "key_pem": [_key_pem() for _ in range(5)],
        "jwt": [_jwt() for _ in range(10)],  # OIDC ID tokens, never registered: found by shape
        "url": [f"https://tenant{i}:{secrets.token_urlsafe(12)}@registry.example/v2/" for i in range(10)],
        "password": [f"password={secrets.token_urlsafe(10)}" for _ in range(5)],
        "kubeconfig": [_kubeconfig(ca, i) for i in range(6)],
    }


def _secret_parts(canaries: dict[str, list[str]]) -> list[str]:
    """What must not appear anywhere: each secret, and each secret inside the composite canaries."""
    parts = canaries["bearer"] + canaries["static"] + canaries["jwt"]
    parts += [url.split(":")[2].split("@")[0] for url in canaries["url"]]
    parts += [p.split("=", 1)[1] for p in canaries["password"]]
    for pem in canaries["key_pem"]:
        parts += [line for line in pem.splitlines() if not line.startswith("-----")]
    for kubeconfig in canaries["kubeconfig"]:
        user = json.loads(kubeconfig)["users"][0]["user"]
        if "token" in user:
            parts.append(user["token"])
        else:
            key = base64.b64decode(user["client-key-data"]).decode()
            parts += [user["client-key-data"][:60]]
            parts += [line for line in key.splitlines() if not line.startswith("-----")]
    return parts


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], Path]:
    canaries = _canaries()
    private = tmp_path_factory.mktemp("canaries")
    (private / "canaries.json").write_text(json.dumps(canaries))
    out = tmp_path_factory.mktemp("artifacts")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/canary/canary_session.py",
        "-p",
        "no:cacheprovider",
        "-rA",
        "-v",
        "-l",  # local variables in tracebacks: the canaries are in them
        f"--alluredir={out / 'allure-results'}",
        f"--junitxml={out / 'junit.xml'}",
        f"--log-file={out / 'log.txt'}",
        "--log-file-level=DEBUG",
        f"--secret-digests={out / redaction.DIGESTS_FILE}",
        f"--basetemp={private / 'tmp'}",
    ]
    env = {**os.environ, "CAAS_CANARIES": str(private / "canaries.json")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)
    (out / "pytest.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 1, f"the canary scenario must run and fail on purpose:\n{done.stdout[-3000:]}"
    try:
        config = out / "allurerc.mjs"
        config.write_text(allure_report.allure_config(["canary"], [], out / "history.jsonl"))
        allure_report.generate(out / "allure-results", out / "allure-report", config)
    except allure_report.AllureUnavailable as exc:
        pytest.fail(f"{exc} (make test installs it)")
    return canaries, out


def test_at_least_fifty_canaries_of_every_shape(canary_run: tuple[dict[str, list[str]], Path]) -> None:
    canaries, _ = canary_run
    planted = sum(len(v) for k, v in canaries.items() if k != "ca_pem")
    assert planted >= 50
    assert {"bearer", "key_pem", "jwt", "url", "password", "kubeconfig", "static"} <= set(canaries)


def test_no_canary_reaches_any_artifact(canary_run: tuple[dict[str, list[str]], Path]) -> None:
    canaries, out = canary_run
    files = [p for p in out.rglob("*") if p.is_file() and p.name != redaction.DIGESTS_FILE]
    assert {"junit.xml", "log.txt", "pytest.log", "index.html"} <= {p.name for p in files}
    assert len(list((out / "allure-results").glob("*-attachment*"))) >= 20, "the attachments were written"
    texts = {p: p.read_bytes().decode("utf-8", "replace") for p in files}
    embedded = {
        f"{p}!{name}": base64.b64decode(data).decode("utf-8", "replace")
        for p, text in texts.items()
        if p.suffix == ".html"
        for name, data in redaction._EMBEDDED.findall(text)
    }
    found = [
        (str(path), part[:12] + "...")
        for part in _secret_parts(canaries)
        for path, text in [*texts.items(), *embedded.items()]
        if part in text
    ]
    assert not found, f"canaries reached artifacts: {found[:10]}"
    assert "[REDACTED]" in texts[out / "junit.xml"], "the failure text went through the redactor"


def test_the_final_scan_finds_nothing(canary_run: tuple[dict[str, list[str]], Path]) -> None:
    _, out = canary_run
    digests = redaction.read_digests(out / redaction.DIGESTS_FILE)
    assert len(digests) >= 20, "the session registered the credentials it handled"
    assert redaction.scan(out, digests) == []


def test_the_final_scan_catches_a_deliberately_unredacted_file(
    canary_run: tuple[dict[str, list[str]], Path], tmp_path: Path
) -> None:
    canaries, out = canary_run
    digests = redaction.read_digests(out / redaction.DIGESTS_FILE)
    planted = {
        "bearer.txt": f"curl -H 'Authorization: Bearer {canaries['bearer'][0]}'",
        "static.txt": f"the token was {canaries['static'][0]} then",  # no shape at all: found by digest
        "key.txt": canaries["key_pem"][0],
        "jwt.json": json.dumps({"message": canaries["jwt"][0]}),
        "url.log": f"pulling {canaries['url'][0]}",
        "kubeconfig.yaml": canaries["kubeconfig"][0],
    }
    for name, text in planted.items():
        run_dir = tmp_path / name.replace(".", "-")
        run_dir.mkdir()
        (run_dir / name).write_text(text)
        (run_dir / redaction.DIGESTS_FILE).write_text("\n".join(sorted(digests)))
        assert redaction.scan(run_dir, digests), f"the scan missed {name}"
        with pytest.raises(SecretLeakError) as caught:
            run_command.scan_artifacts(run_dir, tmp_path / "no-history.jsonl")
        assert caught.value.exit_code is ExitCode.SECRET_LEAKED
