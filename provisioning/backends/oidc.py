"""ID tokens from an OIDC issuer by the resource owner password grant (RFC 6749 section 4.3).

The client authenticates with HTTP basic (client_secret_basic) and asks for scope `openid groups`;
the answer's `id_token` is what the Kubernetes API server takes as a bearer token. A wrong password is
`invalid_grant` (400), an unknown client `invalid_client` (401). Passwords and tokens are registered
for redaction and never appear in messages.
"""

from __future__ import annotations

from harness.errors import InfrastructureError
from harness.redaction import register
from provisioning.http import HttpClient, HttpFailure, basic_auth

PASSWORD_GRANT = "password"  # noqa: S105 (the grant type's name)
SCOPE = "openid groups"


class GrantRefused(InfrastructureError):
    """The issuer refused the grant; `error` is its RFC 6749 error code (e.g. invalid_grant)."""

    def __init__(self, message: str, status: int, error: str) -> None:
        self.status = status
        self.error = error
        super().__init__(message)


def password_grant(issuer: HttpClient, client_id: str, client_secret: str, username: str, password: str) -> str:
    """The ID token the issuer gives `username` for `password`."""
    register(client_secret, password)
    for secret in (client_secret, password):
        issuer.add_secret(secret)
    form = {"grant_type": PASSWORD_GRANT, "username": username, "password": password, "scope": SCOPE}
    try:
        response = issuer.request(
            "POST", "/token", form=form, headers={"Authorization": basic_auth(client_id, client_secret)}
        )
    except HttpFailure as exc:
        if exc.status in (400, 401) and exc.error_code:
            raise GrantRefused(
                f"{issuer.service} refused the password grant for {username}: {exc.error_code} ({exc.status})",
                exc.status,
                exc.error_code,
            ) from None
        raise
    answer = response.json()
    token = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or token.count(".") != 2:
        raise InfrastructureError(f"{issuer.service} answered the password grant without an ID token")
    register(token)
    issuer.add_secret(token)
    return token
