"""The UI's shell on every main page of `faramesh-cloud up --demo` (issue 18): no serious or
critical accessibility violation (axe-core, vendored under tests/browser/vendor, run in the page),
tables using the full width, one timestamp format (relative, absolute in the viewer's zone on
hover), effects with their word, and an unknown page that is a 404 in the layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.demo_walk import AXE, adopt_demo, main_pages
from tests.browser.test_approvals_demo_e2e import UpDemo
from tests.fixtures.browser import NewPage

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc]

ROOT = Path(__file__).resolve().parents[2]
BLOCKING = ("serious", "critical")
# Tables narrower than their container (less a pixel of rounding); hidden ones do not count.
NARROW_TABLES = """() => Array.from(document.querySelectorAll("main table")).filter(t => t.offsetParent !== null)
  .map(t => { const p = t.parentElement, cs = getComputedStyle(p);
              const room = p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
              return {table: t.id || t.className || p.className || p.tagName, width: t.getBoundingClientRect().width, room}; })
  .filter(x => x.width < x.room - 1)"""
TIMES = """() => Array.from(document.querySelectorAll("main time[datetime]"))
  .map(t => ({text: t.textContent, title: t.title, iso: t.getAttribute("datetime")}))"""
EFFECTS = """() => Array.from(document.querySelectorAll("main .effect"))
  .map(e => ({text: e.textContent.trim(), kind: e.className}))"""
RELATIVE = re.compile(r"\b(ago|now|yesterday|tomorrow|last|next|this)\b|\bin \d")
ZONE = re.compile(r"\bCES?T$")  # the viewer's zone, Europe/Berlin: CET, or CEST in summer


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in found if v["impact"] in BLOCKING]


def test_every_main_page_passes_axe_and_keeps_the_shell(up_demo: UpDemo, new_page: NewPage) -> None:
    base = up_demo.base
    page = new_page()
    page.add_init_script(path=str(ROOT / AXE))  # axe-core in every document, from the repository
    adopt_demo(page, base)
    problems: dict[str, list[str]] = {}
    seen_times = seen_effects = 0
    for name, url in main_pages(page, base):
        answer = page.goto(url)
        assert answer is not None
        expected = 404 if name == "not-found" else 200
        found: list[str] = [] if answer.status == expected else [f"HTTP {answer.status}"]
        expect(page.get_by_role("navigation", name="Sections")).to_be_visible()  # the layout, 404 too
        found += axe_violations(page)
        found += [f"table {t['table']} {t['width']:.0f}px of {t['room']:.0f}px" for t in page.evaluate(NARROW_TABLES)]
        for t in page.evaluate(TIMES):
            seen_times += 1
            # relative words, the absolute time in the viewer's zone (Europe/Berlin: CET) on hover
            if " UTC" in t["text"] or not RELATIVE.search(t["text"]) or not ZONE.search(t["title"]):
                found.append(f"time {t}")
        for e in page.evaluate(EFFECTS):
            seen_effects += 1
            if not e["text"] or e["text"] == "—" or not re.search(r"effect-(permit|deny|defer|modify|shadow)", e["kind"]):
                found.append(f"effect {e}")
        if found:
            problems[name] = found
    assert problems == {}, "\n".join(f"{name}: {line}" for name, lines in problems.items() for line in lines)
    assert seen_times > 50 and seen_effects > 20  # the walk saw the demo's data, not empty pages
    main = page.evaluate("() => document.querySelector('main').getBoundingClientRect().width")
    assert main > 1200  # a 1280 px window: the page's width, not a 1100 px column

