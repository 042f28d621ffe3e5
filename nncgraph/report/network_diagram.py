"""The network as NNC's editor draws it: one box per layer, as inline SVG.

Layout (deterministic, no external tool): every layer gets its own row, in
topological order, so the graph reads top to bottom like the editor. An edge
between consecutive rows is a short vertical arrow; an edge that skips rows
(a residual connection, a loss reading an earlier layer) leaves the box on the
right, runs down its own lane beside the boxes and comes back in, so long
edges never cross boxes. Lanes are reused by edges whose row spans do not
overlap (interval colouring), which keeps ResNet-50 to a few lanes.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Dict, List, Sequence, Tuple

BOX_W, BOX_H = 300, 46
ROW = 70                  # vertical pitch of rows; ROW - BOX_H is the room for an arrow
LEFT, TOP = 20, 16
LANE_GAP = 16             # horizontal distance between side lanes

# fill colours by the NNC palette category, so layer kinds stand out as in the editor
CATEGORY_COLOURS = {
    "IO": "#e8f1fb", "Loss": "#fde8e8", "Basic": "#eaf6ea", "Pooling": "#fff4e0", "Activation": "#f3ecfa",
    "Normalization": "#e6f6f6", "Arithmetic": "#f6f6e2", "Math": "#f6f6e2", "Array": "#f0f0f0",
}
DEFAULT_COLOUR = "#f4f4f4"


@dataclass(frozen=True)
class DiagramNode:
    name: str
    type: str
    inputs: Tuple[str, ...]
    shape: Tuple[int, ...]
    params: int
    category: str = "Others"


def nodes_from_inferred(inferred) -> List[DiagramNode]:
    """DiagramNodes from an InferredGraph (graph/shape_pass.py), in its topological order."""
    out = []
    for info in inferred.ordered():
        node = info.node
        # the layers linked into parameter pins are drawn as inputs too: they are what the layer reads
        out.append(DiagramNode(node.name, node.type, tuple(node.sources), tuple(info.out_shape),
                               info.trainable_params, getattr(node.layer, "category", "Others")))
    return out


def assign_lanes(spans: Sequence[Tuple[int, int]]) -> List[int]:
    """Lane index per (start_row, end_row) span; spans sharing a lane never overlap.

    Shorter spans take inner lanes (closer to the boxes), so nested skips nest visually.
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][1] - spans[i][0], spans[i][0], i))
    lanes: List[List[Tuple[int, int]]] = []
    result = [0] * len(spans)
    for i in order:
        a, b = spans[i]
        for lane, used in enumerate(lanes):
            # rows strictly disjoint: two curves never meet at one box's side
            if all(b < u or a > v for u, v in used):
                used.append((a, b))
                result[i] = lane
                break
        else:
            lanes.append([(a, b)])
            result[i] = len(lanes) - 1
    return result


def _shape_text(shape: Tuple[int, ...]) -> str:
    return ",".join(str(d) for d in shape) if shape else "scalar"


def _params_text(n: int) -> str:
    return f"{n:,} params" if n else "no params"


def render_svg(nodes: Sequence[DiagramNode]) -> str:
    """The inline <svg> element. Every text is escaped: layer names are user-supplied."""
    row_of: Dict[str, int] = {n.name: i for i, n in enumerate(nodes)}
    edges = [(src, dst.name) for dst in nodes for src in dst.inputs if src in row_of]
    skips = [(row_of[s], row_of[d]) for s, d in edges if row_of[d] - row_of[s] > 1]
    lanes = assign_lanes(skips)
    lane_of = dict(zip(skips, lanes))
    n_lanes = max(lanes) + 1 if lanes else 0
    width = LEFT + BOX_W + 30 + n_lanes * LANE_GAP + 20
    height = TOP + max(1, len(nodes)) * ROW
    parts = [f'<svg class="network" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="network diagram">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    # edges first, so boxes are drawn over their ends
    seen_ports: Dict[int, int] = {}
    for src, dst in edges:
        a, b = row_of[src], row_of[dst]
        attrs = f'class="edge" data-from="{escape(src)}" data-to="{escape(dst)}"'
        if b - a == 1:
            x = LEFT + BOX_W / 2
            d = f"M{x},{_bottom(a)} L{x},{_top(b)}"
        else:
            lane_x = LEFT + BOX_W + 30 + lane_of[(a, b)] * LANE_GAP
            # several skip edges may enter one box: stagger their ports along its right side
            k = seen_ports.get(b, 0)
            seen_ports[b] = k + 1
            y0 = TOP + a * ROW + BOX_H * 0.5
            y1 = TOP + b * ROW + BOX_H * (0.5 - 0.18 * k if k < 3 else 0.5)
            x_out = LEFT + BOX_W
            d = (f"M{x_out},{y0:.1f} C{lane_x},{y0:.1f} {lane_x},{y0:.1f} {lane_x},{y0 + ROW / 2:.1f} "
                 f"L{lane_x},{y1 - ROW / 2:.1f} C{lane_x},{y1:.1f} {lane_x},{y1:.1f} {x_out},{y1:.1f}")
            attrs += ' data-skip="1"'
        parts.append(f'<path {attrs} d="{d}" fill="none" stroke="#555" stroke-width="1.4" '
                     f'marker-end="url(#arrow)"><title>{escape(src)} \u2192 {escape(dst)}</title></path>')
    for i, n in enumerate(nodes):
        y = TOP + i * ROW
        fill = CATEGORY_COLOURS.get(n.category, DEFAULT_COLOUR)
        parts.append(
            f'<g class="layer" data-name="{escape(n.name)}" data-type="{escape(n.type)}">'
            f'<rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{fill}" stroke="#888"/>'
            f'<text class="type" x="{LEFT + 8}" y="{y + 18}" font-weight="bold">{escape(_clip(n.type, 20))}</text>'
            f'<text class="name" x="{LEFT + BOX_W - 8}" y="{y + 18}" text-anchor="end" fill="#335">'
            f'{escape(_clip(n.name, 22))}<title>{escape(n.name)}</title></text>'
            f'<text class="shape" x="{LEFT + 8}" y="{y + 37}" fill="#444">{escape(_shape_text(n.shape))}</text>'
            f'<text class="params" x="{LEFT + BOX_W - 8}" y="{y + 37}" text-anchor="end" fill="#444">'
            f'{escape(_params_text(n.params))}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def _top(row: int) -> float:
    return TOP + row * ROW


def _bottom(row: int) -> float:
    return TOP + row * ROW + BOX_H


def _clip(text: str, n: int) -> str:
    """Long names are cut in the box (the full name is in its tooltip)."""
    return text if len(text) <= n else text[:n - 1] + "\u2026"
