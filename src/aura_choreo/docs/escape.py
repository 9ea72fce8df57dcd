"""The one way the report turns user text into HTML: escaped, with invisible direction controls shown.

Every string a report shows comes from a user (names, namespaces, annotation strings, comments, trace
files, the page title), so all of it goes through `escape`. HTML escaping alone is not enough for
Unicode's bidirectional controls (U+202A..U+202E, U+2066..U+2069, and the marks U+200E, U+200F,
U+061C): they are invisible and reorder the text around them, so a comment or string in the source
listing could read as different code than the parser saw ("Trojan Source"). `visible` spells each as
the DSL's own escape `\\u{202e}`; plain text, so the same form works in HTML, in attributes and inside
SVG `<text>` (where an HTML element would end the SVG).
"""

from __future__ import annotations

import html
import re

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every direction control spelled `\\u{hex}` (idempotent: the result has none)."""
    return _BIDI.sub(lambda m: f"\\u{{{ord(m.group()):x}}}", text)


def escape(text: str, quote: bool = True) -> str:
    """`text` as HTML text or attribute content: `visible`, then `& < > " '` escaped."""
    return html.escape(visible(text), quote=quote)
