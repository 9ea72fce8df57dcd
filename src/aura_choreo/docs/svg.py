"""A tiny SVG writer with a text-width model, shared by every diagram of the HTML report.

All diagram text is set in one monospace face at one size, so the width of a label is known before
the browser draws it: that is what lets the layouts promise that no two labels overlap. `CHAR_W` is
slightly wider than the 0.602 em advance of DejaVu Sans Mono / Liberation Mono (Chromium's monospace
faces on Debian), so an estimate is never narrower than the rendered text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.docs.escape import escape, visible

FONT_SIZE = 12
CHAR_W = 7.6
"""Estimated advance of one character at FONT_SIZE (px); deliberately generous."""
LINE_H = 16
FONT = "DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace"


def text_width(text: str) -> float:
    """Estimated rendered width of `text` (px)."""
    return len(visible(text)) * CHAR_W


def fit(text: str, width: float) -> str:
    """`text` shortened with an ellipsis so that it fits in `width` px (never empty if text is not)."""
    text = visible(text)  # measured and cut as shown
    if text_width(text) <= width:
        return text
    keep = max(1, int(width // CHAR_W) - 1)
    return text[:keep] + "\u2026"


def attr(value: object) -> str:
    return escape(str(value), quote=True)


@dataclass
class Canvas:
    """SVG elements collected in drawing order; `width`/`height` grow to hold everything drawn."""

    css_class: str
    width: float = 0.0
    height: float = 0.0
    parts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    """Text, drawn after every shape: a line may pass under a label, never over it."""

    def _grow(self, x: float, y: float) -> None:
        self.width = max(self.width, x)
        self.height = max(self.height, y)

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str, marker: str = "") -> None:
        end = f' marker-end="url(#{marker})"' if marker else ""
        self.parts.append(
            f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{end}/>'
        )
        self._grow(max(x1, x2), max(y1, y2))

    def path(self, d: str, cls: str, marker: str = "", box: tuple[float, float] = (0.0, 0.0)) -> None:
        end = f' marker-end="url(#{marker})"' if marker else ""
        self.parts.append(f'<path class="{cls}" d="{d}"{end}/>')
        self._grow(*box)

    def rect(self, x: float, y: float, w: float, h: float, cls: str, rx: float = 0) -> None:
        self.parts.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}"/>'
        )
        self._grow(x + w, y + h)

    def circle(self, cx: float, cy: float, r: float, cls: str) -> None:
        self.parts.append(f'<circle class="{cls}" cx="{cx:.1f}" cy="{cy:.1f}" r="{r}"/>')
        self._grow(cx + r, cy + r)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        cls: str = "t",
        anchor: str = "start",
        href: str = "",
        title: str = "",
    ) -> None:
        """A one-line label whose baseline is at `y`; `href` makes it a link (to a source line)."""
        tip = f"<title>{escape(title)}</title>" if title and title != text else ""
        body = (
            f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{tip}{escape(text)}</text>'
        )
        if href:
            body = f'<a href="{attr(href)}">{body}</a>'
        self.labels.append(body)
        w = text_width(text)
        right = x + (w if anchor == "start" else w / 2 if anchor == "middle" else 0)
        self._grow(right, y + 4)

    def svg(self, label: str, pad: float = 8) -> str:
        """The finished `<svg>` element (inline, sized to its content)."""
        w, h = self.width + pad, self.height + pad
        return (
            f'<svg class="{self.css_class}" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'aria-label="{attr(label)}" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}">'
            f"{''.join(self.parts)}{''.join(self.labels)}</svg>"
        )


DEFS_SVG = (
    '<svg class="defs" width="0" height="0" aria-hidden="true" style="position:absolute"><defs>'
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
    'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="head"/></marker>'
    '<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
    'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="head-bad"/></marker>'
    "</defs></svg>"
)
"""Arrow-head markers, defined once per page and referenced by every diagram."""
