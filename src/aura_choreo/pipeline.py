"""The validate pipeline: every check of a set of files, as typed results (`validate` prints them).

    from aura_choreo.pipeline import ValidateOptions, validate_paths

    validation = validate_paths(["a.choreo", "b.choreo"], ValidateOptions(strict=True))
    for report in validation.protocols:
        print(report.name, report.file, report.deadlock_free)

Three stages, each adding diagnostics and per-protocol results to one `Validation`:

1. syntax: parse every file and what it imports; name and annotation checks (E001..E060, W101); a
   given file that parses but declares no choreography is E091 (never "ok: 0 choreographies").
2. semantics + projection: check and project every choreography whose file has no error so far
   (E012..E090, W100..W104, I001). Each file is one load with the files it imports: calls resolve,
   and E090 applies, within that load only.
3. verification: model check (`deadlock_free`, `states`), branch reachability, budgets and manifests
   against `flow_limit` and the run-time policy (E100..E109, W105..W109), each finding with its
   shortest run as a hint.

Every protocol keeps its own results on its own `ProtocolReport`, never looked up by name: two files
may hold protocols of the same name. The JSON report is SPEC §7: `{"ok", "diagnostics", "protocols"}`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aura_choreo.diagnostics import Diagnostic, error, has_errors, promote_warnings, sort_diagnostics
from aura_choreo.protocol import Protocol, build_protocol, load_scope, no_choreography
from aura_choreo.syntax import load_sources
from aura_choreo.syntax.ast import Choreography, SourceFile
from aura_choreo.syntax.formatter import format_role_decl
from aura_choreo.verify import BudgetLimits, MachineCompileError, VerificationReport, verify_protocol
from aura_choreo.verify.limits import DEFAULT_FLOW_LIMIT

if TYPE_CHECKING:
    from aura_choreo.guards.policy import Policy


@dataclass(frozen=True)
class ValidateOptions:
    """What to check and against which limits."""

    strict: bool = False
    """Warnings become errors."""
    strict_choice: bool = False
    """A role that cannot learn a choice is error E080 instead of a notification (SPEC §3.4)."""
    extra_annotation_keys: frozenset[str] = frozenset()
    params: tuple[tuple[str, int], ...] = ()
    """Bindings of family sizes and integer parameters (unbound ones default to 3, with I001)."""
    bound: int = 4
    """Messages per channel explored by the model checker."""
    por: bool = True
    """Partial-order reduction (False: the full interleaving graph)."""
    flow_limit: int | None = None
    """Worst-case flow cost allowed per (role, peer) in one session."""
    policy: Policy | None = None
    """The run-time policy whose limits and capabilities are checked (loaded by the caller)."""
    max_states: int | None = 2_000_000
    """Stop exploring a protocol after this many states (W107)."""


@dataclass
class ProtocolReport:
    """One choreography of a validated file and what each stage found about it."""

    choreography: Choreography
    file: str
    roles: tuple[str, ...] | None = None
    """The concrete roles (`Voter[0]`, ...), once the protocol was checked."""
    params: dict[str, int] | None = None
    """Every parameter and family size as bound, once the protocol was checked."""
    protocol: Protocol | None = None
    """The checked and projected protocol, if checking and projection succeeded."""
    verification: VerificationReport | None = None
    """The model checker's report, if the protocol was verified."""

    @property
    def name(self) -> str:
        return self.choreography.qualified_name

    @property
    def deadlock_free(self) -> bool:
        return self.verification is not None and self.verification.deadlock_free

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "file": self.file}
        out["roles"] = (
            list(self.roles)
            if self.roles is not None
            else [format_role_decl(r) for r in self.choreography.roles]
        )
        if self.params is not None:
            out["params"] = dict(self.params)
        out["deadlock_free"] = self.deadlock_free
        out["states"] = 0 if self.verification is None else self.verification.states
        if self.verification is not None:
            details = self.verification.to_json()
            out["budgets"] = details.pop("budgets")
            out["manifests"] = details.pop("manifests")
            for key in ("protocol", "roles", "deadlock_free", "states"):
                details.pop(key)
            out["verification"] = details
        return out


@dataclass
class Validation:
    """The result: loaded files (imports first), their sources, every diagnostic, every protocol."""

    options: ValidateOptions
    files: dict[str, SourceFile] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    protocols: list[ProtocolReport] = field(default_factory=list)

    def file_has_errors(self, path: str) -> bool:
        """Whether `path` has an error so far (later stages skip such files' choreographies)."""
        return any(d.is_error and d.span.file == path for d in self.diagnostics)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "protocols": [p.to_json() for p in self.protocols],
        }


def validate_paths(paths: Sequence[str], options: ValidateOptions | None = None) -> Validation:
    """Run every stage over `paths`; diagnostics end up sorted, warnings promoted under `strict`."""
    validation = Validation(options or ValidateOptions())
    _syntax_stage(validation, paths)
    _projection_stage(validation)
    _verification_stage(validation)
    diagnostics = sort_diagnostics(validation.diagnostics)
    validation.diagnostics = promote_warnings(diagnostics) if validation.options.strict else diagnostics
    return validation


def _syntax_stage(validation: Validation, paths: Sequence[str]) -> None:
    for path in paths:
        loaded = load_sources(path, extra_annotation_keys=validation.options.extra_annotation_keys)
        validation.diagnostics.extend(loaded.diagnostics)
        root = loaded.files.get(os.path.normpath(path))
        if root is not None and not root.choreographies and not has_errors(loaded.diagnostics):
            validation.diagnostics.append(no_choreography(os.path.normpath(path)))
        validation.sources.update(loaded.sources)
        for name, file in loaded.files.items():
            if name in validation.files:
                continue
            validation.files[name] = file
            validation.protocols.extend(ProtocolReport(c, name) for c in file.choreographies)


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


def _projection_stage(validation: Validation) -> None:
    params = dict(validation.options.params)
    for path in validation.files:
        closure = load_closure(validation.files, path)
        scope = load_scope([c for p in closure for c in validation.files[p].choreographies])
        validation.diagnostics.extend(d for d in scope.duplicates if d.span.file == path)
        if validation.file_has_errors(path):
            continue
        for report in validation.protocols:
            if report.file != path:
                continue
            built = build_protocol(
                report.choreography,
                scope.registry,
                validation.sources,
                params=params,
                strict_choice=validation.options.strict_choice or None,
            )
            validation.diagnostics.extend(built.diagnostics)
            report.roles = built.checked.roles
            report.params = dict(built.checked.params)
            report.protocol = built.protocol


def _verification_stage(validation: Validation) -> None:
    options = validation.options
    for report in validation.protocols:
        if report.protocol is None:
            continue
        local_types = report.protocol.local_types()
        limits = BudgetLimits(options.flow_limit, default_flow_limit=DEFAULT_FLOW_LIMIT)
        if options.policy is not None:
            # Imported here: guards/ pulls in the journal and cryptography, which only a policy needs.
            from aura_choreo.guards.policy_limits import limits_from_policy

            limits = limits_from_policy(options.policy, list(local_types), options.flow_limit)
        span = report.choreography.span
        try:
            result = verify_protocol(
                local_types,
                bound=options.bound,
                por=options.por,
                max_states=options.max_states,
                limits=limits,
            )
        except MachineCompileError as exc:
            validation.diagnostics.append(
                error("E109", span, f"`{report.name}` cannot be model-checked: {exc}")
            )
            continue
        validation.diagnostics.extend(_named(d, report.name) for d in result.diagnostics(span))
        report.verification = result


def _named(diagnostic: Diagnostic, protocol: str) -> Diagnostic:
    return Diagnostic(
        diagnostic.code,
        diagnostic.severity,
        diagnostic.span,
        f"{protocol}: {diagnostic.message}",
        diagnostic.hints,
    )
