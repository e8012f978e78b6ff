"""``python -m ics_sim.dashboard`` (or ``ics-sim-dashboard``): start the workshop dashboard.

Serves the Solara page :func:`ics_sim.views.dashboard.app.Page` on http://127.0.0.1:8765 (this
computer only). ``--host 0.0.0.0`` shares it on the workshop's network, with a warning: anyone
who can reach the address can use it. Solara serves its own scripts and styles, so the page
needs no internet connection.
"""

from __future__ import annotations

import argparse

from ics_sim.views.serve import (
    LOCAL,
    add_server_options,
    check_server_options,
    solara_cli,
    warn_if_shared,
)
from ics_sim.views.serve import solara_args as _solara_args

APP = "ics_sim.views.dashboard.app:Page"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ics_sim.dashboard",
        description="Start the ics_sim workshop dashboard in the browser (Solara). Open the address it prints.",
    )
    add_server_options(parser, 8765)
    args = parser.parse_args(argv)
    check_server_options(parser, args)
    return args


def solara_args(args: argparse.Namespace) -> list[str]:
    """The ``solara run`` command line for the options."""
    return _solara_args(APP, args.host, args.port)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cli = solara_cli("dashboard")
    warn_if_shared(args.host, args.port, "open and use the dashboard")
    shown = "127.0.0.1" if args.host in LOCAL else args.host
    print(f"ics_sim workshop dashboard: open http://{shown}:{args.port} in a browser (Ctrl+C stops it)", flush=True)
    cli(solara_args(args), prog_name="ics-sim-dashboard")


if __name__ == "__main__":
    main()
