"""`effects.sleep(nan)` is accepted and stalls the role until some other timer fires: found by hunt6.

The effect handler refuses a negative sleep (`EffectError`), and `TimeoutCoordinator` refuses a NaN
timeout, but `sleep(float("nan"))` goes to `asyncio.sleep`, whose timer heap cannot order NaN: the
sleep ends whenever the next real timer fires (the peer's 30 s receive deadline here), so the run
fails as a `PeerTimeout` blamed on the peer. Same on the real loop. Suspect: `effects/device.py`
(`DeviceHandler.handle`, the `Sleep` check).
"""

from __future__ import annotations

import math
from pathlib import Path

from aura_choreo.effects import role_effects
from aura_choreo.effects.ops import EffectError
from aura_choreo.protocol import load
from aura_choreo.testing.pytest_plugin import ChoreoSim

SIGNED_ORDER = Path(__file__).resolve().parents[1] / "effects" / "signed_order.choreo"


def test_a_nan_sleep_is_refused_like_a_negative_one() -> None:
    seen: list[str] = []

    class Client:
        async def Order(self, env: dict[str, object]) -> dict[str, object]:
            effects = role_effects()
            try:
                await effects.sleep(math.nan)
            except EffectError:
                seen.append("refused")
            else:
                seen.append(f"slept until {await effects.now()}")  # today: 30.0, the peer's deadline
            return {"item": "book", "ticket": 1, "signature": b"x"}

    ChoreoSim(SIGNED_ORDER.parent).run(load(str(SIGNED_ORDER)), roles={"Client": Client()})
    assert seen == ["refused"]
