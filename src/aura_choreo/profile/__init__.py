"""`aura-choreo profile`: messages, bytes and rounds on the worst-case path, and how they grow.

    from aura_choreo.profile import profile_protocol

    report = profile_protocol(protocol)          # a loaded `Protocol`
    report.to_json()["complexity"]               # {"messages": "O(n)", "rounds": "O(1)", ...}

The payload size model is documented in `aura_choreo.profile.sizes`, the counting rules in
`aura_choreo.profile.count`, the fit in `aura_choreo.profile.scaling`.
"""

from aura_choreo.profile.count import Tally, count_body
from aura_choreo.profile.guard_cost import GuardCost, measure_guard_cost
from aura_choreo.profile.report import ProtocolProfile, ScalePoint, profile_protocol
from aura_choreo.profile.scaling import fit_complexity
from aura_choreo.profile.sizes import payload_bytes, type_bytes

__all__ = [
    "GuardCost",
    "ProtocolProfile",
    "ScalePoint",
    "Tally",
    "count_body",
    "fit_complexity",
    "measure_guard_cost",
    "payload_bytes",
    "profile_protocol",
    "type_bytes",
]
