"""Code generation (SPEC §6): a typed Python package per choreography, one typestate class per state.

A consumer of projection and runtime (never imported by them). `generate(protocol, source)` gives the
files; `write` and `stale_files` put them on disk and compare them; generated code imports only
`aura_choreo.codegen.support`.
"""

from aura_choreo.codegen.names import snake_case
from aura_choreo.codegen.package import Package, generate, stale_files, write
from aura_choreo.codegen.states import CodegenError
from aura_choreo.codegen.support import StateReused

__all__ = [
    "CodegenError",
    "Package",
    "StateReused",
    "generate",
    "snake_case",
    "stale_files",
    "write",
]
