"""Projection of a checked protocol onto its roles (SPEC §3.3): complete the choices, then project.

The per-statement rules are `projection.projector.Projector`; knowledge of choice is
`projection.notify` (which uses the projector, so neither imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass

from aura_choreo.diagnostics import UNKNOWN_SPAN, Diagnostic, did_you_mean, error, has_errors
from aura_choreo.errors import AuraChoreoError, ChoreographyError
from aura_choreo.projection import local_types as lt
from aura_choreo.projection.notify import complete_choices
from aura_choreo.projection.projector import Projector
from aura_choreo.semantics import core
from aura_choreo.semantics.checked import CheckedProtocol


class UnknownRole(AuraChoreoError):
    """A role name that the protocol does not have."""

    def __init__(self, role: str, roles: tuple[str, ...]):
        self.role = role
        self.roles = roles
        hint = did_you_mean(role, roles)
        listing = ", ".join(roles)
        super().__init__(f"unknown role `{role}`" + (f"; {hint}" if hint else "") + f" (roles: {listing})")


@dataclass(frozen=True)
class Projection:
    """Every role's local type, and what completing the choices said (W102 / E080)."""

    local_types: dict[str, lt.LocalType]
    diagnostics: tuple[Diagnostic, ...]
    body: core.CoreSeq
    """The core body with every inserted notification."""


def project_all(checked: CheckedProtocol, *, strict_choice: bool | None = None) -> Projection:
    """Project `checked` onto every role (after knowledge-of-choice completion, SPEC §3.4).

    Raises `ChoreographyError` if the protocol or the completion has errors.
    """
    body, diagnostics = _completed(checked, strict_choice)
    projector = Projector(body, checked.roles)
    types = {
        role: lt.LocalType(checked.qualified_name, role, projector.seq(body, role), checked.roles)
        for role in checked.roles
    }
    return Projection(types, tuple(diagnostics), body)


def project_role(checked: CheckedProtocol, role: str, *, strict_choice: bool | None = None) -> lt.LocalType:
    """The local type of one role (SPEC §3.3); `UnknownRole` (with a did-you-mean) if there is none."""
    if role not in checked.roles:
        raise UnknownRole(role, checked.roles)
    body, _ = _completed(checked, strict_choice)
    projector = Projector(body, checked.roles)
    return lt.LocalType(checked.qualified_name, role, projector.seq(body, role), checked.roles)


def _completed(checked: CheckedProtocol, strict_choice: bool | None) -> tuple[core.CoreSeq, list[Diagnostic]]:
    """The body with knowledge-of-choice notifications inserted, and their warnings; raises on errors."""
    if has_errors(checked.diagnostics):
        raise ChoreographyError(checked.diagnostics)
    strict = checked.strict_choice if strict_choice is None else strict_choice
    body, diagnostics = complete_choices(checked.body, checked.roles, strict=strict)
    if has_errors(diagnostics):
        raise ChoreographyError(diagnostics)
    return body, diagnostics


def unknown_role_error(role: str, roles: tuple[str, ...]) -> Diagnostic:
    """The diagnostic form of an unknown `--role`."""
    return error("E010", UNKNOWN_SPAN, f"unknown role `{role}`", did_you_mean(role, roles))
