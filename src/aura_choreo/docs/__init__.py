"""The HTML report (`aura-choreo doc`): sequence diagrams and state machines as our own inline SVG.

from aura_choreo.docs import ReportInput, build_report, load_files

loaded = load_files(["tpc.choreo"])
html = build_report(ReportInput(loaded.protocols, loaded.sources))
"""

from aura_choreo.docs.load import Loaded, TraceFileError, load_files, read_trace
from aura_choreo.docs.report import ReportInput, build_report
from aura_choreo.docs.runview import RunDiagram, RunEvent
from aura_choreo.docs.sequence import sequence_svg
from aura_choreo.docs.statemachine import state_machine_svg

__all__ = [
    "Loaded",
    "ReportInput",
    "RunDiagram",
    "RunEvent",
    "TraceFileError",
    "build_report",
    "load_files",
    "read_trace",
    "sequence_svg",
    "state_machine_svg",
]
