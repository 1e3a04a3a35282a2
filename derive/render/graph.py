"""The computation graph of a derivation, drawn: Graphviz DOT, TikZ, and an indented text tree."""
from __future__ import annotations



def to_dot(graph) -> str:
    lines = ["digraph G {", "  rankdir=LR;"]
    for n in graph.nodes.values():
        shape = "box" if n.expr is None else "ellipse"
        lines.append(f'  "{n.name}" [shape={shape}];')
    for n in graph.nodes.values():
        for p in n.parents:
            lines.append(f'  "{p}" -> "{n.name}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_tikz(graph) -> str:
    """A TikZ picture: inputs in the first column, each node one column right of its last parent."""
    depth = {}
    for n in graph.nodes.values():
        depth[n.name] = 0 if not n.parents else 1 + max(depth[p] for p in n.parents)
    rows: dict[int, int] = {}
    lines = [r"\begin{tikzpicture}[>=stealth, node distance=1.6cm, every node/.style={draw, minimum size=0.9cm}]"]
    for n in graph.nodes.values():
        d = depth[n.name]
        r = rows.get(d, 0)
        rows[d] = r + 1
        shape = "rectangle" if n.expr is None else "circle"
        lines.append(rf"  \node[{shape}] ({n.name}) at ({2.4 * d:.1f}, {-1.4 * r:.1f}) {{${n.latex}$}};")
    for n in graph.nodes.values():
        for p in n.parents:
            skip = depth[n.name] - depth[p] > 1      # bend edges that jump over a column
            path = "to[bend left=35]" if skip else "--"
            lines.append(rf"  \draw[->] ({p}) {path} ({n.name});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def text_tree(graph, output: str) -> str:
    """The graph as an indented tree, from the output back to the inputs, each node in mathematics
    (z = ε⋅σ + μ, μ (input)), not Python syntax."""
    from .printing import linear

    lines = []

    def walk(name, indent):
        n = graph.nodes[name]
        node = linear(n.symbol)
        lines.append("  " * indent + (f"{node} = {linear(n.expr)}" if n.expr is not None else f"{node} (input)"))
        for p in n.parents:
            walk(p, indent + 1)

    walk(output, 0)
    return "\n".join(lines)
