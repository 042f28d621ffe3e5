"""report.html: one self-contained page (no scripts, fonts or stylesheets fetched;
images are data: URIs or inline SVG), so it opens offline and can be mailed.

Every user-supplied string (project, layer, label and file names) goes through
html.escape; the page contains no <script> at all.
"""
from __future__ import annotations

import platform
import sys
from html import escape
from typing import Dict, List, Optional

from .charts import line_chart
from ..train.run_folder import LIKELIHOOD_PLOT, Evaluation
from .run_data import count_misclassified, misclassified, png_uri

STYLE = """
body{font-family:sans-serif;margin:0;padding:0 24px 40px;color:#222;background:#fff}
h1{margin:16px 0 4px}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
nav a{margin-right:14px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.diagram{max-height:1100px;overflow:auto;border:1px solid #ddd;background:#fcfcfc;display:inline-block;
 max-width:100%}
.network text{font-family:sans-serif;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.note{color:#666;font-style:italic}
.thumbs{display:flex;flex-wrap:wrap;gap:10px}
.thumb{border:1px solid #ddd;padding:6px;width:150px;font-size:12px}
.thumb img{width:96px;height:96px;object-fit:contain;image-rendering:pixelated;background:#000;display:block}
.bad{color:#b00}
"""


def page(title: str, sections: List[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def header(project_name: str, run_dir: str, result: Dict) -> str:
    final = result.get("final") or {}
    bits = []
    if final.get("valid_error") is not None:
        bits.append(f"final validation error {final['valid_error']:.4f}")
    if result.get("best_valid_error") is not None:
        bits.append(f"best {result['best_valid_error']:.4f} (epoch {result.get('best_epoch')})")
    nav = "".join(f'<a href="#{k}">{v}</a>' for k, v in (
        ("network", "Network"), ("curves", "Learning curves"), ("confusion", "Confusion matrix"),
        ("errors", "Misclassified"), ("settings", "Settings &amp; environment")))
    return (f"<h1>{escape(project_name)}</h1><p>Run folder <code>{escape(run_dir)}</code>"
            f"{'; ' + escape(', '.join(bits)) if bits else ''}</p><nav>{nav}</nav>")


def network_section(svg: Optional[str], network: str, total_params: Optional[int], error: str = "") -> str:
    head = f'<h2 id="network">Network <code>{escape(network)}</code></h2>'
    if svg is None:
        return head + f'<p class="note">The network could not be drawn: {escape(error)}</p>'
    count = f"<p>{total_params:,} trainable parameters in total.</p>" if total_params is not None else ""
    return head + count + f'<div class="diagram">{svg}</div>'


def curves_section(rows: List[Dict]) -> str:
    head = '<h2 id="curves">Learning curves</h2>'
    if not rows:
        return head + '<p class="note">metrics.csv is missing or empty: no epoch finished.</p>'

    def series(key: str):
        return [(r["epoch"], r.get(key)) for r in rows if r.get(key) is not None]

    cost = line_chart("Cost", [("training cost", series("cost")), ("validation cost", series("valid_cost"))],
                      y_label="cost")
    error = line_chart("Error", [("training error", series("train_error")),
                                 ("validation error", series("valid_error"))], y_label="error", y_min=0.0)
    return head + f'<div class="charts">{cost}{error}</div>'


def confusion_section(ev: Evaluation) -> str:
    head = '<h2 id="confusion">Confusion matrix</h2>'
    if not ev.present:
        return head + ('<p class="note">Evaluation has not been run for this run folder (no evaluation/ '
                       'folder), so there is no confusion matrix. Run <code>nncgraph evaluate RUN_DIR</code>, '
                       'then <code>nncgraph report RUN_DIR</code> again.</p>')
    if not ev.confusion:
        return head + ('<p class="note">evaluation/ has no confusion_matrix.csv (the network is not a '
                       'classifier, or evaluation did not finish).</p>')
    m = ev.metrics
    summary = ""
    if "accuracy" in m:
        summary = (f"<p>Accuracy {m['accuracy']:.4f} ({m.get('correct', '?')} of {m.get('samples', '?')}) on "
                   f"<code>{escape(str(m.get('dataset', '')))}</code>.</p>")
    names, rows = ev.confusion[0][1:], ev.confusion[1:]
    counts = [[_int(c) for c in r[1:]] for r in rows]
    out = ['<table class="confusion"><tr><th class="l">true \\ predicted</th>']
    out += [f"<th>{escape(n)}</th>" for n in names]
    out.append("</tr>")
    for i, (r, c) in enumerate(zip(rows, counts)):
        total = sum(c) or 1
        out.append(f'<tr><th class="l">{escape(r[0])}</th>')
        for j, v in enumerate(c):
            # shade by the share of the true class's samples: the diagonal green, errors red
            alpha = v / total
            colour = f"rgba(40,160,60,{alpha:.2f})" if i == j else f"rgba(220,50,40,{alpha:.2f})"
            out.append(f'<td style="background:{colour}">{v}</td>')
        out.append("</tr>")
    out.append("</table>")
    per = ""
    if ev.per_class:
        cells = ['<table class="per-class"><tr><th class="l">class</th><th>precision</th><th>recall</th>'
                 '<th>F-measure</th><th>support</th></tr>']
        for r in ev.per_class:
            cells.append(f'<tr><td class="l">{escape(r.get("label", ""))}</td>'
                         + "".join(f"<td>{_fmt(r.get(k))}</td>" for k in ("precision", "recall", "f_measure"))
                         + f'<td>{escape(r.get("support", ""))}</td></tr>')
        macro = m.get("macro") or {}
        if macro:
            cells.append('<tr><th class="l">macro average</th>' + "".join(
                f"<th>{_fmt(macro.get(k))}</th>" for k in ("precision", "recall", "f_measure")) + "<th></th></tr>")
        cells.append("</table>")
        per = "<h3>Per class</h3>" + "".join(cells)
    likelihood = ""
    if LIKELIHOOD_PLOT in ev.plots:
        likelihood = (f'<h3>Likelihood of the top-1 class</h3><img alt="likelihood histogram" width="560" '
                      f'src="{png_uri(ev.plots[LIKELIHOOD_PLOT])}">')
    return head + summary + "".join(out) + per + likelihood


def errors_section(ev: Evaluation, limit: int = 48) -> str:
    head = '<h2 id="errors">Misclassified examples</h2>'
    if not ev.present:
        return head + '<p class="note">No evaluation files: run <code>nncgraph evaluate RUN_DIR</code> first.</p>'
    items = misclassified(ev, limit)
    if not items:
        if len(ev.results) > 1 and "top1" in ev.results[0]:
            return head + "<p>Every example was classified correctly.</p>"
        return head + '<p class="note">output_result.csv has no top1 column: nothing to compare.</p>'
    total = count_misclassified(ev)
    shown = f"<p>{len(items)} shown" + (f" of {total}" if total else "") + ".</p>"
    cards = []
    for it in items:
        img = (f'<img alt="{escape(it["file"])}" src="{it["image"]}">' if it["image"]
               else '<div class="note">image not readable</div>')
        p = f" ({it['probability']:.3f})" if it["probability"] is not None else ""
        tp = f" ({it['true_probability']:.3f})" if it["true_probability"] is not None else ""
        cards.append(f'<div class="thumb">{img}<div>row {it["row"]}: <code>{escape(it["file"])}</code></div>'
                     f'<div>true: <b>{escape(it["true"])}</b>{tp}</div>'
                     f'<div class="bad">predicted: <b>{escape(it["predicted"])}</b>{p}</div></div>')
    return head + shown + f'<div class="thumbs">{"".join(cards)}</div>'


def settings_section(training: Dict, rows: List[Dict], result: Dict) -> str:
    out = ['<h2 id="settings">Hyperparameters, timings and environment</h2><h3>Training (project.yaml)</h3>']
    out.append(_key_table(_flatten(training)) if training else '<p class="note">no training section.</p>')
    out.append("<h3>Timings</h3>")
    timing = {k: result[k] for k in ("seconds", "epochs", "train_samples", "valid_samples", "total_params",
                                     "total_macs") if k in result}
    out.append(_key_table({("total seconds" if k == "seconds" else k.replace("_", " ")): v
                           for k, v in timing.items()}) if timing else '<p class="note">result.json is missing.</p>')
    if rows:
        # then a run's per-optimizer and per-network columns (cost.D, valid_error.Generator), as metrics.csv has
        cols = ("epoch", "cost", "train_error", "valid_cost", "valid_error", "learning_rate", "train_seconds",
                "seconds") + tuple(dict.fromkeys(k for r in rows for k in r if "." in k))
        out.append('<table class="metrics"><tr>' + "".join(f"<th>{c}</th>" for c in cols) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows]
        out.append("</table>")
    out.append("<h3>Environment</h3>" + _key_table(environment()))
    return "".join(out)


def environment() -> Dict[str, str]:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {"python": sys.version.split()[0], "nnabla": version("nnabla"), "numpy": version("numpy"),
            "nncgraph": version("nncgraph"), "platform": platform.platform()}


def _flatten(d: Dict, prefix: str = "") -> Dict[str, object]:
    out: Dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _key_table(d: Dict) -> str:
    return ("<table>" + "".join(f'<tr><th class="l">{escape(str(k))}</th><td class="l">{escape(str(v))}</td></tr>'
                                for k, v in d.items()) + "</table>")


def _fmt(v) -> str:
    if v is None or v == "":
        return ""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return escape(str(v))
    return str(int(f)) if f.is_integer() and abs(f) >= 1 else f"{f:.4g}"


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0
