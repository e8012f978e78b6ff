"""What the browser tests share (the report, the dashboard, the participatory workshop): Debian's
Chromium found once, the same rule when it is missing (skip on a developer's machine, fail in CI),
a server started as a user starts it and stopped afterwards, a page watched for console errors,
failed responses and requests, and screenshots kept under ``results/test_artefacts/``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ics_sim.views.report_export import chromium

#: the browser the tests drive (``$ICS_SIM_CHROMIUM``, else ``chromium`` on the PATH), or None
CHROMIUM = chromium()
ARTEFACTS = Path(__file__).resolve().parents[1] / "results" / "test_artefacts"
#: a browser test skips on a developer's machine without Chromium; in CI (CI=true) it fails
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


def require_chromium() -> str:
    if CHROMIUM is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run does)")
    return CHROMIUM


def launch(p):
    """Headless Chromium through Playwright's ``executable_path`` (no browser download)."""
    return p.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(module: str, args: Iterable[str], log: Path, port: int, timeout: float = 90.0) -> Iterator[subprocess.Popen]:
    """``python -m <module> --port <port> <args>`` until its page answers 200; stopped afterwards."""
    require_chromium()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", module, "--port", str(port), *args], stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{module} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def served(module: str, args: Iterable[str], tmp_path_factory) -> Iterator[dict]:
    """:func:`serve` on a free port with its log in a fresh temporary folder: a dict of the page's
    ``url``, the ``port``, the server's ``pid`` and its ``log`` (for a module-scoped fixture)."""
    port = free_port()
    log = tmp_path_factory.mktemp(module.rsplit(".", 1)[-1]) / "server.log"
    with serve(module, args, log, port) as proc:
        yield {"url": f"http://127.0.0.1:{port}/", "port": port, "pid": proc.pid, "log": log}


def listening_ips(pid: int) -> set[str]:
    """The addresses a process listens on."""
    import psutil

    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def watch(page, problems: list[str], requests: list[str]) -> None:
    """Record a page's requests, console errors, page errors and failed responses."""
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)


def foreign(requests: Iterable[str], own: tuple[str, ...]) -> list[str]:
    """The requests to anywhere but ``own`` prefixes (and inline data)."""
    return [u for u in requests if not u.startswith((*own, "data:", "blob:"))]


def keep(paths: Iterable[Path], folder: str) -> None:
    """Copy screenshots to ``results/test_artefacts/<folder>/`` (gitignored)."""
    out = ARTEFACTS / folder
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, out / Path(path).name)
