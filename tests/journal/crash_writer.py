"""Child process of the crash-safety test: guarded sends in a loop until it is killed.

Every third send is refused by the transport. After each send it prints `ACCEPTED <n> <fact id>` (after
the commit returned) or `REFUSED <n>`, flushed, so the parent knows exactly what was committed.
"""

from __future__ import annotations

import asyncio
import sys

from aura_choreo.errors import TransportError
from aura_choreo.guards import parse_policy
from aura_choreo.guards.chain import Attachments, OutgoingSend


async def main(path: str) -> None:
    policy = parse_policy(
        {
            "journal": path,
            "defaults": {"flow_limit": 10**12},
            "devices": {"writer": {"capabilities": ["write"]}},
            "roles": {"Writer": "writer", "Reader": "reader"},
        }
    )
    chain = policy.build_chain()
    n = 0
    while True:
        n += 1

        async def transmit(_attachments: Attachments, n: int = n) -> None:
            await asyncio.sleep(0)
            if n % 3 == 0:
                raise TransportError(f"send {n} refused")

        annotations = (("guard_capability", "write"), ("flow_cost", 1), ("journal_facts", f"fact{n}"))
        send = OutgoingSend("crash.Test", "s", "Writer", "writer", "Reader", "reader", "Write", annotations)
        try:
            await chain.send_guarded(send, transmit)
        except TransportError:
            print(f"REFUSED {n}", flush=True)
            continue
        fact = chain.device("writer").journal.facts()[-1]
        print(f"ACCEPTED {n} {fact.id.device}:{fact.id.counter} {fact.name}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
