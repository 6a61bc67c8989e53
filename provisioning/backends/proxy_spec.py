"""A product's `proxy:` section of the targets file: the HTTP proxy its backend's API calls go through
(pks, bosh, osb; provisioning.http.Proxy is the client's side)."""

from __future__ import annotations

from pydantic import model_validator

from provisioning.fields import EnvName, HttpUrl, Spec


class ProxySpec(Spec):
    """An HTTP(S) proxy at `url`; with authentication, both variables name its user and password."""

    url: HttpUrl
    username_env: EnvName | None = None
    password_env: EnvName | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> ProxySpec:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("a proxy with authentication needs both username_env and password_env (or neither)")
        return self
