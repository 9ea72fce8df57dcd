"""Child process of the crash-safety tests: guarded sends in a loop until it is killed.

`crash_writer.py DB [SESSIONS]`: SESSIONS concurrent sessions (1 by default) send in a loop through
`send_guarded`, which on a file journal waits on the group commit. Every third send of a session is
refused by the transport. After each send it prints `ACCEPTED <n> <fact id> <fact name>` (once
`send_guarded` returned: the fact is acknowledged) or `REFUSED <n> <fact name>`, flushed, so the parent
knows exactly what was acknowledged.
"""

from __future__ import annotations

import asyncio
import sys

from aura_choreo.errors import TransportError
from aura_choreo.guards import parse_policy
from aura_choreo.guards.chain import Attachments, OutgoingSend


async def main(path: str, sessions: int) -> None:
    policy = parse_policy(
        {
            "journal": path,
            "defaults": {"flow_limit": 10**12},
            "devices": {"writer": {"capabilities": ["write"]}},
            "roles": {"Writer": "writer", "Reader": "reader"},
        }
    )
    chain = policy.build_chain()

    async def session(index: int) -> None:
        n = 0
        while True:
            n += 1
            name = f"fact{n}" if sessions == 1 else f"fact{index}.{n}"

            async def transmit(_attachments: Attachments, n: int = n) -> None:
                await asyncio.sleep(0)
                if n % 3 == 0:
                    raise TransportError(f"send {n} refused")

            annotations = (("guard_capability", "write"), ("flow_cost", 1), ("journal_facts", name))
            send = OutgoingSend(
                "crash.Test", f"s{index}", "Writer", "writer", "Reader", "reader", "Write", annotations
            )
            try:
                await chain.send_guarded(send, transmit)
            except TransportError:
                print(f"REFUSED {n} {name}", flush=True)
                continue
            facts = chain.device("writer").journal.facts()
            fact = next(f for f in reversed(facts) if f.name == name)  # in the replica once on disk
            print(f"ACCEPTED {n} {fact.id.device}:{fact.id.counter} {fact.name}", flush=True)

    await asyncio.gather(*(session(i) for i in range(sessions)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1))
