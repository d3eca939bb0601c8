"""The leaderboard as one self-contained HTML file: inline CSS, charts inlined as base64
PNG data URIs, no scripts and no external requests."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from muie_bench.leaderboard import (
    REPORTED_LABEL,
    REPORTED_OVERALL_NOTE,
    Cell,
    Group,
    Leaderboard,
    SetInfo,
    group_key,
    overall_header,
    overall_rows,
)
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


def _cell(c: Cell | None, with_ci: bool) -> str:
    if c is None or c.value is None:
        return '<td class="num">–</td>'
    main = escape(c.text if c.text is not None else f"{c.value:.1f}")
    ci = ""
    if with_ci and c.ci is not None:
        ci = f'<br><span class="ci">{c.ci[0]:.1f}–{c.ci[1]:.1f}</span>'
    return f'<td class="num">{main}{ci}</td>'


def _table(g: Group, title: str, sets: list[SetInfo]) -> str:
    head1 = "<th rowspan=2>system</th>" + "".join(
        f"<th colspan={len(s.columns)}>{escape(s.title)}</th>" for s in sets)
    head2 = "".join(f"<th>{escape(COLUMN_TITLES.get(m, m))}</th>" for s in sets for m in s.columns)
    body = []
    for r in g.rows:
        if not any((s.id, m) in r.cells for s in sets for m in s.columns):
            continue
        cls = ' class="flag"' if r.flags else ""
        cells = "".join(_cell(r.cells.get((s.id, m)), not g.reported) for s in sets
                        for m in s.columns)
        body.append(f"<tr{cls}><td>{escape(r.label)}</td>{cells}</tr>")
    return (f"<h3>{escape(title)}</h3><table><thead><tr>{head1}</tr><tr>{head2}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _overall(g: Group) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in overall_header(g))
    body = []
    for r, cells in zip(g.rows, overall_rows(g, with_ci=not g.reported), strict=True):
        cls = ' class="flag"' if r.flags else ""
        tds = [f"<td>{escape(cells[0])}</td>"]
        tds += [f'<td class="num">{escape(c)}</td>' for c in cells[1:]]
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    note = f"<p>{escape(REPORTED_OVERALL_NOTE)}</p>" if g.reported else ""
    return (f"<h3>Overall</h3>{note}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _img(out_dir: Path, name: str, alt: str) -> str:
    data = base64.b64encode((out_dir / name).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def to_html(lb: Leaderboard, out_dir: Path, images: dict[str, str]) -> str:
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>muie-bench leaderboard</title><style>{CSS}</style></head><body>",
        "<h1>muie-bench leaderboard</h1>",
        f"<p>Measured rows come from the runs under <code>{escape(lb.runs_dir)}</code>; cells "
        "are percent with the 95 % bootstrap confidence interval below. Highlighted rows (⚠) are "
        "incomplete, have failed instances or cover a subset. Rows labelled <b>"
        f"{escape(REPORTED_LABEL)}</b> are the paper's published numbers, verbatim, measured on "
        "the paper's test set, shown in their own tables.</p>",
    ]
    for g in lb.groups:
        cls = ' class="reported"' if g.reported else ""
        parts.append(f"<section{cls}><h2>{escape(g.title)}</h2>")
        gk = group_key(g)
        for title, sets in g.tables():
            parts.append(_table(g, title, sets))
            if f"{gk}/{title}" in images:
                parts.append(_img(out_dir, images[f"{gk}/{title}"], f"{title} — {g.title}"))
        parts.append(_overall(g))
        if f"{gk}/Overall" in images:
            parts.append(_img(out_dir, images[f"{gk}/Overall"], f"Overall — {g.title}"))
        notes = [f"<li><b>{escape(r.system)}</b>: {escape('; '.join(r.flags))}</li>"
                 for r in g.rows if r.flags]
        notes += [f"<li>not scored yet: <code>{escape(d)}</code></li>" for d in g.unscored]
        if not g.reported:
            notes += [f"<li>{escape(r.system)}: run <code>{escape(r.run_id)}</code> "
                      f"({escape(r.kind)}, fingerprint {escape(r.fingerprint)})</li>"
                      for r in g.rows]
        if notes:
            parts.append(f'<ul class="notes">{"".join(notes)}</ul>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
