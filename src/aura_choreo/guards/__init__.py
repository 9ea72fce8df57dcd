"""The guard chain (SPEC §5.2-§5.3): capabilities, flow and leakage budgets, journal coupling, receipts.

    policy = load_policy("policy.toml")
    session = protocol.session(extensions=guard_registry(policy))   # or build_guard_extension(policy)

The parts of the chain (ledgers, layers, receipts, the journal coupler) are in the submodules.
"""

from aura_choreo.guards.chain import GuardChain
from aura_choreo.guards.extension import GuardExtension, build_guard_extension, guard_registry
from aura_choreo.guards.leakage import LeakageVector
from aura_choreo.guards.policy import Policy, PolicyError
from aura_choreo.guards.policy_file import load_policy, parse_policy
from aura_choreo.guards.profile import GuardConfigError, GuardProfile, profile_from_annotations

__all__ = [
    "GuardChain",
    "GuardConfigError",
    "GuardExtension",
    "GuardProfile",
    "LeakageVector",
    "Policy",
    "PolicyError",
    "build_guard_extension",
    "guard_registry",
    "load_policy",
    "parse_policy",
    "profile_from_annotations",
]
