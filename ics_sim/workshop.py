"""``python -m ics_sim.workshop``: run a participatory workshop session (issue 16).

Opens one session on a workshop scenario and serves the pages
(:mod:`ics_sim.views.workshop.app`) on http://127.0.0.1:8766 (this computer only). ``--host
0.0.0.0`` lets participants join from their own devices on the workshop's network, with a warning:
anyone who can reach the address can see the join page (joining needs the session code). The
facilitator's address (with its key) and the session code are printed at the start.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket

from ics_sim.views.serve import (
    LOCAL,
    add_server_options,
    check_server_options,
    solara_args,
    solara_cli,
    warn_if_shared,
)

APP = "ics_sim.views.workshop.app:Page"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ics_sim.workshop",
                                     description="Run a participatory workshop: participants play organisations at the "
                                                 "place tables; seats nobody takes stay with the model's agents.")
    add_server_options(parser, 8766)
    parser.add_argument("--scenario", default="02_who_is_at_the_table",
                        help="workshop scenario (a file name in configs/workshop without .yml)")
    parser.add_argument("--years", type=int, default=None, help="simulated years (default: the scenario's)")
    parser.add_argument("--countdown", type=float, default=240.0,
                        help="seconds a meeting waits for the human seats before their agents fill in (default 240)")
    args = parser.parse_args(argv)
    check_server_options(parser, args)
    if args.years is not None and not 1 <= args.years <= 20:
        parser.error(f"--years = {args.years} is out of range: allowed 1 to 20")
    if args.countdown <= 0:
        parser.error(f"--countdown = {args.countdown} must be more than 0 seconds")
    from ics_sim.views.dashboard.scenarios import load_scenarios
    if args.scenario not in load_scenarios():
        parser.error(f"--scenario = {args.scenario!r} is not allowed: choose from {', '.join(load_scenarios())}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cli = solara_cli("workshop")
    warn_if_shared(args.host, args.port, "open the join page (joining needs the session code)")
    shown = "127.0.0.1" if args.host in LOCAL else (socket.gethostbyname(socket.gethostname()) if args.host == "0.0.0.0" else args.host)
    key = secrets.token_urlsafe(8)
    os.environ.update({"ICS_WORKSHOP_SCENARIO": args.scenario, "ICS_WORKSHOP_KEY": key,
                       "ICS_WORKSHOP_COUNTDOWN": str(args.countdown),
                       "ICS_WORKSHOP_ADDRESS": f"http://{shown}:{args.port}/"})
    if args.years is not None:
        os.environ["ICS_WORKSHOP_YEARS"] = str(args.years)
    from ics_sim.views.workshop.app import room
    code = room().code
    print(f"ics_sim workshop: participants open http://{shown}:{args.port}/ and join with code {code}", flush=True)
    print(f"facilitator: http://127.0.0.1:{args.port}/?facilitator={key}", flush=True)
    cli(solara_args(APP, args.host, args.port), prog_name="ics-sim-workshop")


if __name__ == "__main__":
    main()
