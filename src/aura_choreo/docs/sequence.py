"""The global sequence diagram: a protocol's core body drawn as lifelines, arrows and frames.

Layout is one pass down the body with a y cursor; every label gets a row of its own (a message's label
sits on the row above its arrow, a frame's tag and each branch's guard on rows of their own), so no
two labels can overlap. Frames (choice, if, loop, rec, par, quorum, timeout, try) span the columns of
the roles they involve and are inset by their nesting depth. One method per core node kind
(`_draw_<Kind>`), as DESIGN asks of renderers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aura_choreo.diagnostics import Span
from aura_choreo.docs.svg import Canvas, fit, text_width
from aura_choreo.projection.render_text import payload_text
from aura_choreo.semantics import core
from aura_choreo.semantics.expressions import expr_text

Link = Callable[[Span], str]
"""Maps a source span to the `href` of its line in the report (`""` for no link)."""

_TOP = 44.0
_MSG_ROW = 30.0
_TAG_ROW = 22.0
_INSET = 6.0
_MAX_DEPTH = 6


def column_width(roles: Sequence[str], spans: Sequence[tuple[str, str, str]]) -> float:
    """One width for every column: wide enough for role names and for each (sender, receiver, label)
    label spread over the columns its arrow crosses (up to a cap; longer labels are shortened)."""
    index = {r: i for i, r in enumerate(roles)}
    widest = max([text_width(r) + 28 for r in roles] + [110.0])
    for a, b, label in spans:
        if a in index and b in index and a != b:
            widest = max(widest, (text_width(label) + 24) / abs(index[a] - index[b]))
    return min(widest, 300.0)


@dataclass
class _Frame:
    left: float
    right: float
    top: float


class Lifelines:
    """Columns and lifelines shared by the specification and run diagrams."""

    def __init__(self, roles: Sequence[str], col_w: float, canvas: Canvas):
        self.roles = list(roles)
        self.col_w = col_w
        self.canvas = canvas
        self.x = {role: 10 + col_w * (i + 0.5) for i, role in enumerate(self.roles)}

    def span_of(self, roles: set[str]) -> tuple[float, float]:
        """The x extent of the columns of `roles` (all columns when none is known)."""
        xs = [self.x[r] for r in roles if r in self.x] or list(self.x.values())
        return min(xs) - self.col_w / 2, max(xs) + self.col_w / 2

    def finish(self, bottom: float) -> None:
        """Role headers and lifelines, drawn beneath everything else."""
        parts: list[str] = []
        sub = Canvas(self.canvas.css_class)
        for role, x in self.x.items():
            sub.line(x, 34, x, bottom, "lifeline")
            sub.rect(x - self.col_w / 2 + 6, 8, self.col_w - 12, 26, "role", rx=4)
            sub.text(x, 26, fit(role, self.col_w - 20), "role-name", "middle", title=role)
        parts.extend(sub.parts)
        self.canvas.parts[:0] = parts
        self.canvas.labels[:0] = sub.labels
        self.canvas.width = max(self.canvas.width, sub.width)
        self.canvas.height = max(self.canvas.height, bottom)


class SequenceDiagram:
    """Draws one core body; `svg()` returns the finished element."""

    def __init__(self, roles: Sequence[str], body: core.CoreSeq, link: Link, title: str = ""):
        spans = [(m.sender, m.receiver, m.label + payload_text(m.payload)) for m in core.messages_in(body)]
        self.canvas = Canvas("seq")
        self.lanes = Lifelines(roles, column_width(roles, spans), self.canvas)
        self.link = link
        self.title = title
        self.y = _TOP
        self.frames: list[_Frame] = []
        self._seq(body)
        self.lanes.finish(self.y + 10)

    def svg(self) -> str:
        return self.canvas.svg(self.title or "sequence diagram")

    # -- structure -------------------------------------------------------------------------------
    def _seq(self, seq: core.CoreSeq) -> None:
        for stmt in seq:
            draw = getattr(self, "_draw_" + type(stmt).__name__, None)
            if draw is not None:
                draw(stmt)

    def _open(self, stmt: core.CoreStmt, roles: set[str], tag: str) -> _Frame:
        depth = min(len(self.frames) + 1, _MAX_DEPTH)
        left, right = self.lanes.span_of(roles)
        frame = _Frame(left + depth * _INSET, right - depth * _INSET, self.y)
        self.frames.append(frame)
        width = frame.right - frame.left - 8
        self.canvas.text(
            frame.left + 4, self.y + 15, fit(tag, width), "tag", href=self.link(stmt.span), title=tag
        )
        self.y += _TAG_ROW
        return frame

    def _section(self, frame: _Frame, label: str, first: bool) -> None:
        if not first:
            self.canvas.line(frame.left, self.y, frame.right, self.y, "separator")
        if label:
            self.canvas.text(
                frame.left + 8, self.y + 15, fit(label, frame.right - frame.left - 16), "guard", title=label
            )
            self.y += _TAG_ROW
        elif not first:
            self.y += 6

    def _close(self, frame: _Frame, cls: str = "frame") -> None:
        self.y += 6
        self.canvas.rect(frame.left, frame.top, frame.right - frame.left, self.y - frame.top, cls, rx=3)
        self.frames.pop()
        self.y += 8

    def _block(
        self, stmt: core.CoreStmt, tag: str, sections: Sequence[tuple[str, core.CoreSeq]], extra: set[str]
    ) -> None:
        roles = set(extra)
        for _, body in sections:
            roles |= core.roles_in(body)
        frame = self._open(stmt, roles, tag)
        for index, (label, body) in enumerate(sections):
            self._section(frame, label, index == 0)
            self._seq(body)
        self._close(frame)

    # -- one method per core node kind --------------------------------------------------------------
    def _draw_Message(self, m: core.Message) -> None:
        x1, x2 = self.lanes.x.get(m.sender), self.lanes.x.get(m.receiver)
        if x1 is None or x2 is None:
            return
        label = m.label + payload_text(m.payload)
        room = abs(x2 - x1) - 12
        self.canvas.text(
            (x1 + x2) / 2, self.y + 12, fit(label, room), "msg", "middle", self.link(m.span), label
        )
        tip = x2 - 2 if x2 > x1 else x2 + 2
        self.canvas.line(
            x1, self.y + 18, tip, self.y + 18, "note-arrow" if m.notification else "arrow", "arrow"
        )
        self.y += _MSG_ROW

    def _draw_Choice(self, c: core.Choice) -> None:
        sections = [(_branch_label(b), b.body) for b in c.branches]
        self._block(c, f"alt: {c.construct} at {c.decider}", sections, {c.decider})

    def _draw_Conditional(self, c: core.Conditional) -> None:
        sections = [(_branch_label(b), b.body) for b in c.branches]
        roles = set().union(*(core.roles_in(b.body) for b in c.branches))
        self._block(c, f"alt: {c.construct} {expr_text(c.expr)} (shared knowledge)", sections, roles)

    def _draw_CountedLoop(self, loop: core.CountedLoop) -> None:
        count = expr_text(loop.count)
        tag = f"loop: for {loop.var} ({count} times)" if loop.var else f"loop: {count} times"
        self._block(loop, tag, [("", loop.body)], set())

    def _draw_Rec(self, rec: core.Rec) -> None:
        self._block(rec, f"rec {rec.label}", [("", rec.body)], set())

    def _draw_Continue(self, cont: core.Continue) -> None:
        left = self.frames[-1].left if self.frames else 10.0
        self.canvas.text(
            left + 8, self.y + 14, f"\u21ba continue {cont.label}", "jump", href=self.link(cont.span)
        )
        self.y += _TAG_ROW

    def _draw_Parallel(self, par: core.Parallel) -> None:
        self._block(par, "par", [("", b) for b in par.branches], set())

    def _draw_Quorum(self, q: core.Quorum) -> None:
        roles = {r for m in q.messages for r in (m.sender, m.receiver)}
        frame = self._open(q, roles, f"quorum: {q.min} of {len(q.messages)}")
        for m in q.messages:
            self._draw_Message(m)
        self._close(frame)

    def _draw_LocalAction(self, act: core.LocalAction) -> None:
        x = self.lanes.x.get(act.role)
        if x is None:
            return
        args = ", ".join(expr_text(a) for a in act.args)
        self._note(x, x, f"{act.action}({args})", act.span, "action")

    def _draw_Let(self, let: core.Let) -> None:
        left, right = self.lanes.span_of(set(let.roles))
        half = self.lanes.col_w / 2
        self._note(left + half, right - half, f"let {let.name} = {expr_text(let.expr)}", let.span, "note")

    def _draw_Timeout(self, t: core.Timeout) -> None:
        waiters = {m.receiver for m in core.messages_in(t.body)}
        self._block(
            t, f"timeout {t.deadline_ms} ms", [("", t.body), ("[or, after the deadline]", t.alt)], waiters
        )

    def _draw_Try(self, t: core.Try) -> None:
        tag = f"try (coordinator {t.coordinator})" if t.coordinator else "try"
        self._block(
            t, tag, [("", t.body), ("[compensate]", t.comp)], {t.coordinator} if t.coordinator else set()
        )

    def _note(self, x1: float, x2: float, text: str, span: Span, cls: str) -> None:
        room = x2 - x1 + self.lanes.col_w - 16
        shown = fit(text, room - 10)
        w = text_width(shown) + 10
        mid = (x1 + x2) / 2
        self.canvas.rect(mid - w / 2, self.y + 2, w, 20, cls, rx=3)
        self.canvas.text(mid, self.y + 16, shown, "t", "middle", self.link(span), text)
        self.y += 28


def _branch_label(branch: core.CoreBranch) -> str:
    guard = f" when {expr_text(branch.guard)}" if branch.guard is not None else ""
    return f"[{branch.label}{guard}]"


def sequence_svg(roles: Sequence[str], body: core.CoreSeq, link: Link, title: str = "") -> str:
    """The global sequence diagram of `body` over `roles` as an inline `<svg>`."""
    return SequenceDiagram(roles, body, link, title).svg()
