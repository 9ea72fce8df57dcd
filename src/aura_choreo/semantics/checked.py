"""The result of checking one choreography."""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.diagnostics import UNKNOWN_SPAN, Diagnostic, Span, has_errors
from aura_choreo.semantics.core import CoreSeq
from aura_choreo.syntax.ast import RoleDecl
from aura_choreo.syntax.payload import AnnotationMap


@dataclass(frozen=True)
class CheckedProtocol:
    """A choreography after name resolution, binding, expansion and well-formedness checks."""

    qualified_name: str
    name: str
    roles: tuple[str, ...]
    """Concrete roles in declaration order; family instances are `Name[i]`."""
    role_decls: tuple[RoleDecl, ...]
    params: tuple[tuple[str, int], ...]
    """Every parameter the check bound (given or defaulted), in first-use order."""
    body: CoreSeq
    diagnostics: tuple[Diagnostic, ...]
    strict_choice: bool = False
    annotations: AnnotationMap = ()
    file: str = ""
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """No error among the diagnostics."""
        return not has_errors(self.diagnostics)

    @property
    def param_map(self) -> dict[str, int]:
        return dict(self.params)
