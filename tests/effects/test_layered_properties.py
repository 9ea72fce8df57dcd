"""Properties of layered privacy budgets over random charge sequences: all layers or none are charged,
a denial names the first layer that cannot pay, and every layer stays within its limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.errors import LeakageExceeded
from aura_choreo.guards.leakage import LayeredLeakage, LeakageLayer, LeakageLedger, LeakageVector

vectors = st.builds(LeakageVector, st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))
factors = st.builds(LeakageVector, st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
limits = st.builds(LeakageVector, st.integers(0, 20), st.integers(0, 20), st.integers(0, 20))


@given(
    layers=st.lists(st.tuples(limits, factors, st.booleans()), min_size=1, max_size=4),
    charges=st.lists(st.tuples(st.sampled_from(["a", "b"]), vectors), max_size=25),
)
def test_layered_charges_are_all_or_nothing_and_name_the_refusing_layer(
    layers: list[tuple[LeakageVector, LeakageVector, bool]],
    charges: list[tuple[str, LeakageVector]],
) -> None:
    ledgers = [
        LeakageLedger(limits=limit, clock=lambda: 0.0, name=f"L{i}") for i, (limit, _, _) in enumerate(layers)
    ]
    layered = LayeredLeakage(
        [
            LeakageLayer(
                ledger,
                (lambda _c: "*") if shared else (lambda c: c),
                lambda base, _c, f=factor: base.scaled(f),
            )
            for ledger, (_, factor, shared) in zip(ledgers, layers, strict=True)
        ]
    )
    scopes = [(lambda _c: "*") if shared else (lambda c: c) for _, _, shared in layers]

    def spent(context: str) -> list[LeakageVector]:
        return [ledger.spent(scope(context)) for ledger, scope in zip(ledgers, scopes, strict=True)]

    for context, base in charges:
        before = spent(context)
        costs = [base.scaled(factor) for _, factor, _ in layers]
        fits = [(b + c).fits_within(limit) for b, c, (limit, _, _) in zip(before, costs, layers, strict=True)]
        try:
            receipt = layered.charge(context, base)
        except LeakageExceeded as denied:
            assert not all(fits)
            assert denied.layer_index == fits.index(False) + 1
            assert denied.layer == f"L{fits.index(False)}"
            assert spent(context) == before  # nothing charged anywhere
            continue
        assert all(fits)
        assert [amount for _, _, _, amount in receipt.layers()] == costs
    for ledger, (limit, _, _) in zip(ledgers, layers, strict=True):
        for context in ("a", "b", "*"):
            assert ledger.spent(context).fits_within(limit)
