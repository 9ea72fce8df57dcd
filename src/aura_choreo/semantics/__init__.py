"""Semantics: resolve names, bind families, expand sugar into the core language, check well-formedness."""

from aura_choreo.semantics.checked import CheckedProtocol
from aura_choreo.semantics.checker import CheckedLoad, build_registry, check_all, check_choreography

__all__ = ["CheckedLoad", "CheckedProtocol", "build_registry", "check_all", "check_choreography"]
