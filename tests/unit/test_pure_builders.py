"""Pure builders no other test names (issue 18): the lab daemons' command lines, the CSR object, the
request attributes of a service account, quantity equality, a tenant role's group, the runner archive's
reference, the over-blocking mutation, the rules-review grouping and the covering design's subjects."""

from __future__ import annotations

import base64
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checks.matrix import Cell
from checks.rbac import access as rbac_access
from checks.rbac import covering, design, rules
from harness.errors import InfrastructureError
from provisioning.images import oci_layout
from provisioning.kube import csr
from provisioning.lab import addons, configs, flags
from provisioning.lab.layout import ClusterLayout
from provisioning.model import access, mutations, quantity
from provisioning.model.onboarding import MANAGED_BY, tenant_manifests
from provisioning.model.rbac import AUTHENTICATED
from provisioning.model.tenancy import Authenticator, Identity, Plan, Role, Tenant, role_group
from provisioning.oncluster import runner_image

BIN = Path("/lab/bin")
LAYOUT = ClusterLayout("pure-x", 3, 2, Path("/lab/clusters/pure-x"))


def _value(argv: list[str], flag: str) -> str:
    values = [arg.split("=", 1)[1] for arg in argv if arg.startswith(f"--{flag}=")]
    assert len(values) == 1, f"--{flag} given {len(values)} times in {argv}"
    return values[0]


# --- provisioning/lab/flags.py --------------------------------------------------------------------------


def test_the_scheduler_runs_as_itself_on_loopback_without_leader_election() -> None:
    argv = flags.kube_scheduler(BIN, LAYOUT)
    assert argv[:2] == [str(BIN / "kube"), "kube-scheduler"]
    own = str(LAYOUT.kubeconfig("kube-scheduler"))
    # kube-scheduler's reference: --kubeconfig, and the delegated authn/authz kubeconfigs for its secure port
    assert _value(argv, "kubeconfig") == own
    assert _value(argv, "authentication-kubeconfig") == own
    assert _value(argv, "authorization-kubeconfig") == own
    assert _value(argv, "bind-address") == "127.0.0.1"
    assert _value(argv, "leader-elect") == "false"


def test_kube_proxy_reads_its_own_nodes_configuration_file() -> None:
    node = LAYOUT.worker_nodes[1]
    argv = flags.kube_proxy(BIN, node)
    assert argv[:2] == [str(BIN / "kube"), "kube-proxy"]
    assert _value(argv, "config") == str(node.path("kube-proxy.json"))
    assert _value(argv, "config") != str(LAYOUT.worker_nodes[0].path("kube-proxy.json"))


def test_the_hostpath_provisioner_serves_the_lab_storage_class_under_the_clusters_volumes() -> None:
    argv = flags.hostpath_provisioner(BIN, LAYOUT)
    assert argv[0] == str(BIN / "hostpath-provisioner")
    assert _value(argv, "root") == str(LAYOUT.volumes)
    assert _value(argv, "kubeconfig") == str(LAYOUT.kubeconfig("provisioner"))
    # the name it provisions for is the default StorageClass's provisioner, else no claim ever binds
    (storage_class,) = [body for _, body in addons.addon_objects("10.0.0.10") if body["kind"] == "StorageClass"]
    assert _value(argv, "name") == storage_class["provisioner"] == configs.PROVISIONER_NAME


# --- provisioning/kube/csr.py ---------------------------------------------------------------------------


def test_the_csr_object_asks_the_api_server_client_signer_for_a_client_certificate() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = csr.signing_request("alice", ("acme:admins", "acme:members"), key)
    body = csr.csr_object("caas-alice-0001", pem, 3600)
    assert body["apiVersion"] == "certificates.k8s.io/v1"
    assert body["kind"] == "CertificateSigningRequest"
    assert body["metadata"]["name"] == "caas-alice-0001"
    assert body["metadata"]["labels"] == {MANAGED_BY: "caas-conformance"}
    spec = body["spec"]
    # Kubernetes docs, "Certificates and Certificate Signing Requests": the kube-apiserver-client signer
    # requires "client auth" and permits only digital signature, key encipherment and client auth
    assert spec["signerName"] == "kubernetes.io/kube-apiserver-client"
    assert "client auth" in spec["usages"]
    assert set(spec["usages"]) <= {"digital signature", "key encipherment", "client auth"}
    assert spec["expirationSeconds"] == 3600
    # spec.request is the PEM PKCS#10 request, base64-encoded (a []byte field in JSON)
    assert base64.b64decode(spec["request"]) == pem
    request = x509.load_pem_x509_csr(base64.b64decode(spec["request"]))
    assert [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["alice"]
    organizations = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert organizations == ["acme:admins", "acme:members"]


# --- provisioning/model/access.py -----------------------------------------------------------------------


def test_a_service_account_request_carries_its_groups_and_system_authenticated() -> None:
    groups = ("system:serviceaccounts", "system:serviceaccounts:tenant-a")
    request = access.service_account_request(
        "system:serviceaccount:tenant-a:builder", groups, "list", "apps", "deployments", "tenant-b", "web", "scale"
    )
    assert request.user == "system:serviceaccount:tenant-a:builder"
    assert request.groups == (*groups, AUTHENTICATED)
    assert AUTHENTICATED == "system:authenticated"
    assert (request.verb, request.group, request.resource) == ("list", "apps", "deployments")
    assert (request.namespace, request.name, request.subresource) == ("tenant-b", "web", "scale")
    assert request.path == ""  # a resource request, never a non-resource one


def test_a_service_account_request_is_not_the_anonymous_users() -> None:
    request = access.service_account_request("system:serviceaccount:a:b", (), "get", "", "pods", "a")
    assert access.UNAUTHENTICATED not in request.groups
    assert request.groups == (AUTHENTICATED,)


# --- provisioning/model/quantity.py ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("1Gi", "1024Mi"), ("500m", "0.5"), ("1k", "1000"), ("1e3", "1k"), ("2", "2000m"), ("1Ki", "1024")],
)
def test_equal_quantities_in_other_units_are_the_same(a: str, b: str) -> None:
    assert quantity.same_quantity(a, b)


@pytest.mark.parametrize(("a", "b"), [("1k", "1Ki"), ("1G", "1Gi"), ("1m", "1M"), ("100Mi", "100M")])
def test_decimal_and_binary_suffixes_are_different_quantities(a: str, b: str) -> None:
    assert not quantity.same_quantity(a, b)


def test_a_malformed_quantity_is_an_error_not_a_difference() -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity.same_quantity("1GB", "1G")


# --- provisioning/model/tenancy.py ----------------------------------------------------------------------


def test_a_role_group_is_the_tenant_and_the_plural_role() -> None:
    assert role_group("acme", Role.ADMIN) == "acme:admins"
    assert role_group("acme", Role.VIEWER) == "acme:viewers"
    assert role_group("acme", Role.DEVELOPER, Authenticator.OIDC) == "oidc:acme:developers"


@pytest.mark.parametrize("authenticator", list(Authenticator))
def test_an_identitys_first_group_is_its_role_group(authenticator: Authenticator) -> None:
    identity = Identity(f"{authenticator.prefix}bob", "acme", Role.VIEWER, authenticator)
    assert identity.groups[0] == role_group("acme", Role.VIEWER, authenticator)


# --- provisioning/oncluster/runner_image.py -------------------------------------------------------------


def test_the_reference_of_a_runner_archive_is_the_one_written_into_it(tmp_path: Path) -> None:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w"):
        pass
    archive = tmp_path / "runner.tar"
    with archive.open("wb") as handle:
        oci_layout.write(handle, layer.getvalue(), {"User": "65532:65532"}, "caas.local/runner:0123456789ab")
    assert runner_image.reference_of(archive) == "caas.local/runner:0123456789ab"


@pytest.mark.parametrize("content", [b"", b"not a tar", None])
def test_a_file_that_is_no_runner_archive_is_an_infrastructure_error(tmp_path: Path, content: bytes | None) -> None:
    archive = tmp_path / "runner.tar"
    if content is None:  # a tar without index.json
        with tarfile.open(archive, "w") as tar:
            info = tarfile.TarInfo("oci-layout")
            tar.addfile(info, io.BytesIO(b""))
    else:
        archive.write_bytes(content)
    with pytest.raises(InfrastructureError, match=r"(?s)no runner image archive .*fix: caas images build-runner"):
        runner_image.reference_of(archive)


# --- provisioning/model/mutations.py --------------------------------------------------------------------


def _onboarding() -> list[dict[str, Any]]:
    return tenant_manifests(Tenant("a", "small"), Plan("small"), run_id="r")


def test_over_blocking_leaves_onboarding_alone_for_other_mutations() -> None:
    manifests = _onboarding()
    for mutation in (None, *(m for m in mutations.Mutation if m is not mutations.Mutation.SAME_TENANT_UDP_SCOPED)):
        assert mutations.over_blocking(mutation, manifests) == manifests


def test_same_tenant_udp_scoped_admits_tcp_to_all_and_udp_among_app_a_only() -> None:
    before = _onboarding()
    after = mutations.over_blocking(mutations.Mutation.SAME_TENANT_UDP_SCOPED, before)
    policies = {m["metadata"]["name"]: m for m in after if m["kind"] == "NetworkPolicy"}
    assert len(after) == len(before) + 1
    tcp = policies["allow-same-tenant"]["spec"]
    assert tcp["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}]
    assert tcp["egress"] == [{"to": [{"podSelector": {}}], "ports": [{"protocol": "TCP"}]}]
    udp = policies["allow-same-tenant-udp-scoped"]
    same = next(m for m in before if m["metadata"]["name"] == "allow-same-tenant")
    assert udp["metadata"]["namespace"] == same["metadata"]["namespace"]
    scoped = {"podSelector": {"matchLabels": {"app": mutations.SCOPED_APP}}}
    assert udp["spec"]["podSelector"] == scoped["podSelector"]
    assert udp["spec"]["policyTypes"] == ["Ingress", "Egress"]  # both ends: kube-router judges either
    assert udp["spec"]["ingress"] == [{"from": [scoped], "ports": [{"protocol": "UDP"}]}]
    assert udp["spec"]["egress"] == [{"to": [scoped], "ports": [{"protocol": "UDP"}]}]
    # the input is not changed in place
    assert next(m for m in before if m["metadata"]["name"] == "allow-same-tenant") == same
    assert "allow-same-tenant-udp-scoped" not in {m["metadata"]["name"] for m in before}


# --- checks/rbac/rules.py -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    user: str
    attributes: dict[str, str] = field(default_factory=dict)


@pytest.mark.parametrize(
    "attributes",
    [
        {"verb": "get", "resource": "pods", "namespace": "tenant-a"},
        {
            "verb": "create",
            "group": "apps",
            "resource": "deployments",
            "subresource": "scale",
            "namespace": "x",
            "name": "w",
        },
    ],
)
def test_a_namespaced_resource_probe_is_answered_by_its_users_rules_review_there(attributes: dict[str, str]) -> None:
    assert rules.group_of(_Probe("alice", attributes)) == ("alice", attributes["namespace"])


@pytest.mark.parametrize(
    "attributes",
    [
        {"verb": "get", "path": "/metrics"},  # non-resource: a rules review's nonResourceRules are not used
        {"verb": "list", "resource": "namespaces"},  # cluster-scoped: no namespace to review
        {"verb": "list", "resource": "pods", "namespace": ""},  # all namespaces
        {"verb": "get", "namespace": "tenant-a"},  # no resource
        {"verb": "get", "resource": "pods", "namespace": "tenant-a", "fieldSelector": "x"},  # not in a rules review
    ],
)
def test_a_probe_a_rules_review_cannot_answer_is_asked(attributes: dict[str, str]) -> None:
    assert rules.group_of(_Probe("alice", attributes)) is None


# --- checks/rbac/design.py and checks/rbac/access.py ----------------------------------------------------


def test_a_tenant_identity_is_the_design_subject_of_its_authenticator_and_role() -> None:
    oidc = Identity("oidc:bob", "acme", Role.VIEWER, Authenticator.OIDC)
    assert design.subject_of(oidc) == covering.Subject("oidc viewer", "acme")
    assert design.subject_of(Identity("al", "beta", Role.ADMIN)) == covering.Subject("certificate admin", "beta")

    @dataclass
    class Account:
        name: str = "sa builder"
        tenant: str = "acme"

    assert design.subject_of(Account()) == covering.Subject("sa builder", "acme")


def test_namespaces_of_names_each_namespaces_owning_tenant_or_none() -> None:
    tenants = [Tenant("a", "small"), Tenant("b", "small", namespaces=("provider-b",))]
    assert design.namespaces_of(["tenant-a", "provider-b", "kube-system", ""], tenants) == (
        covering.Namespace("tenant-a", "a"),
        covering.Namespace("provider-b", "b"),
        covering.Namespace("kube-system", ""),
        covering.Namespace("", ""),
    )


def test_a_probe_that_raised_is_an_error_cell_never_denied() -> None:
    cell, evidence = rbac_access.error_cell(TimeoutError("read timed out"))
    assert cell is Cell.ERROR
    assert evidence == "0: TimeoutError: read timed out"
    assert len(rbac_access.error_cell(ValueError("x" * 1000))[1]) == 300


def test_a_rules_review_that_raised_says_what_raised() -> None:
    assert rbac_access.rules_failed(ConnectionError("reset")) == "SelfSubjectRulesReview raised ConnectionError: reset"
    assert len(rbac_access.rules_failed(ValueError("x" * 1000))) == 300
