"""The demo's HTML page: one self-contained file, every PNG embedded as a data URI.

No scripts and no external resources, so it opens offline in any browser and can be mailed
as one file.
"""

import base64
import html
from pathlib import Path

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.ok { color: #1a7f37; } .failed { color: #c0392b; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td { background: #fdecea; }
figure { display: inline-block; margin: 0.6em 1em 0.6em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; max-width: 1000px; }
pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 12px; }
nav a { margin-right: 1em; }
details { margin: 0.8em 0; } summary { cursor: pointer; font-weight: 600; }
"""


def _e(text):
    return html.escape(str(text))


def _cell(value):
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>"


def _table(t):
    head = "".join(f"<th>{_e(h)}</th>" for h in t.header)
    rows = []
    for row in t.rows:
        failed = any(str(c).startswith("FAIL") for c in row)
        cls = ' class="fail"' if failed else ""
        rows.append(f"<tr{cls}>" + "".join(_cell(c) for c in row) + "</tr>")
    table = (f"<table><thead><tr>{head}</tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    if getattr(t, "folded", False):
        return (f"<details><summary>{_e(t.title)} ({len(t.rows)} rows)</summary>{table}"
                f"</details>")
    return f"<h3>{_e(t.title)}</h3>{table}"


def _figure(f):
    data = base64.b64encode(Path(f.path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_e(f.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>")


def _metrics(metrics):
    if not metrics:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in metrics.items())
    return f"<table>{rows}</table>"


def _section(section, error, seconds):
    status = ('<span class="failed">failed</span>' if error else '<span class="ok">ok</span>')
    parts = [f'<h2 id="{_e(section.name)}">{_e(section.title)}</h2>',
             f"<p>{status} &middot; {seconds:.1f} s</p>"]
    if section.text:
        parts.append(f"<p>{_e(section.text)}</p>")
    if error:
        parts.append(f"<pre>{_e(error)}</pre>")
    parts.append(_metrics(section.metrics))
    for f in section.figures:
        try:
            parts.append(_figure(f))
        except OSError as e:  # a missing picture is reported, not fatal
            parts.append(f'<p class="failed">missing figure {_e(f.path)}: {_e(e)}</p>')
    parts.extend(_table(t) for t in section.tables)
    return "\n".join(parts)


def write(path, results, summary):
    """Writes the page for `results`, a list of (Section, error text, seconds)."""
    env = summary["environment"]
    env_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in env.items())
    passed = sum(not e for _, e, _ in results)
    nav = "".join(f'<a href="#{_e(s.name)}">{_e(s.name)}</a>' for s, _, _ in results)
    mode = "quick" if summary["quick"] else "full"
    body = "\n".join(_section(*r) for r in results)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfcs231n demo report</title><style>{_CSS}</style></head>
<body>
<h1>tfcs231n demo</h1>
<p>{passed} of {len(results)} sections passed &middot; {mode} mode &middot; seed
{summary['seed']} &middot; {summary['seconds']:.0f} s in all</p>
<nav>{nav}</nav>
<table>{env_rows}</table>
{body}
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")
    return path
