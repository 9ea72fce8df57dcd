"""Projection: a checked protocol onto each role's local type, and the renderers of local types.

Exports are lazy so that importing `aura_choreo.projection.local_types` (the shared contract) does
not pull in the projection machinery. The text renderer is `aura_choreo.projection.render_text.render_text`
(not re-exported here: the submodule of the same name would shadow it).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "project_role": "aura_choreo.projection.project",
    "project_all": "aura_choreo.projection.project",
    "complete_choices": "aura_choreo.projection.notify",
    "to_json": "aura_choreo.projection.render_json",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aura_choreo.projection' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
