"""One behaviour module for `signed_order.choreo`, run unchanged in every execution mode: by the pytest
fixture and `simulate` (simulation), by `aura-choreo run` in two processes (production) and in-process
(testing). Every role effect is used; what reaches the wire does not depend on the mode."""

from __future__ import annotations

from aura_choreo.effects import role_effects

DEVICES = {"Client": "dev-client", "Server": "dev-server"}
"""The devices the tests' policies map the roles to (`verify` names the signer's device)."""


class Client:
    async def Order(self, env: dict[str, object]) -> dict[str, object]:
        effects = role_effects()
        start = await effects.now()
        await effects.sleep(0.05)
        assert await effects.now() - start >= 0.05
        ticket = int(await effects.random() * 1_000_000)
        await effects.store_put("last_order", "book")
        assert await effects.store_get("last_order") == "book"
        assert await effects.journal_facts("never_committed") == ()
        return {"item": "book", "ticket": ticket, "signature": await effects.sign(b"book")}


class Server:
    async def choose(self, env: dict[str, object]) -> str:
        effects = role_effects()
        item, signature = env["item"], env["signature"]
        assert isinstance(item, str) and isinstance(signature, bytes)
        ok = await effects.verify(DEVICES["Client"], item.encode(), signature)
        forged = await effects.verify(DEVICES["Client"], b"forged", signature)
        return "accept" if ok and not forged else "reject"

    choose_accept_or_reject = choose


ROLES = {"Client": Client(), "Server": Server()}
