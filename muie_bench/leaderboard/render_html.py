"""The leaderboard as one self-contained HTML file: inline CSS, charts inlined as base64
PNG data URIs, no scripts and no external requests (cells: value, CI on a second line)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from muie_bench.leaderboard.model import OVERALL, Cell, Group, Leaderboard, Table, Text, intro
from muie_bench.paper_sets import COLUMN_TITLES

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin-top:1.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em}td.num{text-align:right;white-space:nowrap}
th{background:#f3f3f3}tr.flag td{background:#fff7e0}
.reported{background:#eef4ff}.ci{color:#777;font-size:.85em}
img{max-width:100%;border:1px solid #eee;margin:.3em 0}.notes{font-size:.85em;color:#444}
"""


def html_text(text: Text) -> str:
    tags = {"plain": ("", ""), "code": ("<code>", "</code>"), "bold": ("<b>", "</b>")}
    return "".join(f"{tags[s.style][0]}{escape(s.text)}{tags[s.style][1]}" for s in text)


def _cell(c: Cell, with_ci: bool) -> str:
    if c.value is None:
        return '<td class="num">–</td>'
    ci = ""
    if with_ci and c.ci is not None:
        ci = f'<br><span class="ci">{c.ci[0]:.1f}–{c.ci[1]:.1f}</span>'
    return f'<td class="num">{escape(c.main())}{ci}</td>'


def _table(g: Group, t: Table) -> str:
    head1 = "<th rowspan=2>system</th>" + "".join(
        f"<th colspan={len(s.columns)}>{escape(s.title)}</th>" for s in t.sets)
    head2 = "".join(f"<th>{escape(COLUMN_TITLES.get(m, m))}</th>" for _s, m in t.columns)
    body = []
    for r in t.rows:
        cls = ' class="flag"' if r.flags else ""
        cells = "".join(_cell(t.cell(r, s, m), g.with_ci) for s, m in t.columns)
        body.append(f"<tr{cls}><td>{escape(r.label)}</td>{cells}</tr>")
    return (f"<h3>{escape(t.title)}</h3><table><thead><tr>{head1}</tr><tr>{head2}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _overall(g: Group) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in g.overall_header())
    body = []
    for r, cells in zip(g.rows, g.overall_rows(g.with_ci), strict=True):
        cls = ' class="flag"' if r.flags else ""
        tds = [f"<td>{escape(cells[0])}</td>"]
        tds += [f'<td class="num">{escape(c)}</td>' for c in cells[1:]]
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    note = g.overall_note()
    p = f"<p>{escape(note)}</p>" if note else ""
    return (f"<h3>{OVERALL}</h3>{p}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _img(out_dir: Path, name: str, alt: str) -> str:
    data = base64.b64encode((out_dir / name).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def to_html(lb: Leaderboard, out_dir: Path, images: dict[str, str]) -> str:
    """``images`` maps ``"<group key>/<table title>"`` to a PNG file in ``out_dir``, inlined."""
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>muie-bench leaderboard</title><style>{CSS}</style></head><body>",
        "<h1>muie-bench leaderboard</h1>",
        f"<p>{html_text(intro(lb.runs_dir, 'below'))}</p>",
    ]
    for g in lb.groups:
        cls = ' class="reported"' if g.reported else ""
        parts.append(f"<section{cls}><h2>{escape(g.title)}</h2>")
        for t in g.tables():
            parts.append(_table(g, t))
            if f"{g.key}/{t.title}" in images:
                parts.append(_img(out_dir, images[f"{g.key}/{t.title}"], f"{t.title} — {g.title}"))
        parts.append(_overall(g))
        if f"{g.key}/{OVERALL}" in images:
            parts.append(_img(out_dir, images[f"{g.key}/{OVERALL}"], f"{OVERALL} — {g.title}"))
        notes = g.notes()
        if notes:
            parts.append(f'<ul class="notes">{"".join(f"<li>{html_text(n)}</li>" for n in notes)}</ul>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
