"""Execution modes: `build_stack(protocol, policy, mode)` for testing, simulation and production."""

from aura_choreo.execution.modes import MODES, ExecutionStack, Mode, RunParts, build_stack, derived_identity
from aura_choreo.execution.storage import CoordinatorStorage, local_storage

__all__ = [
    "MODES",
    "CoordinatorStorage",
    "ExecutionStack",
    "Mode",
    "RunParts",
    "build_stack",
    "derived_identity",
    "local_storage",
]
