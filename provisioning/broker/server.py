"""Serve the bundled broker over HTTP: basic auth required, credentials never logged.

The Flask app comes from openbrokerapi's blueprint, served by Werkzeug's
threaded server (requests are handled concurrently; the broker serialises its
decisions). openbrokerapi logs request headers at debug level; its loggers are
held at INFO and a filter redacts the broker password from every log record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask
from openbrokerapi import api, errors
from openbrokerapi.helper import to_json_response
from openbrokerapi.response import ErrorResponse
from werkzeug.serving import BaseWSGIServer, make_server

from provisioning.broker.service import LabClusterBroker

LOGGER = logging.getLogger("caas.broker")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BrokerCredentials:
    """Basic-auth credentials the broker requires (from the environment; never shown)."""

    username: str
    password: str = field(repr=False)


class _Redact(logging.Filter):
    """Removes the broker password and terminal colour codes (Werkzeug colours its request lines)."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _ANSI.sub("", message)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "<redacted>")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def create_app(broker: LabClusterBroker, credentials: BrokerCredentials) -> Flask:
    """The broker's WSGI app: the OSB API with basic auth, ConcurrencyError mapped to 422 everywhere."""
    for name in ("openbrokerapi", LOGGER.name, "werkzeug"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addFilter(_Redact((credentials.password,)))
    blueprint = api.get_blueprint(broker, api.BrokerCredentials(credentials.username, credentials.password), LOGGER)

    def concurrency(_exc: Exception) -> Any:  # openbrokerapi maps it for some endpoints only (not provision)
        body = ErrorResponse(error="ConcurrencyError", description="Another operation on this instance is in progress.")
        return to_json_response(body), HTTPStatus.UNPROCESSABLE_ENTITY

    def bad_request(exc: Exception) -> Any:
        return to_json_response(ErrorResponse(description=str(exc))), HTTPStatus.BAD_REQUEST

    blueprint.register_error_handler(errors.ErrConcurrentInstanceAccess, concurrency)
    blueprint.register_error_handler(errors.ErrBadRequest, bad_request)
    app = Flask("caas-broker")
    app.register_blueprint(blueprint)
    return app


def make_broker_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """A threaded HTTP server for the app (port 0: any free port, see `server_port`)."""
    return make_server(host, port, app, threaded=True)
