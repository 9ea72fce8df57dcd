"""Behaviours for the fault tests (loaded by `run --behaviours this_file.py:OBJECT`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class StallingParticipant:
    """Announces (by creating $AURA_TEST_MARKER) that it is mid-session, then never answers."""

    async def PrepareResponse(self, env: object) -> dict[str, object]:
        Path(os.environ["AURA_TEST_MARKER"]).write_text("mid-session", encoding="utf-8")
        await asyncio.sleep(3600)
        return {}
