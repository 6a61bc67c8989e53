"""A local server answering as a Kubernetes API server's CertificateSigningRequest API does
(certificates.k8s.io/v1: create, the `approval` subresource, get, delete), with a signer for
`kubernetes.io/kube-apiserver-client` that signs approved requests with its own CA, keeping the
requested subject and capping the lifetime at `expirationSeconds`, as kube-controller-manager does.

Knobs: `forbid` (403 on create, as for an admin without the verb), `policy` (a ValidatingAdmissionPolicy
of that name refuses approvals with 422), `signer` (False: approved requests are never signed, as on
control planes without that signer), `fail` (the signer sets Failed with this message), `polls` (GETs
before the certificate appears).
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.contract.fake_apis import Answer, FakeApi

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
SIGNER = "kubernetes.io/kube-apiserver-client"


def _status(code: int, reason: str, message: str) -> Answer:
    return Answer(
        code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message}
    )


class KubeCsrApi(FakeApi):
    """The CSR API of one cluster; `csrs` holds the live objects, `issued` every certificate signed."""

    def __init__(
        self, *, forbid: bool = False, signer: bool = True, fail: str = "", polls: int = 1, policy: str = ""
    ) -> None:
        super().__init__()
        self.forbid = forbid
        self.policy = policy
        self.signer = signer
        self.fail = fail
        self.polls = polls
        self.csrs: dict[str, dict[str, Any]] = {}
        self.bodies: list[bytes] = []  # every request body, to show what left the client
        self.issued: list[x509.Certificate] = []
        self._gets: dict[str, int] = {}
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-cluster-ca")])
        now = datetime.datetime.now(datetime.UTC)
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )

    @property
    def ca_pem(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        self.bodies.append(body)
        if path == "/version" and method == "GET":
            return Answer(200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0"})
        if path == CSRS and method == "POST":
            return self._create(json.loads(body))
        name, _, sub = path.removeprefix(CSRS + "/").partition("/")
        if not path.startswith(CSRS + "/") or name not in self.csrs:
            return _status(404, "NotFound", f'certificatesigningrequests "{name}" not found')
        if sub == "approval" and method == "PUT":
            return self._approve(name, json.loads(body))
        if not sub and method == "GET":
            return Answer(200, self._progress(name))
        if not sub and method == "DELETE":
            self.csrs.pop(name)
            return Answer(200, {"kind": "Status", "status": "Success"})
        return _status(405, "MethodNotAllowed", f"{method} {path}")

    def _create(self, csr: dict[str, Any]) -> Answer:
        if self.forbid:
            return _status(
                403,
                "Forbidden",
                'certificatesigningrequests.certificates.k8s.io is forbidden: User "admin" cannot create resource '
                '"certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope',
            )
        spec = csr.get("spec", {})
        if spec.get("signerName") != SIGNER or "client auth" not in spec.get("usages", []):
            return _status(422, "Invalid", "spec.signerName or spec.usages not for a client certificate")
        if int(spec.get("expirationSeconds", 600)) < 600:
            return _status(422, "Invalid", "spec.expirationSeconds: must be greater than or equal to 600")
        name = csr["metadata"]["name"]
        if name in self.csrs:
            return _status(409, "AlreadyExists", f'certificatesigningrequests "{name}" already exists')
        stored = {**csr, "metadata": {**csr["metadata"], "resourceVersion": "1", "uid": f"uid-{name}"}, "status": {}}
        spec["username"] = "admin"
        self.csrs[name] = stored
        return Answer(201, stored)

    def _approve(self, name: str, csr: dict[str, Any]) -> Answer:
        conditions = csr.get("status", {}).get("conditions") or []
        if self.policy:  # a ValidatingAdmissionPolicy without `reason` answers 422 Invalid
            return _status(
                422,
                "Invalid",
                f'certificatesigningrequests.certificates.k8s.io "{name}" is forbidden: ValidatingAdmissionPolicy '
                f"'{self.policy}' with binding '{self.policy}' denied request: CSR approval is the platform team's",
            )
        if not any(c.get("type") == "Approved" for c in conditions):
            return _status(422, "Invalid", "status.conditions: no Approved or Denied condition")
        self.csrs[name]["status"]["conditions"] = conditions
        return Answer(200, self.csrs[name])

    def _progress(self, name: str) -> dict[str, Any]:
        csr = self.csrs[name]
        status = csr["status"]
        approved = any(c.get("type") == "Approved" for c in status.get("conditions", []))
        self._gets[name] = self._gets.get(name, 0) + 1
        if approved and self.signer and not status.get("certificate") and self._gets[name] > self.polls:
            if self.fail:
                status["conditions"].append(
                    {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": self.fail}
                )
            else:
                status["certificate"] = base64.b64encode(self._sign(csr)).decode()
        return csr

    def _sign(self, csr: dict[str, Any]) -> bytes:
        request = x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))
        now = datetime.datetime.now(datetime.UTC)
        lifetime = datetime.timedelta(seconds=min(int(csr["spec"]["expirationSeconds"]), 365 * 86400))
        cert = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(self.ca.subject)
            .public_key(request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + lifetime)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )
        self.issued.append(cert)
        return cert.public_bytes(serialization.Encoding.PEM)
