"""`caas broker serve`: the bundled Open Service Broker in front of the embedded lab."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType
from typing import Any

from harness.cli.main import environment
from harness.errors import ConfigError, ExitCode
from harness.settings import DEFAULT_TARGETS, build_settings
from provisioning.broker.clusters import LabClusters
from provisioning.broker.server import BrokerCredentials, create_app, make_broker_server
from provisioning.broker.service import LabClusterBroker
from provisioning.lab.cluster import LabPaths

USERNAME_ENV = "CAAS_BROKER_USERNAME"
PASSWORD_ENV = "CAAS_BROKER_PASSWORD"  # noqa: S105 (the variable's name, not a password)


def register(commands: Any) -> None:
    broker = commands.add_parser(
        "broker",
        help="the bundled Open Service Broker (lab clusters as service instances)",
        description="An Open Service Broker (API 2.17) whose catalog is a lab product's plans.",
    )
    actions = broker.add_subparsers(dest="broker_command", metavar="ACTION")
    actions.required = True
    serve = actions.add_parser(
        "serve",
        help="serve the broker until interrupted",
        description=f"Serve the broker. Basic-auth credentials come from {USERNAME_ENV} and {PASSWORD_ENV}; "
        "cluster names start with CAAS_CLUSTER_PREFIX.",
    )
    serve.add_argument("--targets", default=str(DEFAULT_TARGETS), help="targets file whose product's plans to offer")
    serve.add_argument("--product", default="pks", help="a lab product of the targets file (default: pks)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8099, help="port (default: 8099; 0 picks a free one)")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    env = environment()
    settings = build_settings(targets_path=args.targets, environment=env, products=(args.product,))
    spec = settings.targets.product_spec(args.product)
    if spec.backend != "lab":
        raise ConfigError("--product", "", f'product "{args.product}" is not a lab product (pick one with backend lab)')
    for name in (USERNAME_ENV, PASSWORD_ENV):
        if not env.get(name):
            raise ConfigError(name, "", "is not set (export the broker's basic-auth credentials)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    product = settings.targets.model.product(args.product)
    profile = spec.lab.profile if spec.lab else "pks"
    clusters = LabClusters(LabPaths(settings.lab_home), profile, settings.timeouts.lab_ready)
    broker = LabClusterBroker(product, clusters, cluster_prefix=settings.cluster_prefix)
    app = create_app(broker, BrokerCredentials(env[USERNAME_ENV], env[PASSWORD_ENV]))
    server = make_broker_server(app, args.host, args.port)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    plans = ", ".join(p.name for p in product.plans)
    print(f"caas broker: serving plans {plans} of product {product.name} at http://{args.host}:{server.server_port}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    left = broker.live_clusters()
    if left:
        removal = "; ".join(f"caas lab down {name}" for name in left)
        sys.stderr.write(f"caas broker: stopped with clusters still provisioned: {', '.join(left)} (fix: {removal})\n")
    return int(ExitCode.OK)
