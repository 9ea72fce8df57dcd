"""Rendering a local type in a named format: text, json (here) or dot, mermaid (from verify.export)."""

from __future__ import annotations

import importlib
import json

from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection.local_types import LocalType
from aura_choreo.projection.render_json import to_json
from aura_choreo.projection.render_text import render_text

FORMATS = ("text", "json", "dot", "mermaid")


class FormatUnavailable(AuraChoreoError):
    """A diagram format whose exporter is not installed in this build."""


def _diagram(local_type: LocalType, function: str) -> str:
    try:
        export = importlib.import_module("aura_choreo.verify.export")
        render = getattr(export, function)
    except (ImportError, AttributeError):
        raise FormatUnavailable(
            f"the `{function.removeprefix('to_')}` format needs `aura_choreo.verify.export.{function}`, "
            "which is not available in this build"
        ) from None
    result = render(local_type)
    if not isinstance(result, str):
        raise FormatUnavailable(f"`aura_choreo.verify.export.{function}` did not return text")
    return result


def render(local_type: LocalType, fmt: str) -> str:
    """`local_type` rendered as `fmt` (one of FORMATS)."""
    if fmt == "text":
        return render_text(local_type)
    if fmt == "json":
        return json.dumps(to_json(local_type), indent=2)
    if fmt == "dot":
        return _diagram(local_type, "to_dot")
    if fmt == "mermaid":
        return _diagram(local_type, "to_mermaid")
    raise ValueError(f"unknown format `{fmt}`; choose one of {', '.join(FORMATS)}")
