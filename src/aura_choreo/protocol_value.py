"""The `Protocol` value: a checked, projected choreography, what it was loaded from, and its hash.

`aura_choreo.protocol` builds these (`load`, `load_all`, `choreography`); `Protocol.bind` checks the
same source again with other parameters (`build_from_origin`). `protocol_hash` is the canonical hash
a deployment binds its sessions to and generated code records (SPEC §5.6).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from aura_choreo.diagnostics import Diagnostic, did_you_mean, error, has_errors, sort_diagnostics
from aura_choreo.errors import ChoreographyError
from aura_choreo.projection.local_types import LocalType
from aura_choreo.projection.project import UnknownRole, project_all
from aura_choreo.semantics import CheckedProtocol, check_choreography
from aura_choreo.semantics.core import CoreSeq
from aura_choreo.syntax.ast import Choreography
from aura_choreo.syntax.layout import format_choreography

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
class ProtocolOrigin:
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
        origin: ProtocolOrigin,
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

    @property
    def origin(self) -> ProtocolOrigin:
        """The parsed choreography (and the rest of its load) this protocol was checked from."""
        return self._origin

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
        return build_from_origin(self._origin, given, self._strict_choice)

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


def build_from_origin(
    origin: ProtocolOrigin, given: Mapping[str, int], strict_choice: bool | None
) -> Protocol:
    """Check and project `origin` with these parameters; raises `ChoreographyError` with every diagnostic."""
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


def protocol_hash(protocol: Protocol) -> str:
    """SHA-256 of the canonical text of the checked, bound protocol (SPEC §5.6).

    The canonical text is the formatter's rendering of the choreography and of every choreography of
    its load (calls may reach them), plus the bound parameters: comments and layout do not change the
    hash, any change to messages, roles, annotations or sizes does.
    """
    origin = protocol.origin
    texts = [f"protocol {protocol.qualified_name}"]
    texts += [f"{key}={value}" for key, value in sorted(protocol.params.items())]
    texts += [format_choreography(c) for _, c in sorted(origin.registry.items())]
    if origin.choreography.qualified_name not in origin.registry:
        texts.append(format_choreography(origin.choreography))
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
