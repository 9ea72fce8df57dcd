"""The HTML page around the report's sections: one file, inline CSS, no script, no external request."""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.docs.escape import escape
from aura_choreo.docs.svg import DEFS_SVG, FONT

CSS = f"""
:root {{ color-scheme: light; }}
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fff; }}
header.top {{ background: #1d2330; color: #fff; padding: 12px 24px; }}
header.top h1 {{ margin: 0; font-size: 20px; }}
nav.toc {{ padding: 8px 24px; border-bottom: 1px solid #d8dce4; }}
nav.toc a {{ margin-right: 14px; }}
main {{ padding: 8px 24px 40px; max-width: 100%; box-sizing: border-box; }}
section.protocol {{ border-top: 2px solid #1d2330; margin-top: 24px; }}
h2 {{ font-size: 19px; }} h3 {{ font-size: 16px; margin-top: 22px; }} h4 {{ font-size: 14px; }}
.diagram {{ overflow-x: auto; border: 1px solid #d8dce4; border-radius: 4px; padding: 6px; margin: 6px 0;
  background: #fcfcfd; }}
.side {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
.side > div {{ flex: 1 1 420px; min-width: 0; }}
pre, code {{ font-family: {FONT}; font-size: 12px; }}
pre.local {{ background: #f5f6f8; padding: 8px; overflow-x: auto; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid #d8dce4; padding: 3px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f2f5; }}
.ok {{ color: #17662f; font-weight: 600; }} .fail {{ color: #a4161a; font-weight: 600; }}
.warn {{ color: #8a5a00; }}
ol.source {{ font-family: {FONT}; font-size: 12px; background: #f5f6f8; padding: 8px 8px 8px 56px;
  overflow-x: auto; white-space: pre; margin: 6px 0; }}
ol.source li {{ white-space: pre; }}
ol.source li:target {{ background: #fff3b0; }}
ol.source li::marker {{ color: #8a90a0; }}
svg text {{ font-family: {FONT}; font-size: 12px; fill: #1d2330;
  paint-order: stroke; stroke: #fcfcfd; stroke-width: 3px; stroke-linejoin: round; }}
svg .role {{ fill: #e8edf7; stroke: #44557a; }}
svg text.role-name {{ font-weight: 600; }}
svg .lifeline {{ stroke: #9aa5bb; stroke-dasharray: 4 4; }}
svg .arrow, svg .edge {{ stroke: #1d2330; stroke-width: 1.3; fill: none; }}
svg .note-arrow {{ stroke: #5b6b8c; stroke-width: 1.2; stroke-dasharray: 5 3; }}
svg .back {{ stroke: #5b6b8c; stroke-width: 1.2; stroke-dasharray: 5 3; fill: none; }}
svg .head {{ fill: #1d2330; }} svg .head-bad {{ fill: #a4161a; }}
svg .frame {{ fill: none; stroke: #7d8aa5; stroke-width: 1; }}
svg .separator {{ stroke: #7d8aa5; stroke-dasharray: 6 3; }}
svg text.tag {{ font-weight: 600; fill: #44557a; }}
svg text.guard {{ fill: #44557a; }} svg text.jump {{ fill: #5b6b8c; }}
svg .action {{ fill: #eef7ee; stroke: #5f8f5f; }} svg .note {{ fill: #fffbe6; stroke: #b9a55a; }}
svg .state {{ fill: #e8edf7; stroke: #44557a; }} svg .final {{ fill: none; stroke: #44557a; }}
svg .label {{ fill: #ffffff; stroke: #c5ccda; }}
svg .dot {{ fill: #1d2330; }} svg .dot-bad {{ fill: #a4161a; }}
svg .lost {{ stroke: #a4161a; stroke-width: 1.3; stroke-dasharray: 3 3; }}
svg .lost-x {{ stroke: #a4161a; stroke-width: 2; }}
svg .late {{ stroke: #c26a00; stroke-width: 1.3; stroke-dasharray: 6 3; }}
svg .dup {{ stroke: #6b3fa0; stroke-width: 1.3; stroke-dasharray: 2 2; }}
svg .discard {{ stroke: #8a90a0; stroke-width: 1.1; stroke-dasharray: 2 4; }}
svg .violation {{ stroke: #a4161a; stroke-width: 2; }}
svg text.bad {{ fill: #a4161a; font-weight: 600; }} svg text.mark {{ fill: #6b3fa0; }}
svg .diverge {{ fill: #fff3b0; }}
svg a text {{ fill: #1a4fb5; }} svg a:hover text {{ text-decoration: underline; }}
"""


_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may be fetched: the report must read the same offline (SPEC §7)."""


_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may be fetched: the report reads the same offline (SPEC §7)."""


def page(title: str, toc: Sequence[tuple[str, str]], body: str) -> str:
    """The whole document: title, table of contents (anchor, text) and the sections' HTML."""
    links = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t in toc)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'{DEFS_SVG}<header class="top"><h1>{escape(title)}</h1></header>'
        f'<nav class="toc">{links}</nav><main>{body}</main></body></html>\n'
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def source_listing(file_id: str, path: str, text: str) -> str:
    """A source file with numbered lines, each an anchor (`{file_id}-L{n}`) that diagrams link to."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    items = "".join(f'<li id="{file_id}-L{n}">{escape(line) or " "}</li>' for n, line in enumerate(lines, 1))
    return f'<h3 id="{file_id}">Source: <code>{escape(path)}</code></h3><ol class="source">{items}</ol>'
