"""The semantic pipeline: bind, expand, analyse knowledge, check structure -> `CheckedProtocol`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aura_choreo.diagnostics import Diagnostic, error, sort_diagnostics
from aura_choreo.semantics.ast_walk import loop_variables, rec_labels
from aura_choreo.semantics.checked import CheckedProtocol
from aura_choreo.semantics.core import CoreSeq, walk
from aura_choreo.semantics.expand import Expander
from aura_choreo.semantics.expand_messages import annotation_map, normalise_key
from aura_choreo.semantics.knowledge import KnowledgeAnalysis
from aura_choreo.semantics.naming import NameAllocator
from aura_choreo.semantics.params import DEFAULT_PARAMETER, MAX_FAMILY_SIZE, ParamEnv
from aura_choreo.semantics.roles import RoleTable
from aura_choreo.semantics.structure import (
    assign_coordinators,
    check_parallel,
    check_timeouts,
    check_unused_roles,
)
from aura_choreo.syntax import ast

MAX_ANALYSIS_WORK = 4_000_000
"""Concrete roles x expanded steps beyond which a protocol is not projected (about 2 s of work)."""


def build_registry(choreographies: Iterable[ast.Choreography]) -> dict[str, ast.Choreography]:
    """Choreographies by qualified name, and by plain name where that is unambiguous."""
    registry: dict[str, ast.Choreography] = {}
    plain: dict[str, list[ast.Choreography]] = {}
    for c in choreographies:
        registry.setdefault(c.qualified_name, c)
        plain.setdefault(c.name, []).append(c)
    for name, found in plain.items():
        if len(found) == 1:
            registry.setdefault(name, found[0])
    return registry


def duplicate_names(choreographies: Iterable[ast.Choreography]) -> list[Diagnostic]:
    """E090 for each choreography whose qualified name an earlier one already took."""
    first: dict[str, ast.Choreography] = {}
    found: list[Diagnostic] = []
    for c in choreographies:
        earlier = first.setdefault(c.qualified_name, c)
        if earlier is not c:
            found.append(
                error(
                    "E090",
                    c.span,
                    f"duplicate choreography `{c.qualified_name}` (first declared at {earlier.span})",
                    'rename one, or put them in different namespaces with `#[namespace = "..."]`',
                )
            )
    return found


def is_strict_choice(choreography: ast.Choreography) -> bool:
    """Whether `#[strict_choice]` is set on the choreography."""
    return any(
        normalise_key(a.key) == "strict_choice" and a.value is not False for a in choreography.annotations
    )


def check_choreography(
    choreography: ast.Choreography,
    registry: Mapping[str, ast.Choreography] | None = None,
    *,
    params: Mapping[str, int] | None = None,
    default_parameter: int | None = DEFAULT_PARAMETER,
) -> CheckedProtocol:
    """Check one choreography; `registry` holds the other choreographies of the load (for `call`).

    Unbound parameters get `default_parameter` (info I001), or error E014 when it is None.
    """
    diagnostics: list[Diagnostic] = []
    env = ParamEnv(params or {}, default_parameter, diagnostics)
    roles = RoleTable(choreography.roles, env, diagnostics)
    names = NameAllocator(rec_labels(choreography.body))
    registry = registry if registry is not None else build_registry([choreography])
    body = Expander(choreography, registry, roles, env, diagnostics, names).expand()
    if _too_large(choreography, roles.concrete, body, diagnostics):
        return _checked(choreography, roles.concrete, env, body, diagnostics)
    loop_vars = loop_variables(choreography.body)
    common = frozenset(env.bound()) | frozenset(loop_vars)
    body = KnowledgeAnalysis(roles.concrete, common, body, diagnostics).run(body)
    body = assign_coordinators(body, diagnostics)
    check_parallel(body, diagnostics)
    check_timeouts(body, diagnostics)
    if not any(d.is_error for d in diagnostics):  # after an error, unused roles are mostly its echo
        check_unused_roles(choreography.roles, body, diagnostics)
    return _checked(choreography, roles.concrete, env, body, diagnostics)


def _too_large(
    choreography: ast.Choreography, roles: tuple[str, ...], body: CoreSeq, diagnostics: list[Diagnostic]
) -> bool:
    """Whether the expanded protocol is beyond what projection (work: roles x steps) does promptly.

    Past an error on a size (E014), the expansion is clamped and only echoes it: stop there too.
    """
    steps = sum(1 for _ in walk(body))
    if len(roles) * steps <= MAX_ANALYSIS_WORK:
        return False
    if not any(d.is_error and d.code == "E014" for d in diagnostics):
        family = max((d for d in choreography.roles if d.is_family), key=lambda d: str(d.size), default=None)
        if family is None or isinstance(family.size, int):
            example = f"`{family.name}[100]`" if family is not None else "fewer roles"
        else:
            example = f"`--param {family.name if family.size == '*' else family.size}=100`"
        diagnostics.append(
            error(
                "E014",
                choreography.span,
                f"`{choreography.name}` expands to {len(roles)} roles and {steps} steps, more than"
                f" {MAX_ANALYSIS_WORK:,} role-steps to project and check",
                f"check it with smaller families, e.g. {example}; the run time takes up to"
                f" {MAX_FAMILY_SIZE} instances per family",
            )
        )
    return True


def _checked(
    choreography: ast.Choreography,
    roles: tuple[str, ...],
    env: ParamEnv,
    body: CoreSeq,
    diagnostics: list[Diagnostic],
) -> CheckedProtocol:
    return CheckedProtocol(
        qualified_name=choreography.qualified_name,
        name=choreography.name,
        roles=roles,
        role_decls=choreography.roles,
        params=tuple(env.bound().items()),
        body=body,
        diagnostics=tuple(sort_diagnostics(diagnostics)),
        strict_choice=is_strict_choice(choreography),
        annotations=annotation_map(choreography.annotations),
        file=choreography.span.file,
        span=choreography.span,
    )


@dataclass(frozen=True)
class CheckedLoad:
    """Every choreography of a load, checked, plus load-level diagnostics (E090)."""

    protocols: tuple[CheckedProtocol, ...]
    diagnostics: tuple[Diagnostic, ...]


def check_all(
    choreographies: Iterable[ast.Choreography],
    *,
    params: Mapping[str, int] | None = None,
    default_parameter: int | None = DEFAULT_PARAMETER,
) -> CheckedLoad:
    """Check every choreography of a load (files and their imports); E090 on duplicate names."""
    all_choreographies = list(choreographies)
    registry = build_registry(all_choreographies)
    checked = tuple(
        check_choreography(c, registry, params=params, default_parameter=default_parameter)
        for c in all_choreographies
    )
    return CheckedLoad(checked, tuple(duplicate_names(all_choreographies)))
