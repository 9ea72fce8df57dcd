"""The semantics + projection stage of `aura-choreo validate` (after the syntax stage).

Adds the check and projection diagnostics (E012..E090, W100..W104, I001) and, per protocol, the
concrete `roles` and bound `params`; keeps each projected `Protocol` on its own report (never by
name: two files may hold protocols of the same name) for the verification stage. Each file is one
load with the files it imports: calls resolve, and E090 applies, within that load only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aura_choreo.protocol import build_protocol
from aura_choreo.semantics.checker import build_registry, duplicate_names
from aura_choreo.syntax.ast import Choreography, SourceFile

if TYPE_CHECKING:
    from aura_choreo.cli.cmd_validate import Validation


def load_closure(files: dict[str, SourceFile], root: str) -> list[str]:
    """`root` and every file it imports, transitively, imports first (as the loader resolves them)."""
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(path: str) -> None:
        if path in seen or path not in files:
            return
        seen.add(path)
        base = os.path.dirname(path)
        for imported in files[path].imports:
            visit(os.path.normpath(os.path.join(base, imported.path)))
        ordered.append(path)

    visit(root)
    return ordered


def projection_stage(validation: Validation) -> None:
    """Check and project every choreography whose file has no syntax or name error."""
    params = dict(validation.options.params)
    for path in validation.files:
        closure = load_closure(validation.files, path)
        in_load: list[Choreography] = [c for p in closure for c in validation.files[p].choreographies]
        validation.diagnostics.extend(d for d in duplicate_names(in_load) if d.span.file == path)
        if validation.file_has_errors(path):
            continue
        registry = build_registry(in_load)
        for report in validation.protocols:
            if report.file != path:
                continue
            built = build_protocol(report.choreography, registry, validation.sources, params=params)
            validation.diagnostics.extend(built.diagnostics)
            report.fields["roles"] = list(built.checked.roles)
            report.fields["params"] = dict(built.checked.params)
            report.protocol = built.protocol
