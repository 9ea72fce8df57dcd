"""`build_report`: the HTML documentation of one or more loaded protocols (SPEC §7 `doc`).

Per protocol: validation result (findings, counterexamples drawn), global sequence diagram, each
role's local type and state machine, message reference, manifests and budgets, and, given a recorded
trace, the run drawn beside the specification. Sources are listed once per file with numbered lines
that the diagrams link to.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.diagnostics import Diagnostic, Span
from aura_choreo.docs.escape import escape
from aura_choreo.docs.page import page, source_listing, table
from aura_choreo.docs.runview import RunDiagram, events_from_steps, events_from_trace
from aura_choreo.docs.sequence import sequence_svg
from aura_choreo.docs.statemachine import state_machine_svg
from aura_choreo.projection.render_text import annotations_text, payload_text, render_text
from aura_choreo.protocol import Protocol
from aura_choreo.runtime.trace import TraceEvent
from aura_choreo.semantics import core
from aura_choreo.testing.trace_check import check_trace
from aura_choreo.verify import MachineCompileError, VerificationReport, compile_machine, verify_protocol

_MAX_STATES = 200_000
"""Exploration limit for the report's validation (the `validate` command goes further)."""
_MAX_RUN_EVENTS = 2_000


@dataclass(frozen=True)
class ReportInput:
    """What one report documents: protocols (in order), their sources, diagnostics, optional trace."""

    protocols: Sequence[Protocol]
    sources: Mapping[str, str]
    diagnostics: Sequence[Diagnostic] = ()
    trace: Sequence[TraceEvent] | None = None
    title: str = "aura-choreo protocol documentation"


class _Links:
    def __init__(self, sources: Mapping[str, str]):
        self.ids = {path: f"src{i}" for i, path in enumerate(sources)}

    def __call__(self, span: Span) -> str:
        file_id = self.ids.get(span.file)
        return f"#{file_id}-L{span.line}" if file_id and span.line > 0 else ""


def _anchor(protocol: Protocol) -> str:
    """`p-` and the qualified name, one-to-one: ASCII letters, digits, `_` and `.` stay, any other
    character becomes `-<hex>-`. Since `-` only ever opens such an escape, no protocol's anchor equals
    another's, nor another's plus a section suffix (`-roles` cannot be an escape): two protocols
    `X` and `X_roles` used to share the id `p-X-roles` and the table of contents led to the wrong one."""
    return "p-" + "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "_.") else f"-{ord(ch):x}-"
        for ch in protocol.qualified_name
    )


def _headings(protocols: Sequence[Protocol]) -> list[tuple[str, str]]:
    """(anchor, contents entry) per protocol section. Two files may each define `Ping` (each file is
    its own load): a name an earlier section already has gets `~2`, `~3`, ... after its anchor
    (`_anchor` never writes `~`, so no suffix meets another anchor), and every section of such a name
    is told apart by its file's name in the contents and under its heading."""
    seen: dict[str, int] = {}
    counts = Counter(_anchor(p) for p in protocols)
    out = []
    for protocol in protocols:
        anchor = _anchor(protocol)
        seen[anchor] = seen.get(anchor, 0) + 1
        entry = protocol.qualified_name
        if counts[anchor] > 1:
            entry += f" ({_file_name(protocol)})"
        out.append((anchor if seen[anchor] == 1 else f"{anchor}~{seen[anchor]}", entry))
    return out


def _file_name(protocol: Protocol) -> str:
    return os.path.basename(protocol.origin.choreography.span.file)


def build_report(data: ReportInput) -> str:
    """The complete HTML document."""
    links = _Links(data.sources)
    toc: list[tuple[str, str]] = []
    sections: list[str] = []
    for protocol, (anchor, entry) in zip(data.protocols, _headings(data.protocols), strict=True):
        toc.append((anchor, entry))
        sections.append(_protocol_section(protocol, anchor, entry != protocol.qualified_name, links, data))
    if data.diagnostics:
        items = "".join(f"<li><code>{escape(_diag_text(d))}</code></li>" for d in data.diagnostics)
        sections.append(f'<section id="diagnostics"><h2>Diagnostics</h2><ul>{items}</ul></section>')
        toc.append(("diagnostics", "Diagnostics"))
    listings = [source_listing(links.ids[p], p, text) for p, text in data.sources.items()]
    sections.append('<section id="sources"><h2>Sources</h2>' + "".join(listings) + "</section>")
    toc.append(("sources", "Sources"))
    return page(data.title, toc, "".join(sections))


def _diag_text(d: Diagnostic) -> str:
    return f"{d.span.file}:{d.span.line}:{d.span.column}: {d.severity.value}[{d.code}]: {d.message}"


def _protocol_section(
    protocol: Protocol, anchor: str, name_file: bool, links: _Links, data: ReportInput
) -> str:
    roles = protocol.roles
    params = ", ".join(f"{k} = {v}" for k, v in protocol.params.items())
    head = (
        f'<section class="protocol" id="{anchor}"><h2>{escape(protocol.qualified_name)}</h2>'
        + (f"<p>From <code>{escape(_file_name(protocol))}</code></p>" if name_file else "")
        + f"<p>Roles: {escape(', '.join(roles))}"
        + (f"<br>Parameters: {escape(params)}" if params else "")
        + "</p>"
    )
    report, failure = _verify(protocol)
    parts = [head, _validation(protocol, report, failure)]
    spec = sequence_svg(roles, protocol.body, links, f"sequence diagram of {protocol.qualified_name}")
    spec_html = f'<h3 id="{anchor}-sequence">Sequence diagram</h3><div class="diagram">{spec}</div>'
    if data.trace is not None:
        parts.append(_beside(protocol, spec_html, data.trace, anchor))
    else:
        parts.append(spec_html)
    parts.append(_roles(protocol, report, anchor))
    parts.append(_messages(protocol, links))
    if report is not None:
        parts.append(_budgets(report))
    parts.append("</section>")
    return "".join(parts)


def _verify(protocol: Protocol) -> tuple[VerificationReport | None, str]:
    try:
        return verify_protocol(protocol.local_types(), max_states=_MAX_STATES), ""
    except MachineCompileError as exc:
        return None, str(exc)


def _validation(protocol: Protocol, report: VerificationReport | None, failure: str) -> str:
    out = ["<h3>Validation</h3>"]
    if report is None:
        return out[0] + f'<p class="fail">Not model-checked: {escape(failure)}</p>'
    verdict = "ok" if report.ok and report.deadlock_free else "fail"
    summary = (
        "deadlock-free, no orphan message or unspecified reception"
        if report.deadlock_free
        else "problems found"
        if not report.ok
        else "not proven (exploration incomplete)"
    )
    out.append(
        f'<p class="{verdict}" data-verdict="{verdict}">{escape(summary)}</p>'
        f"<p>{report.states} states, {report.transitions} transitions explored (channel bound {report.bound}"
        f"{', complete' if report.complete else ', incomplete'}).</p>"
    )
    for d in protocol.diagnostics:
        if d.severity.value != "info":
            out.append(f'<p class="warn"><code>{escape(_diag_text(d))}</code></p>')
    for finding in report.findings:
        cls = "fail" if finding.is_error else "warn"
        out.append(f'<p class="{cls}">{escape(finding.code)}: {escape(finding.message)}</p>')
        if finding.steps:
            roles = finding.participants or protocol.roles
            diagram = RunDiagram(
                roles, events_from_steps(finding.steps), title=f"counterexample {finding.code}"
            )
            out.append(f'<div class="diagram counterexample">{diagram.canvas.svg("counterexample")}</div>')
    return "".join(out)


def _beside(protocol: Protocol, spec_html: str, trace: Sequence[TraceEvent], anchor: str) -> str:
    """The recorded run (this protocol's events) drawn next to the specification."""
    mine = [e for e in trace if not e.protocol or e.protocol in (protocol.name, protocol.qualified_name)]
    result = check_trace(protocol, mine, complete=True)
    run_html = [f'<h3 id="{anchor}-run">Recorded run</h3>']
    if not mine:
        run_html.append("<p>The trace has no event of this protocol.</p>")
    for session in result.sessions[:5]:
        indexed = [(i, e) for i, e in enumerate(mine) if e.session == session][:_MAX_RUN_EVENTS]
        local = {i: n for n, (i, _) in enumerate(indexed)}
        issues: dict[int, str] = {}
        for issue in result.issues:
            if issue.session == session and issue.event is not None and issue.event in local:
                issues.setdefault(local[issue.event], issue.message)
        diagram = RunDiagram(
            protocol.roles, events_from_trace(e for _, e in indexed), issues, f"run {session}"
        )
        marks = diagram.marks()
        run_html.append(
            f"<h4>Session <code>{escape(session)}</code></h4>"
            f"<p>{len(indexed)} events: {marks.lost} lost, {marks.duplicated} duplicated, {marks.late} late, "
            f"{marks.violations} violating.</p>"
            f'<div class="diagram run">{diagram.canvas.svg(f"run {session}")}</div>'
        )
    verdict = "ok" if result.ok else "fail"
    text = "the run follows the protocol" if result.ok else "the run departs from the protocol"
    run_html.insert(1, f'<p class="{verdict}">{text}</p>')
    unplaced = [i for i in result.issues if i.event is None]
    run_html.extend(f'<p class="fail">{escape(str(i))}</p>' for i in unplaced[:20])
    if result.issues:
        first = min(result.issues, key=lambda i: (i.event is None, i.event or 0))
        run_html.insert(2, f'<p class="fail">First divergence: {escape(str(first))}</p>')
    return f'<div class="side"><div>{spec_html}</div><div>{"".join(run_html)}</div></div>'


def _roles(protocol: Protocol, report: VerificationReport | None, anchor: str) -> str:
    out = [f'<h3 id="{anchor}-roles">Roles</h3>']
    for role, local_type in protocol.local_types().items():
        machine = report.machines.get(role) if report is not None else None
        if machine is None:
            try:
                machine = compile_machine(local_type)
            except MachineCompileError:
                machine = None
        svg = state_machine_svg(machine, f"state machine of {role}") if machine is not None else None
        states = machine.state_count if machine is not None else "too many"
        drawn = (
            f'<div class="diagram fsm">{svg}</div>'
            if svg
            else f'<p class="too-large">The state machine has {states} states: '
            "too many to draw legibly; export it with <code>aura-choreo project --format dot</code>.</p>"
        )
        out.append(
            f'<h4 class="role">{escape(role)}</h4><div class="side"><div><pre class="local">'
            f"{escape(render_text(local_type))}</pre></div><div>{drawn}</div></div>"
        )
    return "".join(out)


def _messages(protocol: Protocol, links: _Links) -> str:
    rows: dict[tuple[str, str], list[object]] = {}
    for m in core.messages_in(protocol.body):
        key = (m.label, payload_text(m.payload))
        entry = rows.setdefault(key, [[], [], m])
        for value, index in ((m.sender, 0), (m.receiver, 1)):
            bucket = entry[index]
            assert isinstance(bucket, list)
            if value not in bucket:
                bucket.append(value)
    table_rows = []
    for (label, payload), (senders, receivers, first) in rows.items():
        assert isinstance(first, core.Message) and isinstance(senders, list) and isinstance(receivers, list)
        href = links(first.span)
        name = f'<a href="{href}">{escape(label)}</a>' if href else escape(label)
        notes = annotations_text(first.message_annotations).strip(" []")
        kind = " (choice notification)" if first.notification else ""
        table_rows.append(
            [
                name + kind,
                escape(", ".join(senders)),
                escape(", ".join(receivers)),
                f"<code>{escape(payload or '-')}</code>",
                escape(notes or "-"),
            ]
        )
    return "<h3>Messages</h3>" + table(["label", "sender", "receivers", "payload", "annotations"], table_rows)


def _budgets(report: VerificationReport) -> str:
    rows = []
    for role in report.roles:
        budget = report.budgets.get(role)
        manifest = ", ".join(sorted(report.manifests.get(role, frozenset()))) or "-"
        total = budget.total if budget is not None else None
        flow = total.flow.text() if total is not None else "0"
        leak = " / ".join(c.text() for c in total.leakage) if total is not None else "0 / 0 / 0"
        peers = (
            ", ".join(f"{p}: {b.flow.text()}" for p, b in budget.peers.items()) if budget is not None else ""
        )
        rows.append([escape(role), escape(manifest), escape(flow), escape(peers or "-"), escape(leak)])
    headers = [
        "role",
        "capabilities (manifest)",
        "worst-case flow",
        "flow per peer",
        "leakage ext / nbr / grp",
    ]
    return "<h3>Manifests and budgets</h3>" + table(headers, rows)
