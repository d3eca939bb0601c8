"""The leaderboard as Markdown (cells: value with its CI in parentheses)."""

from __future__ import annotations

from muie_bench.leaderboard.model import OVERALL, Leaderboard, Text, intro


def md_text(text: Text) -> str:
    """Spans as Markdown: code in backticks, bold in double asterisks."""
    marks = {"plain": "", "code": "`", "bold": "**"}
    return "".join(f"{marks[s.style]}{s.text}{marks[s.style]}" for s in text)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A pipe table, first column left-aligned and the others right-aligned ("|" escaped)."""
    def esc(x: str) -> str:
        return x.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(lb: Leaderboard, images: dict[str, str] | None = None) -> str:
    """``images`` maps ``"<group key>/<table title>"`` to a chart file name (only the overall
    charts are linked from the Markdown)."""
    out = ["# muie-bench leaderboard", "", md_text(intro(lb.runs_dir, "in parentheses"))]
    for g in lb.groups:
        out += ["", f"## {g.title}", ""]
        for t in g.tables():
            rows = [[r.label] + [t.cell(r, s, m).show(g.with_ci) for s, m in t.columns]
                    for r in t.rows]
            out += [f"### {t.title}", "", md_table(t.header(), rows), ""]
        out += [f"### {OVERALL}", ""]
        note = g.overall_note()
        if note:
            out += [note, ""]
        out += [md_table(g.overall_header(), g.overall_rows(g.with_ci)), ""]
        chart = (images or {}).get(f"{g.key}/{OVERALL}")
        if chart:
            out += [f"![{g.title}]({chart})", ""]
        notes = g.notes()
        if notes:
            out += ["Notes:", "", *(f"- {md_text(n)}" for n in notes), ""]
    return "\n".join(out).rstrip() + "\n"
