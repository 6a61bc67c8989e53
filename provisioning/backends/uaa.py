"""UAA tokens (OAuth2) for PKS/TKGI, the BOSH director and CredHub.

Two grants: `password` (what the product CLIs do, with a public client such as
`pks_cli` or `bosh_cli` and an empty secret) and `client_credentials` (a UAA
client made for automation, the usual choice in CI). Tokens are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import InfrastructureError
from provisioning.http import HttpClient, HttpFailure, basic_auth

PASSWORD = "password"  # noqa: S105 (the grant type's name)
CLIENT_CREDENTIALS = "client_credentials"
GRANTS = (PASSWORD, CLIENT_CREDENTIALS)


@dataclass(frozen=True)
class Grant:
    """How to ask UAA for a token; `where` names the settings for error lines."""

    kind: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    where: str = ""

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.client_secret, self.password)


def fetch_token(uaa: HttpClient, grant: Grant) -> str:
    """A bearer token from UAA's `/oauth/token`; a refusal is one line that says which settings to check."""
    form = {"grant_type": grant.kind, "response_type": "token"}
    if grant.kind == PASSWORD:
        form.update({"username": grant.username or "", "password": grant.password or ""})
    for secret in grant.secrets:
        uaa.add_secret(secret)
    check = grant.where or "the credentials"
    try:
        response = uaa.request(
            "POST",
            "/oauth/token",
            form=form,
            headers={"Authorization": basic_auth(grant.client_id, grant.client_secret)},
            hints={
                400: f"UAA refused the request: check {check} (grant {grant.kind}, client {grant.client_id})",
                401: f"UAA rejected the credentials: check {check}",
                403: f"UAA refused the client {grant.client_id}: check its authorized grant types",
            },
        )
    except HttpFailure as exc:
        if exc.status == 400 and "invalid_grant" in str(exc):  # UAA's answer to a wrong user password
            raise HttpFailure(uaa.redact(f"{uaa.service}: UAA rejected the credentials: check {check}"), 401) from None
        raise
    token = response.json().get("access_token") if isinstance(response.json(), dict) else None
    if not isinstance(token, str) or not token:
        raise InfrastructureError(f"{uaa.service}: UAA answered without an access token (is {uaa.base_url} a UAA?)")
    uaa.add_secret(token)
    return token
