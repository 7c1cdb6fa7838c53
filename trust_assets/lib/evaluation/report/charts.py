"""Inline SVG charts and the lineage graph of the report: no scripts, fonts or network, so the HTML is one file."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#912b88", "#f47738", "#5694ca", "#85994b", "#6f72af")


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[str, int]:
    """Legend swatches, wrapped onto as many rows as the width needs; returns the SVG and the row count."""
    parts, offset, row = [], 0.0, 0
    for i, name in enumerate(names):
        item_w = 30 + 6.4 * len(name)
        if offset and offset + item_w > width:
            offset, row = 0.0, row + 1
        colour = PALETTE[i % len(PALETTE)]
        top = y + row * 17
        parts.append(f'<rect x="{x + offset:.1f}" y="{top - 9}" width="12" height="12" rx="2" fill="{colour}"/>'
                     f'<text x="{x + offset + 17:.1f}" y="{top + 1}" class="legend">{esc(name)}</text>')
        offset += item_w
    return "".join(parts), row + 1


def chart(title: str, series: Mapping[str, Sequence[tuple[int, float]]], *, kind: str = "line",
          y_format: Any = str, x_label: str = "version", width: int = 620, height: int = 280) -> str:
    """A small line or grouped-bar chart as inline SVG; x values are integers (versions)."""
    left, right, bottom = 70, 16, 42
    legend, legend_rows = _legend(list(series), left, 36, width - left - right)
    top = 38 + 17 * legend_rows
    inner_w, inner_h = width - left - right, height - top - bottom
    points = [(x, y) for values in series.values() for x, y in values if y is not None]
    head = (f'<svg class="chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{esc(title)}</title><text x="{left}" y="18" class="chart-title">{esc(title)}</text>')
    if not points:
        return head + (f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">'
                       "no data yet</text></svg>")
    xs = sorted({x for x, _ in points})
    y_max = max(y for _, y in points)
    y_min = min(0.0, min(y for _, y in points))
    ticks = _nice_ticks(y_min, y_max if y_max > y_min else y_min + 1)
    y_low, y_high = ticks[0], ticks[-1]

    def sy(y: float) -> float:
        return top + inner_h - (y - y_low) / (y_high - y_low) * inner_h

    slot = inner_w / len(xs)

    def sx(x: int) -> float:
        return left + slot * (xs.index(x) + 0.5)

    body = [head, legend]
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" class="grid"/>'
                    f'<text x="{left - 8}" y="{sy(t) + 4:.1f}" text-anchor="end" class="axis">'
                    f"{esc(y_format(t))}</text>")
    label_every = max(1, math.ceil(len(xs) / 14))
    for i, x in enumerate(xs):
        if i % label_every == 0:
            body.append(f'<text x="{sx(x):.1f}" y="{top + inner_h + 18}" text-anchor="middle" class="axis">'
                        f"{x}</text>")
    body.append(f'<text x="{left + inner_w / 2}" y="{height - 6}" text-anchor="middle" class="axis">'
                f"{esc(x_label)}</text>")
    draw = _bars if kind == "bar" else _lines
    body += draw(series, sx, sy, slot, y_format)
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + inner_h}" class="axis-line"/></svg>')
    return "".join(body)


def _bars(series: Mapping[str, Sequence[tuple[int, float]]], sx: Callable[[int], float],
          sy: Callable[[float], float], slot: float, y_format: Any) -> list[str]:
    """Grouped bars, one colour per series, side by side within each x slot."""
    names, out = list(series), []
    bar_w = max(2.0, slot * 0.8 / max(1, len(names)))
    for s, name in enumerate(names):
        colour = PALETTE[s % len(PALETTE)]
        for x, y in series[name]:
            if y is None:
                continue
            x0 = sx(x) - slot * 0.4 + s * bar_w
            y0, y1 = sy(max(y, 0)), sy(min(y, 0))
            out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bar_w - 1:.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                       f'fill="{colour}"><title>{esc(name)} v{x}: {esc(y_format(y))}</title></rect>')
    return out


def _lines(series: Mapping[str, Sequence[tuple[int, float]]], sx: Callable[[int], float],
           sy: Callable[[float], float], slot: float, y_format: Any) -> list[str]:
    """One polyline with point markers per series."""
    out = []
    for s, name in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        pts = [(sx(x), sy(y), x, y) for x, y in sorted(series[name]) if y is not None]
        if len(pts) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py, x, y in pts:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}">'
                       f"<title>{esc(name)} v{x}: {esc(y_format(y))}</title></circle>")
    return out


LAYERS = ("department sources", "dbt staging", "dbt intermediate", "dbt marts", "release candidates",
          "published products")
LAYER_COLOURS = ("#e8f1f8", "#f3f2f1", "#f3f2f1", "#fff7e6", "#fdf0f3", "#e6f4ea")
LAYER_STROKES = ("#1d70b8", "#6f777b", "#6f777b", "#f47738", "#d4351c", "#00703c")


_FQN_LAYERS = {"staging": 1, "intermediate": 2, "marts": 3, "audit": 3}


def lineage_graph(graph: Any) -> tuple[dict[str, tuple[int, str]], set[tuple[str, str]]]:
    """Nodes ``id -> (layer, label)`` and edges from dbt's manifest (``lineage.dbt_graph.DbtLineage``): every
    ``depends_on`` edge as dbt records it, sources and reference seeds on the left, then each mart named after a
    product becomes the candidate that is audited and published. ``graph`` None (no manifest) draws the stages only.
    """
    nodes: dict[str, tuple[int, str]] = {}
    edges: set[tuple[str, str]] = set()
    for p in PRODUCTS:
        nodes[f"cand:{p.name}"] = (4, p.name)
        nodes[f"pub:{p.name}"] = (5, p.name)
        edges.add((f"cand:{p.name}", f"pub:{p.name}"))
    if graph is None:
        for table in SOURCE_TABLES:
            nodes[f"src:{table.key}"] = (0, table.key)
        return nodes, edges
    for node_id, node in graph.nodes.items():
        kind = node.get("resource_type")
        if kind == "source" and graph.key(node_id):
            nodes[node_id] = (0, str(graph.key(node_id)))
        elif kind == "seed":
            nodes[node_id] = (0, f"reference: {node.get('name')}")
        elif kind == "model":
            layer = next((_FQN_LAYERS[part] for part in node.get("fqn", []) if part in _FQN_LAYERS), 3)
            nodes[node_id] = (layer, str(node.get("name")))
    edges |= {(a, b) for a, b in graph.edges() if a in nodes and b in nodes}
    for p in PRODUCTS:
        try:
            edges.add((graph.model_id(p.name), f"cand:{p.name}"))
        except KeyError:
            continue
    return nodes, edges


def lineage_svg(nodes: Mapping[str, tuple[int, str]], edges: Iterable[tuple[str, str]]) -> str:
    """A layered left-to-right drawing: one column per stage, boxes stacked, edges as smooth curves."""
    box_w, box_h, gap_x, gap_y, top = 186, 30, 34, 14, 40
    columns: dict[int, list[str]] = defaultdict(list)
    for node_id, (layer, _label) in sorted(nodes.items(), key=lambda kv: (kv[1][0], kv[1][1])):
        columns[layer].append(node_id)
    used_layers = [layer for layer in range(len(LAYERS)) if columns.get(layer)]
    tallest = max(len(columns[layer]) for layer in used_layers)
    height = top + tallest * (box_h + gap_y) + 10
    width = len(used_layers) * (box_w + gap_x) - gap_x + 20
    pos: dict[str, tuple[float, float]] = {}
    for c, layer in enumerate(used_layers):
        ids = columns[layer]
        offset = (tallest - len(ids)) * (box_h + gap_y) / 2
        for r, node_id in enumerate(ids):
            pos[node_id] = (10 + c * (box_w + gap_x), top + offset + r * (box_h + gap_y))
    out = [f'<svg class="lineage" role="img" aria-label="Lineage graph" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Lineage graph</title>']
    for c, layer in enumerate(used_layers):
        out.append(f'<text x="{10 + c * (box_w + gap_x) + box_w / 2}" y="20" text-anchor="middle" '
                   f'class="layer">{esc(LAYERS[layer])}</text>')
    for a, b in sorted(edges):
        if a not in pos or b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1, y1, x2, y2 = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
        mid = (x1 + x2) / 2
        out.append(f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                   f'class="edge"/>')
    for node_id, (x, y) in pos.items():
        layer, label = nodes[node_id]
        shown = label if len(label) <= 28 else label[:26] + "…"
        out.append(f'<g><title>{esc(LAYERS[layer])}: {esc(label)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w}" height="{box_h}" rx="5" '
                   f'fill="{LAYER_COLOURS[layer]}" stroke="{LAYER_STROKES[layer]}" stroke-width="1.3"/>'
                   f'<text x="{x + 10:.1f}" y="{y + box_h / 2 + 4:.1f}" class="node">{esc(shown)}</text></g>')
    out.append("</svg>")
    return "".join(out)
