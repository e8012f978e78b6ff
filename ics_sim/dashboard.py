"""``python -m ics_sim.dashboard`` (or ``ics-sim-dashboard``): start the workshop dashboard.

Serves the Solara page :func:`ics_sim.views.dashboard.app.Page` on http://127.0.0.1:8765 (this
computer only). ``--host 0.0.0.0`` shares it on the workshop's network, with a warning: anyone
who can reach the address can use it. Solara serves its own scripts and styles, so the page
needs no internet connection.
"""

from __future__ import annotations

import argparse
import sys

APP = "ics_sim.views.dashboard.app:Page"
LOCAL = ("127.0.0.1", "localhost", "::1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ics_sim.dashboard",
        description="Start the ics_sim workshop dashboard in the browser (Solara). Open the address it prints.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 shares it on the network)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port = {args.port} is out of range: allowed 0 to 65535")
    return args


def solara_args(args: argparse.Namespace) -> list[str]:
    """The ``solara run`` command line for the options."""
    return ["run", APP, "--host", args.host, "--port", str(args.port), "--production", "--no-open", "--log-level", "warning"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        from solara.__main__ import cli as solara_cli
    except ModuleNotFoundError:
        sys.exit("the dashboard needs Solara: pip install 'ics_sim[dashboard]'")
    if args.host not in LOCAL:
        print(f"WARNING: serving on {args.host}: anyone who can reach this computer on port {args.port} can open and "
              "use the dashboard. Use this only on a workshop network you trust; the default 127.0.0.1 keeps it on "
              "this computer.", file=sys.stderr)
    shown = "127.0.0.1" if args.host in LOCAL else args.host
    print(f"ics_sim workshop dashboard: open http://{shown}:{args.port} in a browser (Ctrl+C stops it)", flush=True)
    solara_cli(solara_args(args), prog_name="ics-sim-dashboard")


if __name__ == "__main__":
    main()
