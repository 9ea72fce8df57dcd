"""A role's state machine drawn as a layered graph (a small Sugiyama-style layout of our own).

Every transition label is a node of the layout in its own right, placed in the layer between its
source and target states; nodes of one layer are laid out left to right without overlap, so no two
labels (or a label and a state) can overlap. Cycles are broken at the machine's back edges, which are
drawn dashed and curved back up; self-loops put their label right of their state. Machines larger
than `MAX_STATES` are not drawn (the report links the DOT export instead).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from aura_choreo.docs.svg import Canvas, fit, text_width
from aura_choreo.verify import Machine

MAX_STATES = 400
_GAP = 18.0
_STATE_ROW = 46.0
_LABEL_ROW = 30.0
_LABEL_MAX = 260.0


@dataclass
class _Node:
    key: str
    layer: int
    width: float
    text: str
    title: str = ""
    x: float = 0.0


class StateMachineLayout:
    """Positions for the states and transition labels of `machine`; `svg()` draws them."""

    def __init__(self, machine: Machine):
        self.m = machine
        self.nodes: dict[str, _Node] = {}
        self.succ: dict[str, list[str]] = defaultdict(list)
        self.pred: dict[str, list[str]] = defaultdict(list)
        self.self_loops: dict[int, list[int]] = defaultdict(list)
        for s in range(machine.state_count):
            text = str(s)
            self.nodes[f"s{s}"] = _Node(f"s{s}", 0, max(28.0, text_width(text) + 10), text)
        back = machine.back_edges
        for i, t in enumerate(machine.transitions):
            full = t.action.text()
            label = fit(full, _LABEL_MAX)
            self.nodes[f"t{i}"] = _Node(f"t{i}", 0, text_width(label) + 12, label, full)
            if t.source == t.target:
                self.self_loops[t.source].append(i)
                continue
            a, b = (f"s{t.target}", f"s{t.source}") if i in back else (f"s{t.source}", f"s{t.target}")
            self._edge(a, f"t{i}")
            self._edge(f"t{i}", b)
        self._layers()
        self._order()

    def _edge(self, a: str, b: str) -> None:
        self.succ[a].append(b)
        self.pred[b].append(a)

    def _layers(self) -> None:
        """Longest-path layering of the acyclic graph (back edges reversed), initial state on top."""
        indeg = {k: len(self.pred[k]) for k in self.nodes}
        ready = [f"s{self.m.initial}"] + [k for k, d in indeg.items() if d == 0 and k != f"s{self.m.initial}"]
        ready = [k for k in ready if indeg[k] == 0]
        order: list[str] = []
        while ready:
            k = ready.pop(0)
            order.append(k)
            for n in self.succ[k]:
                self.nodes[n].layer = max(self.nodes[n].layer, self.nodes[k].layer + 1)
                indeg[n] -= 1
                if indeg[n] == 0:
                    ready.append(n)
        for state, loops in self.self_loops.items():
            for i in loops:
                self.nodes[f"t{i}"].layer = self.nodes[f"s{state}"].layer

    def _order(self) -> None:
        """Place each layer left to right by the mean position of its predecessors, then pack."""
        layers: dict[int, list[_Node]] = defaultdict(list)
        for node in self.nodes.values():
            if not (node.key.startswith("t") and self._is_self_loop(node.key)):
                layers[node.layer].append(node)
        self.layer_ids = sorted(layers)
        for layer in self.layer_ids:
            row = layers[layer]

            def want(n: _Node, layer: int = layer) -> float:
                xs = [
                    self.nodes[p].x + self.nodes[p].width / 2
                    for p in self.pred[n.key]
                    if self.nodes[p].layer < layer
                ]
                return sum(xs) / len(xs) if xs else 0.0

            row.sort(key=want)
            right = 40.0  # room for the initial state's entry arrow
            for node in row:
                node.x = max(right, want(node) - node.width / 2)
                right = node.x + node.width + _GAP
                if node.key.startswith("s"):
                    for i in self.self_loops.get(int(node.key[1:]), []):
                        loop = self.nodes[f"t{i}"]
                        loop.x = right + 14
                        right = loop.x + loop.width + _GAP
        self.y: dict[int, float] = {}
        y = 16.0
        for layer in range(max(self.layer_ids, default=0) + 1):
            has_state = any(n.layer == layer and n.key.startswith("s") for n in self.nodes.values())
            row_h = _STATE_ROW if has_state else _LABEL_ROW
            self.y[layer] = y + row_h / 2
            y += row_h

    def _is_self_loop(self, key: str) -> bool:
        t = self.m.transitions[int(key[1:])]
        return t.source == t.target

    def _center(self, key: str) -> tuple[float, float]:
        n = self.nodes[key]
        return n.x + n.width / 2, self.y[n.layer]

    def svg(self, title: str) -> str:
        c = Canvas("fsm")
        back = self.m.back_edges
        for i, t in enumerate(self.m.transitions):  # edges first: nodes are drawn over them
            lx, ly = self._center(f"t{i}")
            sx, sy = self._center(f"s{t.source}")
            tx, ty = self._center(f"s{t.target}")
            if t.source == t.target:
                left = self.nodes[f"t{i}"].x
                c.path(f"M{sx + 12:.1f},{sy - 8:.1f} Q{left:.1f},{sy - 22:.1f} {left:.1f},{ly:.1f}", "edge")
                c.path(
                    f"M{left:.1f},{ly:.1f} Q{left:.1f},{sy + 22:.1f} {sx + 12:.1f},{sy + 8:.1f}",
                    "edge",
                    "arrow",
                )
            elif i in back:
                c.path(f"M{sx:.1f},{sy:.1f} Q{lx + 30:.1f},{(sy + ly) / 2:.1f} {lx:.1f},{ly:.1f}", "back")
                c.path(
                    f"M{lx:.1f},{ly:.1f} Q{lx + 30:.1f},{(ly + ty) / 2:.1f} {tx + 10:.1f},{ty + 10:.1f}",
                    "back",
                    "arrow",
                )
            else:
                c.line(sx, sy + 14, lx, ly - 10, "edge")
                c.line(lx, ly + 10, tx, ty - 15, "edge", "arrow")
        init_x, init_y = self._center(f"s{self.m.initial}")
        c.line(init_x - 34, init_y, init_x - 16, init_y, "edge", "arrow")
        for key, node in self.nodes.items():
            x, y = self._center(key)
            if key.startswith("s"):
                state = int(key[1:])
                r = node.width / 2
                if state in self.m.finals:
                    c.circle(x, y, r + 3, "final")
                c.circle(x, y, r, "state")
                c.text(x, y + 4, node.text, "t", "middle")
            else:
                c.rect(node.x, y - 10, node.width, 20, "label", rx=3)
                c.text(x, y + 4, node.text, "t", "middle", title=node.title)
        return c.svg(title)


def state_machine_svg(machine: Machine, title: str = "") -> str | None:
    """The machine as an inline `<svg>`, or None when it is too large to draw legibly."""
    if machine.state_count > MAX_STATES:
        return None
    return StateMachineLayout(machine).svg(title or f"state machine of {machine.role}")
