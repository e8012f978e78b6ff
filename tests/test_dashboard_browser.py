"""The workshop dashboard in a real browser: Debian's Chromium driven by Playwright.

The server is started as a facilitator starts it (``python -m ics_sim.dashboard --port N``) on a
free port; one browser session then goes through the issue's list: the page loads with no console
error and asks nothing of the network but the server, a scenario is chosen, a year is stepped and
the monitors change, a control is changed and reset, an invalid combination is explained in the
page, side by side shows a difference, play advances the months at the chosen speed. Screenshots
go to pytest's tmp path and a copy to ``results/test_artefacts/dashboard/`` (gitignored).
"""

from __future__ import annotations

import re
import time

import pytest
from browser_support import (
    foreign,
    keep,
    launch,
    listening_ips,
    needs_chromium,
    served,
    watch,
)

pytest.importorskip("solara", reason="the dashboard extra is not installed: pip install -e '.[test]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
pytest.importorskip("psutil")

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served("ics_sim.dashboard", [], tmp_path_factory) as running:
        yield running


def test_server_binds_only_loopback(server):
    import psutil

    listening = [c for c in psutil.Process(server["pid"]).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening, "the dashboard process listens on no port"
    assert listening_ips(server["pid"]) <= {"127.0.0.1"}, f"bound to {[c.laddr for c in listening]}"
    assert {c.laddr.port for c in listening} == {server["port"]}


def _month(page) -> int:
    text = page.locator(".month-counter").inner_text()
    return int(re.search(r"Month (\d+)", text).group(1))


def _monitor(page, arm: str, metric: str) -> str:
    return page.locator(f".monitors-{arm.replace(' ', '-')} .monitor-{metric} .monitor-value").inner_text()


class Browser:
    """One Chromium page on the dashboard, recording every request, console error and failed
    response, and screenshots (kept under results/test_artefacts/dashboard/)."""

    def __init__(self, p, server, tmp_path, prefix):
        self.server, self.tmp_path, self.prefix = server, tmp_path, prefix
        self.requests, self.problems, self.shots = [], [], []
        self.browser = launch(p)
        page = self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        watch(page, self.problems, self.requests)
        page.goto(server["url"])
        page.get_by_role("button", name="Step a year").wait_for(timeout=60_000)

    def shot(self, name):
        path = self.tmp_path / f"{self.prefix}_{len(self.shots) + 1:02d}_{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)

    def choose(self, title_part: str):
        self.page.locator(".v-select").first.click()
        self.page.get_by_role("option", name=re.compile(title_part)).click()

    def close(self):
        try:
            self.shot("last")
        finally:
            keep(self.shots, "dashboard")
            self.browser.close()

    def check_clean(self):
        outside = foreign(self.requests, (self.server["url"],))
        assert not outside, f"the page asked the network for {outside[:5]}"
        assert not self.problems, self.problems
        log = self.server["log"].read_text()
        assert "Could not load URL" not in log, "the server needed the internet for an asset: " + log[-1500:]
        assert "Traceback" not in log, log[-3000:]


@pytest.mark.slow  # Chromium plays a year (a quarter of a minute); loopback stays in the fast suite
def test_page_loads_offline_and_a_year_moves_the_monitors(server, tmp_path):
    """The page loads with no console error and no request beyond the server; a scenario is
    chosen; a year is stepped and the monitors change; side by side shows the difference."""
    with sync_api.sync_playwright() as p:
        b = Browser(p, server, tmp_path, "fast")
        page = b.page
        try:
            b.shot("loaded")
            b.choose("Who is at the table")
            page.get_by_text("Side by side: VCSE out and VCSE in").wait_for(timeout=20_000)
            assert _month(page) == 0
            assert _monitor(page, "VCSE out", "unmet_need_hidden") == "-"

            page.get_by_role("button", name="Step a year").click()
            page.get_by_text(re.compile("Month 12 of 60")).wait_for(timeout=20_000)
            page.wait_for_function("() => document.querySelector('.monitor-unmet_need_hidden .monitor-value').innerText != '-'",
                                   timeout=20_000)
            hidden_out = float(_monitor(page, "VCSE out", "unmet_need_hidden"))
            hidden_in = float(_monitor(page, "VCSE in", "unmet_need_hidden"))
            assert 0 < hidden_in < hidden_out <= 100, (hidden_in, hidden_out)
            t0 = time.monotonic()
            page.get_by_role("button", name="Step a month").click()
            page.get_by_text(re.compile("Month 13 of 60")).wait_for(timeout=20_000)
            page.get_by_text("(same seed, month 13)").wait_for(timeout=20_000)  # the monitors were drawn again
            latency = time.monotonic() - t0
            step_ms = float(re.search(r"took (\d+) ms", page.locator(".step-time").inner_text()).group(1))
            print(f"a month's step took {step_ms:.0f} ms on the server; click to redrawn monitors {latency:.2f} s")
            assert step_ms < 500, f"a month's step held the page {step_ms:.0f} ms"
            b.shot("stepped")

            row = page.locator(".difference-unmet_need_hidden")
            assert "VCSE in better" in row.inner_text()
            assert re.search(r"-\d", row.inner_text()), row.inner_text()
        finally:
            b.close()
    b.check_clean()


@pytest.mark.slow
def test_a_workshop_session_in_chromium(server, tmp_path):
    """A control is changed and reset; an invalid combination is explained in the page; play
    runs at the chosen 5 months a second; the network, place and Info views draw."""
    with sync_api.sync_playwright() as p:
        b = Browser(p, server, tmp_path, "session")
        page = b.page
        try:
            b.choose("Who is at the table")
            page.get_by_text("Side by side: VCSE out and VCSE in").wait_for(timeout=20_000)
            page.get_by_role("button", name="Step a year").click()
            page.get_by_text(re.compile("Month 12 of 60")).wait_for(timeout=20_000)

            # a control is changed (both settings start again on the same seed) and reset
            healthwatch = page.locator(".control-membership-healthwatch input")
            assert healthwatch.is_checked()
            page.locator(".control-membership-healthwatch .v-input--selection-controls__ripple").click()
            page.wait_for_function("() => document.querySelector('.month-counter').innerText.startsWith('Month 0')", timeout=20_000)
            assert not healthwatch.is_checked()
            b.shot("control_changed")
            page.get_by_role("button", name="Reset settings to the scenario").click()
            page.wait_for_function(
                "() => document.querySelector('.control-membership-healthwatch input').checked", timeout=20_000)

            # an invalid combination is explained in the page, in one line: a delegated share
            # under central delegation (which delegates nothing)
            page.locator(".control-delegation .v-select").click()
            page.get_by_role("option", name="central").click()
            page.wait_for_function(
                "() => document.querySelector('.control-delegation .v-select__selection').innerText == 'central'", timeout=20_000)
            track = page.locator(".control-delegation-share .v-slider")
            box = track.bounding_box()
            track.click(position={"x": box["width"] * 0.2, "y": box["height"] / 2})  # delegation.share about 0.2
            error = page.locator(".config-error")
            error.wait_for(timeout=20_000)
            assert "delegation.share has no effect with delegation=central" in error.inner_text(), error.inner_text()
            assert "Traceback (most recent call last)" not in page.locator("body").inner_text()
            b.shot("invalid_combination")
            page.get_by_role("button", name="Reset settings to the scenario").click()
            error.wait_for(state="detached", timeout=20_000)

            # play at 5 months a second, then pause
            page.get_by_role("button", name="Play").click()
            page.wait_for_function("() => /Month [1-9]/.test(document.querySelector('.month-counter').innerText)", timeout=20_000)
            start, t0 = _month(page), time.monotonic()
            time.sleep(4.0)
            end, t1 = _month(page), time.monotonic()
            page.get_by_role("button", name="Pause").click()
            rate = (end - start) / (t1 - t0)
            print(f"played at {rate:.1f} simulated months per second (asked 5)")
            assert rate >= 4.5, f"played at {rate:.1f} months per second (asked 5)"
            b.shot( "played")

            # the network and place views draw
            for view, cls in (("Network", ".view-network"), ("Places", ".view-places")):
                page.get_by_role("button", name=view).click()
                page.locator(cls).wait_for(timeout=30_000)
                b.shot( view.lower())
            page.get_by_role("button", name="Info").click()
            page.get_by_text("THINGS TO NOTICE").wait_for(timeout=20_000)
            b.shot( "info")
        finally:
            b.close()
    b.check_clean()
