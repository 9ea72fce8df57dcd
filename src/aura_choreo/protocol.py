"""The user-facing `Protocol`: a checked, projected choreography, and the ways to get one.

`load(path)`, `load_all(path)` and `choreography(text)` parse, check and project; any error raises
`ChoreographyError` carrying every diagnostic with its source. Unbound family sizes and integer
parameters are bound to 3 for analysis (info diagnostic I001) until `Protocol.bind(...)` says otherwise;
a session cannot start with one still unbound (E014, SPEC §1.3): `protocol.session(Signers=4)` binds it.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from aura_choreo.diagnostics import Diagnostic, Span, did_you_mean, error, has_errors, sort_diagnostics
from aura_choreo.errors import ChoreographyError
from aura_choreo.projection.local_types import LocalType
from aura_choreo.projection.project import UnknownRole, project_all
from aura_choreo.semantics import CheckedProtocol, check_choreography
from aura_choreo.semantics.checker import build_registry, duplicate_names
from aura_choreo.semantics.core import CoreSeq
from aura_choreo.syntax.ast import Choreography

if TYPE_CHECKING:
    from aura_choreo.runtime.extensions import ExtensionRegistry
    from aura_choreo.runtime.messages import UserTypes
    from aura_choreo.runtime.session import Session
    from aura_choreo.runtime.trace import Trace
    from aura_choreo.transports.base import Address


class _Default(enum.Enum):
    """An argument left out: the runtime's own default applies (imported only when a session starts)."""

    DEFAULT = enum.auto()


@dataclass(frozen=True)
class _Origin:
    """What a protocol was loaded from: enough to check it again with other parameters."""

    choreography: Choreography
    registry: Mapping[str, Choreography]
    sources: Mapping[str, str]
    parse_diagnostics: tuple[Diagnostic, ...] = ()


class Protocol:
    """A choreography that parsed, checked and projected: its roles and one local type per role."""

    def __init__(
        self,
        checked: CheckedProtocol,
        origin: _Origin,
        *,
        strict_choice: bool | None = None,
        given: Mapping[str, int] | None = None,
    ):
        projection = project_all(checked, strict_choice=strict_choice)
        self.checked = checked
        self._origin = origin
        self._strict_choice = strict_choice
        self._given = dict(given or {})
        self._local_types = projection.local_types
        self.body: CoreSeq = projection.body
        """The core body, notifications included (what the local types were projected from)."""
        self.diagnostics: list[Diagnostic] = sort_diagnostics(
            [*origin.parse_diagnostics, *checked.diagnostics, *projection.diagnostics]
        )

    @property
    def qualified_name(self) -> str:
        return self.checked.qualified_name

    @property
    def name(self) -> str:
        return self.checked.name

    @property
    def roles(self) -> tuple[str, ...]:
        """Concrete roles in declaration order (`Voter[0]`, `Voter[1]`, ...)."""
        return self.checked.roles

    @property
    def params(self) -> dict[str, int]:
        """Every parameter and family size, as bound (given or defaulted)."""
        return self.checked.param_map

    @property
    def sources(self) -> dict[str, str]:
        return dict(self._origin.sources)

    def bind(self, **params: int) -> Protocol:
        """A new `Protocol` with these family sizes / integer parameters (`bind(N=5, Signers=4)`)."""
        known = self._parameter_names()
        for key, value in params.items():
            if key not in known:
                hint = did_you_mean(key, known) or f"parameters: {', '.join(sorted(known)) or 'none'}"
                raise ChoreographyError(
                    [
                        error(
                            "E014",
                            self.checked.span,
                            f"`{self.qualified_name}` has no parameter `{key}`",
                            hint,
                        )
                    ],
                    self._origin.sources,
                )
            if isinstance(value, bool) or not isinstance(value, int):
                raise ChoreographyError(
                    [
                        error(
                            "E014", self.checked.span, f"parameter `{key}` must be an integer, got {value!r}"
                        )
                    ],
                    self._origin.sources,
                )
        given = {**self._given, **params}
        return _build(self._origin, given, self._strict_choice)

    def _parameter_names(self) -> set[str]:
        names = set(self.checked.param_map)
        for decl in self.checked.role_decls:
            if decl.size == "*":
                names.add(decl.name)
            elif isinstance(decl.size, str):
                names.add(decl.size)
        return names

    def local_type(self, role: str) -> LocalType:
        """The local type of `role` (a concrete name such as `Voter[1]`)."""
        found = self._local_types.get(role)
        if found is None:
            raise UnknownRole(role, self.roles)
        return found

    def local_types(self) -> dict[str, LocalType]:
        """Every role's local type, in declaration order."""
        return dict(self._local_types)

    def session(
        self,
        *,
        session_id: str | None = None,
        devices: Mapping[str, Address] | None = None,
        extensions: ExtensionRegistry | None = None,
        trace: Trace | None = None,
        peer_timeout: float | Literal[_Default.DEFAULT] | None = _Default.DEFAULT,
        user_types: UserTypes | None = None,
        **sizes: int,
    ) -> Session:
        """Start a session of this protocol; `sizes` bind family sizes and integer parameters.

        `protocol.session(Signers=4)` is `protocol.bind(Signers=4).session()`. Every parameter must
        be bound by then (here, by `bind`, or by `load(..., params=...)`): one that analysis bound to
        its default raises `ChoreographyError` E014 instead of running with a silent 3.
        `peer_timeout`: seconds a receive waits for a silent peer (None: forever; default: the
        runtime's, 30 s).
        """
        protocol = self.bind(**sizes) if sizes else self
        protocol.require_bound()
        from aura_choreo.runtime.session import start_session

        start = partial(
            start_session,
            protocol,
            session_id=session_id,
            devices=devices,
            extensions=extensions,
            trace=trace,
            user_types=user_types,
        )
        return start() if peer_timeout is _Default.DEFAULT else start(peer_timeout=peer_timeout)

    def unbound_parameters(self) -> tuple[str, ...]:
        """Parameters and family sizes nobody bound (analysis used the default for them, I001)."""
        return tuple(name for name in self.checked.param_map if name not in self._given)

    def require_bound(self) -> None:
        """Raise `ChoreographyError` E014 naming each parameter still unbound (before a run starts)."""
        unbound = self.unbound_parameters()
        if not unbound:
            return
        origin = self._origin
        strict = check_choreography(
            origin.choreography, origin.registry, params=self._given, default_parameter=None
        )
        diagnostics = [
            Diagnostic(d.code, d.severity, d.span, f"{d.message} at session start", (_bind_hint(d, unbound),))
            for d in strict.diagnostics
            if d.code == "E014"
        ]
        if not diagnostics:  # unreachable unless the check changes; never start with a silent default
            names = ", ".join(f"`{n}`" for n in unbound)
            diagnostics = [error("E014", self.checked.span, f"{names} unbound at session start")]
        raise ChoreographyError(sort_diagnostics(diagnostics), origin.sources)

    def __repr__(self) -> str:
        return f"Protocol({self.qualified_name!r}, roles={list(self.roles)!r})"


def _bind_hint(diagnostic: Diagnostic, unbound: tuple[str, ...]) -> str:
    name = next((n for n in unbound if f"({n}=K)" in " ".join(diagnostic.hints)), unbound[0])
    return f"bind it: `protocol.session({name}=K)`, `Protocol.bind({name}=K)` or `--param {name}=K`"


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
    origin = _Origin(choreography, registry, sources)
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


def _build(origin: _Origin, given: Mapping[str, int], strict_choice: bool | None) -> Protocol:
    checked = check_choreography(origin.choreography, origin.registry, params=given)
    if has_errors(checked.diagnostics):
        raise ChoreographyError(
            sort_diagnostics([*origin.parse_diagnostics, *checked.diagnostics]), origin.sources
        )
    try:
        return Protocol(checked, origin, strict_choice=strict_choice, given=given)
    except ChoreographyError as exc:
        raise ChoreographyError(
            sort_diagnostics([*origin.parse_diagnostics, *checked.diagnostics, *exc.diagnostics]),
            origin.sources,
        ) from None


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
        origin = _Origin(
            c, registry, sources, tuple(d for d in parse_diagnostics if d.span.file == c.span.file)
        )
        try:
            result[c.qualified_name] = _build(origin, dict(params or {}), strict_choice)
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


def _choose(choreographies: list[Choreography], name: str | None, where: str) -> Choreography:
    names = [c.qualified_name for c in choreographies]
    if name is None:
        if len(choreographies) == 1:
            return choreographies[0]
        message = (
            f"`{where}` declares no choreography"
            if not choreographies
            else f"`{where}` declares {len(choreographies)} choreographies; say which one: {', '.join(names)}"
        )
        raise ChoreographyError([error("E020", Span.point(where, 1, 1), message)])
    for c in choreographies:
        if name in (c.qualified_name, c.name):
            return c
    raise ChoreographyError(
        [
            error(
                "E020",
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
