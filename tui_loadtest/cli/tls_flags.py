"""``-k/--insecure``, ``--ca-file``, ``--client-cert`` and ``--client-key``, for ``run``
and ``bench``: the command-line side of ``[http] verify_tls``, ``ca_file``,
``client_cert`` and ``client_key``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..scenario import Scenario


def add_tls_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("TLS (over the scenario's [http] keys)")
    group.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the target's certificate (a test server's self-signed one)",
    )
    group.add_argument("--ca-file", metavar="PEM", help="CA certificates to verify the target with")
    group.add_argument(
        "--client-cert",
        metavar="PEM",
        help="a client certificate, for servers that ask for one (its key too, or --client-key)",
    )
    group.add_argument("--client-key", metavar="PEM", help="the client certificate's key")


def apply_tls_flags(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    from ..scenario import with_tls_flags

    return with_tls_flags(
        scenario,
        insecure=args.insecure,
        ca_file=args.ca_file,
        client_cert=args.client_cert,
        client_key=args.client_key,
    )
