"""`aura-choreo doc` on hostile names and strings, found by hunt7 (fixed in docs/).

Two bugs: (1) the anchor of a protocol was its qualified name with every non-alphanumeric character
turned into `-`, and the sections below it append `-roles`, `-sequence`, `-run`; so protocols `X` and
`X_roles` (or `A_B` and namespace `A`'s `B`) shared an id, and the table of contents sent the reader
to the wrong protocol. (2) Unicode direction controls (U+202E and friends) in a comment, a string or a
namespace went into the page unchanged: invisible, they reorder the source listing so it reads as
other code than the parser saw. The rest checks, in the real Chromium the report tests use, that
markup in every user-controlled string stays text.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from aura_choreo.docs import ReportInput, build_report, load_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))

RLO = "\u202e"
SCRIPT = "</h2></text></svg><script>window.pwned=1</script>"
HOSTILE = (
    f'#[namespace = "ns{SCRIPT}\\u{{202e}}"]\n'
    "choreography Foo_Bar {\n"
    "  roles: A, B\n"
    f"  // </li><script>window.pwned=2</script> {RLO} tail\n"
    f'  A[guard_capability = "</td>{SCRIPT}", priority = "\\"\'<>&{RLO}"] -> B: M(x: Vec<String>)\n'
    "  choice A {\n"
    f'    yes when (x == "{SCRIPT}"): {{ A -> B: Y }}\n'
    "    no: { A -> B: N }\n"
    "  }\n"
    f'  loop (custom: "</text>\\"<b>{RLO}") {{ B -> A: Again }}\n'
    "}\n"
)
COLLIDING = (
    "choreography X {\n roles: A, B\n A -> B: M\n}\n"
    "choreography X_roles {\n roles: A, B\n A -> B: N\n}\n"
    "choreography A_B {\n roles: A, B\n A -> B: M\n}\n"
    '#[namespace = "A"]\nchoreography B {\n roles: A, B\n A -> B: M\n}\n'
)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False
        self._sections: list[str] = []
        self.section_of_h2: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
            if tag == "section":
                self._sections.append(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h2:
            self.h2.append(data)
            if self._sections:
                self.section_of_h2[self._sections[-1]] = data


def _report(tmp_path: Path, text: str, title: str = "t") -> str:
    path = tmp_path / "p.choreo"
    path.write_text(text, encoding="utf-8")
    loaded = load_files([str(path)])
    assert loaded.ok, [str(d) for d in loaded.diagnostics if d.is_error]
    return build_report(ReportInput(loaded.protocols, loaded.sources, (), None, title))


def _parse(html: str) -> _Page:
    parsed = _Page()
    parsed.feed(html)
    parsed.close()
    return parsed


def test_every_id_is_unique_and_each_toc_link_reaches_its_protocol(tmp_path: Path) -> None:
    page = _parse(_report(tmp_path, COLLIDING))
    duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
    assert duplicates == []
    # The table of contents links each protocol's section, whose heading names that protocol.
    headings = {i: h for i, h in page.section_of_h2.items() if i.startswith("p-")}
    assert sorted(headings.values()) == ["A.B", "A_B", "X", "X_roles"]
    for href in page.hrefs:
        if href.startswith("#p-"):
            assert href[1:] in page.ids


def test_direction_controls_are_shown_not_obeyed(tmp_path: Path) -> None:
    html = _report(tmp_path, HOSTILE, title=f"title {RLO} end")
    for control in ("\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"):
        assert control not in html
    assert "\\u{202e}" in html


def test_markup_in_user_strings_stays_text(tmp_path: Path) -> None:
    page = _parse(_report(tmp_path, HOSTILE, title=SCRIPT))
    assert "script" not in page.tags
    text = "".join(page.text)
    assert "window.pwned=1" in text and "window.pwned=2" in text  # shown, as text


def test_the_hostile_page_in_chromium_runs_nothing_and_logs_no_error(tmp_path: Path) -> None:
    from cdp import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found: `make test` installs Debian's chromium (scripts/ensure-chromium.sh)")
    out = tmp_path / "hostile.html"
    out.write_text(_report(tmp_path, HOSTILE + COLLIDING, title=SCRIPT), encoding="utf-8")
    browser = Browser(executable)
    try:
        session, log = browser.open_page(out.as_uri())
        found = browser.evaluate(
            session,
            "({pwned: window.pwned === undefined ? null : window.pwned,"
            " scripts: document.querySelectorAll('script').length,"
            " svgs: document.querySelectorAll('svg').length,"
            " title: document.title,"
            " h2: [...document.querySelectorAll('section.protocol > h2')].map(e => e.textContent)})",
        )
    finally:
        browser.close()
    assert log.errors == [] and log.requests == []
    assert found["pwned"] is None and found["scripts"] == 0
    assert found["title"] == SCRIPT
    assert sorted(found["h2"]) == sorted(["A.B", "A_B", "X", "X_roles", f"ns{SCRIPT}\\u{{202e}}.Foo_Bar"])
