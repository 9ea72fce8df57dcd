"""The ways to get a `Protocol` (the user-facing value of `aura_choreo.protocol_value`).

`load(path)`, `load_all(path)` and `choreography(text)` parse, check and project; any error raises
`ChoreographyError` carrying every diagnostic with its source. Unbound family sizes and integer
parameters are bound to 3 for analysis (info diagnostic I001) until `Protocol.bind(...)` says otherwise;
a session cannot start with one still unbound (E014, SPEC §1.3): `protocol.session(Signers=4)` binds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.diagnostics import Diagnostic, Span, did_you_mean, error, has_errors, sort_diagnostics
from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol_value import Protocol, ProtocolOrigin, build_from_origin, protocol_hash
from aura_choreo.semantics import CheckedProtocol, check_choreography
from aura_choreo.semantics.checker import build_registry, duplicate_names
from aura_choreo.syntax.ast import Choreography

__all__ = [
    "NO_CHOREOGRAPHY",
    "BuildResult",
    "FileBuild",
    "LoadScope",
    "Protocol",
    "ProtocolOrigin",
    "build_file",
    "build_protocol",
    "choreography",
    "load",
    "load_all",
    "load_scope",
    "no_choreography",
    "protocol_hash",
]


@dataclass(frozen=True)
class BuildResult:
    """A choreography checked and, if that succeeded, projected: never raises on bad input."""

    checked: CheckedProtocol
    protocol: Protocol | None
    diagnostics: tuple[Diagnostic, ...]
    """The check's and the projection's diagnostics (not the parser's)."""


def build_protocol(
    choreography: Choreography,
    registry: Mapping[str, Choreography],
    sources: Mapping[str, str],
    *,
    params: Mapping[str, int] | None = None,
    strict_choice: bool | None = None,
) -> BuildResult:
    """Check and project one parsed choreography of a load (`registry`: all of the load's, for calls)."""
    origin = ProtocolOrigin(choreography, registry, sources)
    given = dict(params or {})
    checked = check_choreography(choreography, registry, params=given)
    if has_errors(checked.diagnostics):
        return BuildResult(checked, None, checked.diagnostics)
    try:
        protocol = Protocol(checked, origin, strict_choice=strict_choice, given=given)
    except ChoreographyError as exc:
        return BuildResult(checked, None, tuple(sort_diagnostics([*checked.diagnostics, *exc.diagnostics])))
    return BuildResult(checked, protocol, tuple(protocol.diagnostics))


@dataclass(frozen=True)
class LoadScope:
    """The choreographies of one load (a file and what it imports): calls resolve among them."""

    choreographies: tuple[Choreography, ...]
    registry: Mapping[str, Choreography]
    duplicates: tuple[Diagnostic, ...]
    """A name declared twice in the load (E0xx); only one of them can be called."""


def load_scope(choreographies: Sequence[Choreography]) -> LoadScope:
    """The scope of a load: every choreography in it, by name for calls, and its duplicate names."""
    return LoadScope(
        tuple(choreographies), build_registry(choreographies), tuple(duplicate_names(choreographies))
    )


@dataclass(frozen=True)
class FileBuild:
    """Every choreography a file declares, checked and projected (imports serve calls only)."""

    results: tuple[BuildResult, ...]
    diagnostics: tuple[Diagnostic, ...]
    """The load's, the duplicate names', and each choreography's check and projection diagnostics."""
    sources: Mapping[str, str]

    @property
    def protocols(self) -> list[Protocol]:
        return [r.protocol for r in self.results if r.protocol is not None]


def build_file(
    path: str | os.PathLike[str],
    *,
    params: Mapping[str, int] | None = None,
    strict_choice: bool | None = None,
) -> FileBuild:
    """Load `path` with its imports, then check and project each choreography it declares; never
    raises on bad input (a load error stops before checking: the diagnostics say why)."""
    from aura_choreo.syntax import load_sources

    loaded = load_sources(os.fspath(path))
    if has_errors(loaded.diagnostics):
        return FileBuild((), tuple(loaded.diagnostics), loaded.sources)
    scope = load_scope([c for f in loaded.files.values() for c in f.choreographies])
    root = os.path.normpath(os.fspath(path))
    results = tuple(
        build_protocol(c, scope.registry, loaded.sources, params=params, strict_choice=strict_choice)
        for p, f in loaded.files.items()
        if p == root
        for c in f.choreographies
    )
    diagnostics = [*loaded.diagnostics, *scope.duplicates, *(d for r in results for d in r.diagnostics)]
    return FileBuild(results, tuple(sort_diagnostics(diagnostics)), loaded.sources)


def _protocols(
    choreographies: list[Choreography],
    sources: Mapping[str, str],
    parse_diagnostics: list[Diagnostic],
    *,
    params: Mapping[str, int] | None,
    strict_choice: bool | None,
    only: Choreography | None = None,
) -> dict[str, Protocol]:
    if has_errors(parse_diagnostics):
        raise ChoreographyError(parse_diagnostics, sources)
    scope = load_scope(choreographies)
    if scope.duplicates:
        raise ChoreographyError(sort_diagnostics([*parse_diagnostics, *scope.duplicates]), sources)
    registry = scope.registry
    result: dict[str, Protocol] = {}
    failures: list[Diagnostic] = []
    for c in choreographies if only is None else [only]:
        origin = ProtocolOrigin(
            c, registry, sources, tuple(d for d in parse_diagnostics if d.span.file == c.span.file)
        )
        try:
            result[c.qualified_name] = build_from_origin(origin, dict(params or {}), strict_choice)
        except ChoreographyError as exc:
            failures.extend(exc.diagnostics)
    if failures:
        raise ChoreographyError(sort_diagnostics(failures), sources)
    return result


def _root_choreographies(
    path: str,
) -> tuple[list[Choreography], list[Choreography], dict[str, str], list[Diagnostic]]:
    from aura_choreo.syntax import load_sources

    loaded = load_sources(path)
    root = os.path.normpath(os.fspath(path))
    everything = [c for f in loaded.files.values() for c in f.choreographies]
    in_root = [c for p, f in loaded.files.items() if p == root for c in f.choreographies]
    return everything, in_root, loaded.sources, list(loaded.diagnostics)


def load_all(
    path: str | os.PathLike[str],
    *,
    params: Mapping[str, int] | None = None,
    strict_choice: bool | None = None,
) -> dict[str, Protocol]:
    """Every choreography declared in `path` (imports only serve calls), by qualified name."""
    everything, in_root, sources, diagnostics = _root_choreographies(os.fspath(path))
    if has_errors(diagnostics):
        raise ChoreographyError(diagnostics, sources)
    protocols = _protocols(everything, sources, diagnostics, params=params, strict_choice=strict_choice)
    return {c.qualified_name: protocols[c.qualified_name] for c in in_root}


def load(
    path: str | os.PathLike[str],
    name: str | None = None,
    *,
    params: Mapping[str, int] | None = None,
    strict_choice: bool | None = None,
) -> Protocol:
    """The one choreography in `path`, or the one called `name` (plain or qualified)."""
    everything, in_root, sources, diagnostics = _root_choreographies(os.fspath(path))
    if has_errors(diagnostics):
        raise ChoreographyError(diagnostics, sources)
    chosen = _choose(in_root, name, os.fspath(path))
    protocols = _protocols(
        everything, sources, diagnostics, params=params, strict_choice=strict_choice, only=chosen
    )
    return protocols[chosen.qualified_name]


NO_CHOREOGRAPHY = "E091"
"""The code of a load with no choreography to use: the file declares none, or none by the name asked
for, or several and no name says which. Load-level, like E090 (SPEC §2's list needs it: 'E091 no
choreography to load'); it was E020, which SPEC §2 gives to an undefined sub-protocol."""


def no_choreography(where: str) -> Diagnostic:
    """E091 for a file that declares no choreography (empty, only comments, or only imports): what
    `load`, `validate` and every command that works on one choreography say of it."""
    return error(
        NO_CHOREOGRAPHY,
        Span.point(where, 1, 1),
        f"`{where}` declares no choreography",
        "a choreography reads `choreography Name { roles: A, B; ... }`",
    )


def _choose(choreographies: list[Choreography], name: str | None, where: str) -> Choreography:
    names = [c.qualified_name for c in choreographies]
    if not choreographies and name is None:
        raise ChoreographyError([no_choreography(where)])
    if name is None:
        if len(choreographies) == 1:
            return choreographies[0]
        count = len(choreographies)
        message = f"`{where}` declares {count} choreographies; say which one: {', '.join(names)}"
        raise ChoreographyError([error(NO_CHOREOGRAPHY, Span.point(where, 1, 1), message)])
    for c in choreographies:
        if name in (c.qualified_name, c.name):
            return c
    raise ChoreographyError(
        [
            error(
                NO_CHOREOGRAPHY,
                Span.point(where, 1, 1),
                f"`{where}` has no choreography `{name}` (it declares: {', '.join(names) or 'none'})",
                did_you_mean(name, names),
            )
        ]
    )


def choreography(
    text: str,
    *,
    filename: str = "<choreography>",
    name: str | None = None,
    params: Mapping[str, int] | None = None,
    strict_choice: bool | None = None,
) -> Protocol:
    """Parse, check and project `text` (the analogue of the Rust macro); raises `ChoreographyError`."""
    from aura_choreo.syntax import parse_source

    parsed = parse_source(text, filename)
    sources = {filename: text}
    if has_errors(parsed.diagnostics):
        raise ChoreographyError(parsed.diagnostics, sources)
    everything = list(parsed.file.choreographies)
    chosen = _choose(everything, name, filename)
    protocols = _protocols(
        everything, sources, parsed.diagnostics, params=params, strict_choice=strict_choice, only=chosen
    )
    return protocols[chosen.qualified_name]
