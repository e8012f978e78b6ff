"""Serving a Solara page from the command line, as the dashboard and the participatory workshop
do: the ``--port`` / ``--host`` options (this computer only unless told), the warning when a page
is shared on a network, and ``solara run`` in production mode."""

from __future__ import annotations

import argparse
import sys

#: host names that keep a page on this computer
LOCAL = ("127.0.0.1", "localhost", "::1")


def add_server_options(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--port", type=int, default=port, help=f"port to serve on (default {port})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 shares it on the network)")


def check_server_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        parser.error(f"--port = {args.port} is out of range: allowed 0 to 65535")


def solara_cli(what: str):
    """Solara's command line, or exit with the install line when the extra is missing."""
    try:
        from solara.__main__ import cli
    except ModuleNotFoundError:
        sys.exit(f"the {what} needs Solara: pip install 'ics_sim[dashboard]'")
    return cli


def warn_if_shared(host: str, port: int, who_can: str) -> None:
    """One warning on stderr when ``host`` is not this computer only."""
    if host not in LOCAL:
        print(f"WARNING: serving on {host}: anyone who can reach this computer on port {port} can {who_can}. "
              "Use this only on a workshop network you trust; the default 127.0.0.1 keeps it on this computer.",
              file=sys.stderr)


def solara_args(app: str, host: str, port: int) -> list[str]:
    """The ``solara run`` command line for a page."""
    return ["run", app, "--host", host, "--port", str(port), "--production", "--no-open", "--log-level", "warning"]
