"""Behaviours for hunt8's process tests (loaded by `run --behaviours this_file.py:OBJECT`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class SlowParticipant:
    """Announces (by creating $AURA_TEST_MARKER) that the request arrived, then votes to commit after
    $AURA_TEST_PAUSE seconds: long enough for a test to kill and restart the coordinator meanwhile."""

    async def PrepareResponse(self, env: object) -> dict[str, object]:
        Path(os.environ["AURA_TEST_MARKER"]).write_text("got the request", encoding="utf-8")
        await asyncio.sleep(float(os.environ.get("AURA_TEST_PAUSE", "4")))
        return {"vote": "Commit"}
