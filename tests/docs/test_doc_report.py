"""The HTML report without a browser: structure, links, goldens, trace marks, the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from doc_cases import EVERY_FRAME, TPC

from aura_choreo import choreography, load
from aura_choreo.docs import ReportInput, build_report, read_trace, sequence_svg, state_machine_svg
from aura_choreo.docs.runview import RunDiagram, RunEvent
from aura_choreo.verify import compile_machine


def _aura(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_choreo", *args], capture_output=True, text=True, timeout=120
    )


def _link_nowhere(span: object) -> str:
    return ""


def test_golden_sequence_and_state_machine_of_two_phase_commit(golden: Callable[[str, str], None]) -> None:
    protocol = load(TPC)
    golden("tpc_sequence.svg", sequence_svg(protocol.roles, protocol.body, _link_nowhere) + "\n")
    machine = compile_machine(protocol.local_type("Coordinator"))
    golden("tpc_coordinator_fsm.svg", (state_machine_svg(machine) or "") + "\n")


def test_golden_sequence_with_every_frame(golden: Callable[[str, str], None]) -> None:
    protocol = choreography(EVERY_FRAME, filename="every_frame.choreo")
    golden("every_frame_sequence.svg", sequence_svg(protocol.roles, protocol.body, _link_nowhere) + "\n")


def test_every_construct_is_a_labelled_frame() -> None:
    protocol = choreography(EVERY_FRAME, filename="every_frame.choreo")
    svg = sequence_svg(protocol.roles, protocol.body, _link_nowhere)
    for tag in (
        "alt: choice at Server",
        "[accept]",
        "[reject]",
        "loop: 2 times",
        "par",
        "timeout 2000 ms",
        "[or, after the deadline]",
        "try (coordinator Server)",
        "[compensate]",
        "GiveUp()",
    ):
        assert f">{tag}<" in svg, tag
    assert svg.count('class="frame"') == 6  # choice, loop, par (broadcast), par (fan-in), timeout, try


def test_state_machine_draws_self_loops_and_back_edges() -> None:
    protocol = choreography(
        "choreography Chat { roles: A, B; loop (decides: A) { A -> B: Msg; } A -> B: Bye; }",
        filename="chat.choreo",
    )
    machine = compile_machine(protocol.local_type("B"))
    svg = state_machine_svg(machine) or ""
    assert machine.back_edges
    assert 'class="back"' in svg or svg.count("<path") >= 2
    assert ">A?Msg<" in svg and ">A?Bye<" in svg


def test_message_labels_link_to_their_source_lines() -> None:
    protocol = load(TPC)
    html = build_report(ReportInput([protocol], protocol.sources))
    lines = TPC.read_text(encoding="utf-8").splitlines()
    for label in ("PrepareRequest", "CommitAck", "AbortRequest"):
        line = next(n for n, text in enumerate(lines, 1) if f": {label}" in text)
        pattern = rf'<a href="#src0-L{line}"><text [^>]*>(<title>[^<]*</title>)?{label}\b'
        assert re.search(pattern, html), label
        assert f'id="src0-L{line}"' in html


def test_report_is_self_contained() -> None:
    protocol = load(TPC)
    html = build_report(ReportInput([protocol], protocol.sources))
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in html
    for section in ("Validation", "Sequence diagram", "Roles", "Messages", "Manifests and budgets", "Source"):
        assert section in html
    assert "PrepareRequest(transaction_id: u64)" in html  # message reference: payload and types


def test_counterexample_is_drawn_as_a_sequence_diagram(tmp_path: Path) -> None:
    # A real deadlock (the literature file used before validates since issue 11 item 3 was fixed).
    path = tmp_path / "deadlock.choreo"
    path.write_text(
        """protocol TimeoutRelay {
  roles: S, C, D;
  S -> C: Start;
  timeout(5s) { S -> C: Resp; C -> D: Fwd; } or { C -> D: Giveup; }
}
"""
    )
    protocol = load(path)
    html = build_report(ReportInput([protocol], protocol.sources))
    assert "E100" in html and 'class="diagram counterexample"' in html


def _tpc_trace(tmp_path: Path) -> Path:
    out = tmp_path / "run.jsonl"
    result = _aura("simulate", str(TPC), "--trace-out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_a_clean_run_is_drawn_beside_the_spec_without_marks(tmp_path: Path) -> None:
    trace = _tpc_trace(tmp_path)
    out = tmp_path / "report.html"
    result = _aura("doc", str(TPC), "--trace", str(trace), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "the run follows the protocol" in html
    assert "0 lost, 0 duplicated, 0 late, 0 violating" in html
    assert "data-first-divergence" not in html


def test_lost_and_duplicated_messages_and_the_first_divergence_are_marked(tmp_path: Path) -> None:
    lines = _tpc_trace(tmp_path).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    first_recv = next(i for i, e in enumerate(events) if e["kind"] == "recv" and e["label"] == "CommitAck")
    duplicated = next(
        i for i, e in enumerate(events) if e["kind"] == "recv" and e["label"] == "PrepareRequest"
    )
    broken = list(events)
    broken.insert(duplicated + 1, dict(events[duplicated]))  # the same frame delivered twice
    del broken[first_recv + 1]  # the commit acknowledgement never arrives
    trace = tmp_path / "broken.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in broken), encoding="utf-8")
    out = tmp_path / "report.html"
    result = _aura("doc", str(TPC), "--trace", str(trace), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "the run departs from the protocol" in html
    assert "1 lost, 1 duplicated" in html
    assert "CommitAck (lost)" in html and "\u2717 duplicate PrepareRequest" in html
    assert html.count("data-first-divergence") == 1
    assert "First divergence" in html


def test_run_diagram_marks_late_and_unsent_arrivals() -> None:
    events = [
        RunEvent("send", "A", "B", "Ping", 1),
        RunEvent("late", "B", "A", "Ping", 1),
        RunEvent("recv", "A", "B", "Ghost", 7),
    ]
    diagram = RunDiagram(["A", "B"], events, {2: "never sent"})
    marks = diagram.marks()
    assert (marks.lost, marks.duplicated, marks.late, marks.violations) == (0, 0, 1, 1)
    svg = diagram.canvas.svg("run")
    assert "late Ping" in svg and "Ghost from B (never sent)" in svg


def test_doc_writes_index_html_into_a_directory(tmp_path: Path) -> None:
    result = _aura("doc", str(TPC), "-o", str(tmp_path / "site"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ok": True,
        "output": str(tmp_path / "site" / "index.html"),
        "protocols": ["TwoPhaseCommit"],
    }
    assert (tmp_path / "site" / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_doc_usage_errors_and_broken_protocols(tmp_path: Path) -> None:
    missing = _aura("doc", str(tmp_path / "nope.choreo"), "-o", str(tmp_path / "x.html"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_trace = tmp_path / "bad.jsonl"
    bad_trace.write_text("{not json\n", encoding="utf-8")
    result = _aura("doc", str(TPC), "--trace", str(bad_trace), "-o", str(tmp_path / "x.html"))
    assert result.returncode == 2 and "bad.jsonl:1" in result.stderr and "Traceback" not in result.stderr
    broken = tmp_path / "broken.choreo"
    broken.write_text("choreography B { roles: A, B; A -> C: M; }\n", encoding="utf-8")
    result = _aura("doc", str(broken), "-o", str(tmp_path / "y.html"))
    assert result.returncode == 1 and "E010" in result.stderr
    assert not (tmp_path / "y.html").exists()


def test_read_trace_reports_where_a_line_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"kind": "send", "role": "A"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"t.jsonl:2: not a trace event"):
        read_trace(str(path))
