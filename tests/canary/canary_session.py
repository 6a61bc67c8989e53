"""A pytest-bdd session that pushes canary secrets through every place the suite handles credentials.

Run by tests/unit/test_canary_secrets.py in a subprocess (it fails on purpose, so it is not named test_*);
the canaries come from the JSON file named by CAAS_CANARIES.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import allure
from pytest_bdd import given, scenarios, then, when

from checks.evidence import attach_html, attach_text
from provisioning.backends.protocol import Credential
from provisioning.kube import client

scenarios(str(Path(__file__).with_name("canary.feature")))
log = logging.getLogger("caas.canary")


@given("the canary secrets", target_fixture="canaries")
def canary_secrets() -> dict[str, list[str]]:
    return json.loads(Path(os.environ["CAAS_CANARIES"]).read_text())


@when("the suite handles them as credentials")
def handle_as_credentials(canaries: dict[str, list[str]], tmp_path: Path) -> None:
    ca = canaries["ca_pem"][0].encode()
    for token in canaries["bearer"] + canaries["static"]:
        credential = Credential(token=token)
        client.api_client(client.Cluster("https://127.0.0.1:1", ca), token=credential.token)
    for key in canaries["key_pem"]:
        Credential(cert_pem=ca, key_pem=key.encode())
    for index, kubeconfig in enumerate(canaries["kubeconfig"]):
        path = tmp_path / f"kubeconfig-{index}"
        path.write_text(kubeconfig)
        client.from_kubeconfig(path)


@when("the suite logs, prints and attaches them")
def log_print_attach(canaries: dict[str, list[str]]) -> None:
    everything = [v for kind, values in canaries.items() if kind != "ca_pem" for v in values]
    for value in everything:
        log.warning("handling %s", value)
        log.warning("Authorization: Bearer %s", value)
        print("credential in use:", value)
    for kubeconfig in canaries["kubeconfig"]:
        attach_text(kubeconfig, "kubeconfig")
        allure.attach(kubeconfig, name="kubeconfig (raw allure.attach)", attachment_type=allure.attachment_type.TEXT)
    for key in canaries["key_pem"]:
        allure.attach(key, name="client key (raw allure.attach)", attachment_type=allure.attachment_type.TEXT)
    for url in canaries["url"]:
        attach_html(f"<a href='{url}'>registry</a>", "rejection answer")
    for token in canaries["jwt"]:
        allure.attach(
            json.dumps({"kind": "Status", "id_token": token, "message": f"bad token {token}"}),
            name="API answer (raw allure.attach)",
            attachment_type=allure.attachment_type.JSON,
        )
    try:
        raise RuntimeError("login failed with " + " ".join(canaries["password"]))
    except RuntimeError:
        log.exception("while logging in")


@then("the scenario fails with a message that names them")
def fails_naming_them(canaries: dict[str, list[str]]) -> None:
    secrets_in_scope = [v for kind, values in canaries.items() if kind != "ca_pem" for v in values]
    assert not secrets_in_scope, "secrets: " + " ".join(secrets_in_scope)
