"""The semantics + projection stage of `aura-choreo validate` (after the syntax stage).

Adds the check and projection diagnostics (E012..E090, W100..W104, I001), E090 across the load, and
per protocol the concrete `roles` and bound `params`; keeps each projected `Protocol` in
`validation.projected` (by qualified name) for the verification stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aura_choreo.protocol import build_protocol
from aura_choreo.semantics.checker import build_registry, duplicate_names

if TYPE_CHECKING:
    from aura_choreo.cli.cmd_validate import Validation


def projection_stage(validation: Validation) -> None:
    """Check and project every choreography whose file has no syntax or name error."""
    everything = [c for f in validation.files.values() for c in f.choreographies]
    validation.diagnostics.extend(duplicate_names(everything))
    registry = build_registry(everything)
    params = dict(validation.options.params)
    for report in validation.protocols:
        if validation.file_has_errors(report.file):
            continue
        built = build_protocol(report.choreography, registry, validation.sources, params=params)
        validation.diagnostics.extend(built.diagnostics)
        report.fields["roles"] = list(built.checked.roles)
        report.fields["params"] = dict(built.checked.params)
        if built.protocol is not None:
            validation.projected[report.choreography.qualified_name] = built.protocol
