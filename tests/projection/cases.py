"""Small protocols, one per projection rule of SPEC §3.3 (shared by the golden and behaviour tests)."""

from __future__ import annotations

CASES: dict[str, str] = {
    "send": """
choreography Send {
    roles: A, B, C
    A -> B: Hello(name: String)
}
""",
    "statement_after_choice": """
choreography AfterChoice {
    roles: Client, Server
    choice Client {
        buy: { Client -> Server: Buy }
        quit: { Client -> Server: Quit }
    }
    Server -> Client: Receipt
}
""",
    "two_choices_in_a_row": """
choreography TwoChoices {
    roles: A, B
    choice A {
        x: { A -> B: X }
        y: { A -> B: Y }
    }
    choice B {
        p: { B -> A: P }
        q: { B -> A: Q }
    }
}
""",
    "nested_choices": """
choreography Nested {
    roles: A, B, C
    choice A {
        outer1: {
            A -> B: First
            choice B {
                inner1: { B -> C: Left }
                inner2: { B -> C: Right }
            }
        }
        outer2: {
            A -> B: Second
            B -> C: Right
        }
    }
}
""",
    "merge_distinct_labels": """
choreography MergeLabels {
    roles: A, B, C
    choice A {
        l1: { A -> B: X
              B -> C: Ping }
        l2: { A -> B: Y
              B -> C: Pong }
    }
}
""",
    "merge_identical_behaviour": """
choreography MergeSame {
    roles: A, B, C
    choice A {
        l1: { A -> B: X
              B -> C: Same }
        l2: { A -> B: Y
              B -> C: Same }
    }
}
""",
    "third_role_notified": """
choreography Notify {
    roles: A, B, C
    choice A {
        yes: { A -> B: Go
               C -> B: Extra }
        no: { A -> B: Stop }
    }
}
""",
    "third_role_strict": """
#[strict_choice]
choreography NotifyStrict {
    roles: A, B, C
    choice A {
        yes: { A -> B: Go
               C -> B: Extra }
        no: { A -> B: Stop }
    }
}
""",
    "family_fixed": """
choreography FamilyFixed {
    roles: Master, Worker[3]
    Master -> Worker[*]: Task
    Worker[i] -> Master: Result
    Master -> Worker[1]: Bonus
}
""",
    "family_parameter": """
choreography FamilyParam {
    roles: Leader, Followers[N]
    Leader -> Followers[*]: Proposal
    Followers[i] -> Leader: Vote
}
""",
    "family_star_range": """
choreography FamilyStar {
    roles: Coordinator, Signers[*]
    Coordinator -> Signers[0..2]: Request
    Signers[0..2] -> Coordinator: Response
}
""",
    "family_quorum": """
choreography Quorum {
    roles: Leader, Voters[3]
    Leader -> Voters[*]: Ballot
    [@min_responses = 2]
    Voters[*] -> Leader: Vote(yes: bool)
}
""",
    "rec_continue": """
choreography Recursion {
    roles: A, B, C
    rec Again {
        choice A {
            more: { A -> B: More
                    continue Again }
            done: { A -> B: Done }
        }
    }
    A -> C: Finished
}
""",
    "counted_loop": """
choreography Counted {
    roles: A, B, C
    loop (count: 3) {
        A -> B: Ping
        B -> A: Pong
    }
    for round in 0..2 {
        A -> C: Tick
    }
}
""",
    "decided_loop": """
choreography Decided {
    roles: Client, Server
    loop (decides: Client) {
        Client -> Server: Request
        Server -> Client: Response
    }
    Client -> Server: Bye
}
""",
    "custom_loop": """
choreography Custom {
    roles: Producer, Consumer
    loop (custom: "has_more") {
        Producer -> Consumer: Item
    }
    Producer -> Consumer: Done
}
""",
    "open_loop": """
choreography Open {
    roles: Producer, Consumer
    loop {
        Producer -> Consumer: Chunk(chunk)
        if chunk.is_last {
            break
        }
        Consumer -> Producer: Ack
    }
    Producer -> Consumer: End
}
""",
    "parallel": """
choreography Parallel {
    roles: A, B, C
    parallel {
        A -> B: Left
        | A -> C: Right
        C -> A: Back
    }
    B -> C: After
}
""",
    "sub_protocol_call": """
choreography Calls {
    roles: Buyer, Seller, Bank
    protocol Pay(Payer, Payee) {
        Payer -> Payee: Payment(amount: u64)
        Payee -> Payer: Receipt
    }
    call Pay(Buyer, Seller)
    compose Pay(Seller, Bank)
}
""",
    "shared_match": """
choreography TwoPhase {
    roles: Coordinator, Participant
    Coordinator -> Participant: Prepare(tx: u64)
    Participant -> Coordinator: Prepared(vote: Vote)
    match vote {
        Vote::Commit => { Coordinator -> Participant: Commit }
        Vote::Abort => { Coordinator -> Participant: Abort }
    }
}
""",
    "if_decided_by_first_sender": """
choreography Retry {
    roles: Primary, Backup
    if retry_requested {
        Primary -> Backup: Again
        Backup -> Primary: Done
    }
}
""",
    "sugar": """
choreography Sugar {
    roles: A, B, C
    sub_protocol Hello {
        A -> B -> C
        A <-> B
        A <-> C: Sync
    }
    A ->* : Announce
    barrier(B)
    C: Log(1)
    let total = 2
}
""",
    "timeout_and_saga": """
choreography Resilient {
    roles: Client, Server, Store
    Client -> Server: Request(data)
    timeout(5s) {
        Server -> Client: Response(result)
    } or {
        Client: GiveUp()
    }
    try {
        Server -> Store: Reserve
        Store -> Server: Reserved
    } compensate {
        Server -> Store: Release
    }
}
""",
}
