"""The HTML report in a real headless Chromium: one browser, a few pages, many checks.

Chromium is installed by `make test` (scripts/ensure-chromium.sh); without it these tests skip and
say why. What is checked on every page: no console error or exception, no network request, every
drawn element inside its diagram, no two labels overlapping, nothing painted over a label, every
in-page link resolving, and a screenshot that is not blank.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cdp import Browser, find_chromium
from doc_cases import EVERY_FRAME, TPC, well_formed_corpus

from aura_choreo import load
from aura_choreo.docs import ReportInput, build_report, load_files, read_trace
from aura_choreo.testing import simulate

LAYOUT_JS = (Path(__file__).parent / "layout.js").read_text(encoding="utf-8")


@dataclass
class Page:
    url: str
    errors: list[str]
    requests: list[str]
    layout: dict[str, Any]
    screenshot: bytes


def _write(path: Path, files: list[str], trace: Path | None = None) -> Path:
    loaded = load_files(files)
    assert loaded.ok, [str(d) for d in loaded.diagnostics if d.is_error]
    events = read_trace(str(trace)) if trace else None
    path.write_text(build_report(ReportInput(loaded.protocols, loaded.sources, (), events)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Page]]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found: `make test` installs Debian's chromium (scripts/ensure-chromium.sh)")
    folder = tmp_path_factory.mktemp("reports")
    every_frame = folder / "every_frame.choreo"
    every_frame.write_text(EVERY_FRAME, encoding="utf-8")
    trace = folder / "run.jsonl"
    simulate(load(TPC), seed=3, runs=1).runs[0].trace.write_jsonl(trace)
    reports = {
        "tpc": _write(folder / "tpc.html", [str(TPC)]),
        "frames": _write(folder / "frames.html", [str(every_frame)]),
        "trace": _write(folder / "trace.html", [str(TPC)], trace),
        "corpus": _write(folder / "corpus.html", [str(f) for f in well_formed_corpus()]),
    }
    browser = Browser(executable)
    try:
        out = {}
        for name, path in reports.items():
            url = path.as_uri()
            session, log = browser.open_page(url)
            layout = browser.evaluate(session, LAYOUT_JS)
            out[name] = Page(url, log.errors, log.requests, layout, browser.screenshot(session))
        yield out
    finally:
        browser.close()


PAGES = ["tpc", "frames", "trace", "corpus"]


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors_or_network_requests(pages: dict[str, Page], name: str) -> None:
    assert pages[name].errors == []
    assert pages[name].requests == []


@pytest.mark.parametrize("name", PAGES)
def test_diagram_elements_stay_inside_their_svg(pages: dict[str, Page], name: str) -> None:
    layout = pages[name].layout
    assert layout["svgs"] > 0 and layout["texts"] > 0
    assert layout["outside"] == []


@pytest.mark.parametrize("name", PAGES)
def test_no_label_overlaps_another_or_is_painted_over(pages: dict[str, Page], name: str) -> None:
    assert pages[name].layout["overlaps"] == []
    assert pages[name].layout["covered"] == []


@pytest.mark.parametrize("name", PAGES)
def test_every_link_resolves(pages: dict[str, Page], name: str) -> None:
    assert pages[name].layout["brokenLinks"] == []


def test_every_protocol_of_the_corpus_has_its_diagrams(pages: dict[str, Page]) -> None:
    protocols = pages["corpus"].layout["protocols"]
    seeds = [f for f in well_formed_corpus() if f.parent.name == "seeds"]
    expected = {p.qualified_name for f in seeds for p in load_files([str(f)]).protocols}
    drawn = {p["name"]: p for p in protocols}
    assert expected <= set(drawn)
    for p in protocols:
        assert p["sequence"] == 1, p
        if p["name"] in expected:  # every seed's machines are small enough to draw
            assert p["roles"] == p["machines"] > 0, p
        else:
            assert p["machines"] >= 1, p


def _distinct_pixels(png: bytes) -> int:
    """Distinct byte values of the decoded (filtered) image data: 1-3 for a blank page."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))


@pytest.mark.parametrize("name", PAGES)
def test_screenshot_is_not_blank(pages: dict[str, Page], name: str) -> None:
    assert _distinct_pixels(pages[name].screenshot) > 20
