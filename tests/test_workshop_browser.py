"""The participatory workshop in a real browser (Debian's Chromium via Playwright): a facilitator
page and three participant contexts join, take seats, table proposals, the year runs and the
debrief is reached; no console errors, no request beyond the server, loopback only (issue 16)."""

from __future__ import annotations

import re

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
    with served("ics_sim.workshop", ["--years", "1", "--countdown", "600"], tmp_path_factory) as running:
        text = running["log"].read_text()
        code = re.search(r"join with code (\w{6})", text).group(1)
        facilitator = re.search(r"facilitator: (\S+)", text).group(1)
        yield {**running, "code": code, "facilitator": facilitator}


def test_workshop_binds_only_loopback(server):
    ips = listening_ips(server["pid"])
    assert ips and ips <= {"127.0.0.1"}


@pytest.mark.slow  # four browser contexts play a whole year (about half a minute); loopback stays in the fast suite
def test_facilitator_and_three_participants_play_a_year_and_reach_the_debrief(server, tmp_path):
    problems, requests, shots = [], [], []

    def shot(page, name):
        path = tmp_path / f"{len(shots) + 1:02d}_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    with sync_api.sync_playwright() as p:
        browser = launch(p)
        fac, people = None, []
        try:
            fac = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            watch(fac, problems, requests)
            fac.goto(server["facilitator"])
            fac.locator(".session-code").wait_for(timeout=60_000)
            assert fac.locator(".session-code").inner_text() == server["code"]

            # a stranger with a wrong code is turned away
            stranger = browser.new_context().new_page()
            watch(stranger, problems, requests)
            stranger.goto(server["url"])
            stranger.locator(".join-code input").fill("WRONG9")
            stranger.locator(".join-name input").fill("Eve")
            stranger.locator(".join-button").click()
            stranger.get_by_text("code: no session has this code").wait_for(timeout=20_000)

            for name, seat in (("Ann", "Place 0: council"), ("Bob", "Place 0: pcn"), ("Cai", "Place 1: icb")):
                page = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
                watch(page, problems, requests)
                page.goto(server["url"])
                page.locator(".join-code input").fill(server["code"])
                page.locator(".join-name input").fill(name)
                page.locator(".join-button").click()
                page.locator(".seat-select").wait_for(timeout=20_000)
                page.locator(".seat-select").click()
                page.get_by_role("option", name=re.compile("^" + re.escape(seat))).click()
                page.locator(".my-seat").wait_for(timeout=20_000)
                people.append((name, page))
            fac.get_by_text("In the room: 3").wait_for(timeout=20_000)
            shot(fac, "facilitator_joined")

            # a reload keeps the participant in its seat (the token is in the address)
            people[0][1].reload()
            people[0][1].locator(".my-seat").wait_for(timeout=30_000)

            fac.locator(".run-year").click()
            fac.locator(".barrier").wait_for(timeout=30_000)
            for _name, page in people:
                page.locator(".asked").wait_for(timeout=30_000)
            shot(people[0][1], "participant_asked")
            # Ann shifts money; an impossible move is refused with one clear line
            ann = people[0][1]
            ann.locator(".move-amount input").fill("1000000")
            ann.locator(".move-amount input").press("Tab")
            ann.locator(".table-proposal").click()
            ann.locator(".participant-error").wait_for(timeout=20_000)
            assert re.search("move.gbp_m: .* holds", ann.locator(".participant-error").inner_text())
            ann.reload()
            ann.locator(".asked").wait_for(timeout=30_000)
            ann.locator(".move-amount input").fill("0.5")
            ann.locator(".move-amount input").press("Tab")
            ann.locator(".table-proposal").click()
            ann.locator(".participant-status").wait_for(timeout=20_000)
            people[1][1].locator(".table-proposal").click()
            people[1][1].locator(".participant-status").wait_for(timeout=20_000)
            fac.get_by_text(re.compile("Ann\\s*submitted")).wait_for(timeout=20_000)
            shot(fac, "facilitator_barrier")
            # Cai has not answered: the facilitator advances and Cai's agent fills in
            fac.locator(".advance").click()
            # later meetings of the year (other tables, or a table meeting again after a deadlock)
            # wait at their own barriers: the facilitator advances each
            for _ in range(30):
                if "month 12" in fac.locator(".facilitator-month").inner_text():
                    break
                if fac.locator(".barrier").count() and fac.locator(".advance").is_enabled():
                    fac.locator(".advance").click()
                fac.wait_for_timeout(2000)
            fac.get_by_text(re.compile(r"month 12")).wait_for(timeout=30_000)
            shot(fac, "facilitator_year_done")
            fac.locator(".debrief-link a").click()
            fac.locator(".debrief-outcomes").wait_for(timeout=30_000)
            fac.locator(".decision-log").get_by_text("Ann").first.wait_for(timeout=20_000)
            shot(fac, "debrief")
            log = fac.locator(".decision-log").inner_text()
            assert "Bob" in log and "Cai" not in log
        except Exception:
            for i, page in enumerate([fac] + [pg for _, pg in people]):
                shot(page, f"failure_{i}")
                print(f"--- page {i}:", page.locator("body").inner_text()[-1500:])
            raise
        finally:
            keep(shots, "workshop")
            browser.close()
    outside = foreign(requests, (server["url"],))
    assert not outside, outside[:5]
    assert not problems, problems
    assert "Traceback" not in server["log"].read_text(), server["log"].read_text()[-3000:]
