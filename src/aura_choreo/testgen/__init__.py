"""`aura-choreo test-gen`: a pytest suite per choreography that passes as generated.

    from aura_choreo.testgen import write_suite

    write_suite([protocol], ["tpc.choreo"], "tests/tpc")   # behaviours.py + test_two_phase_commit.py

`plan` reads what to test off the protocol; `writer` writes the files; `harness` is what the
generated tests call at run time.
"""

from aura_choreo.testgen.plan import Plan, plan_protocol
from aura_choreo.testgen.writer import Written, write_suite

__all__ = ["Plan", "Written", "plan_protocol", "write_suite"]
