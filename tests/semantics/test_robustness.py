"""Any AST, however wrong, gives diagnostics (or a `ChoreographyError` from projection), never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from aura_choreo import ChoreographyError
from aura_choreo.projection.project import project_all
from aura_choreo.semantics import check_all
from aura_choreo.syntax import ast
from syntax.syntax_ast_strategies import source_files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source_files("fuzz.choreo"))
def test_checking_and_projecting_random_trees_never_crashes(file: ast.SourceFile) -> None:
    checked = check_all(file.choreographies)
    for protocol in checked.protocols:
        assert all(d.code and d.message for d in protocol.diagnostics)
        if protocol.ok:
            try:
                projection = project_all(protocol)
            except ChoreographyError as exc:
                assert {d.code for d in exc.diagnostics if d.is_error} <= {"E040", "E080"}
            else:
                assert set(projection.local_types) == set(protocol.roles)
