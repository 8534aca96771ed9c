//! The self-contained HTML report of a comparison: one page with inline CSS, data
//! and script, drawing its charts as inline SVG; nothing is fetched from anywhere.

use serde_json::{json, Value};

use super::compare::{Comparison, GroupStats};
use super::themes::Taxonomy;
use crate::Label;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Similar groups listed per group in the report.
const SIMILAR_SHOWN: usize = 5;

/// What the report says about where its data comes from.
#[derive(Debug, Clone, Default)]
pub struct ReportInfo {
    /// The inputs read (`-` for standard input).
    pub inputs: Vec<String>,
    /// Lines or files that could not be read.
    pub failures: usize,
}

/// Renders the report page of `comparison`; theme names and descriptions come
/// from `taxonomy` (ids it lacks are shown as they are).
pub fn render(comparison: &Comparison, taxonomy: &Taxonomy, info: &ReportInfo) -> String {
    let data = report_data(comparison, taxonomy, info);
    let by = escape_html(&comparison.by);
    let inputs = if info.inputs.is_empty() {
        "standard input".to_string()
    } else {
        info.inputs
            .iter()
            .map(|s| escape_html(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let failures = match info.failures {
        0 => String::new(),
        1 => " 1 input line could not be read.".to_string(),
        n => format!(" {n} input lines could not be read."),
    };
    let skipped = match comparison.skipped_unknown {
        0 => String::new(),
        n => format!(" {n} sentences without <code>{by}</code> were skipped."),
    };
    let mut themes_options = String::new();
    for (value, text) in [
        ("share", "share of calls and commitments"),
        ("calls", "number of calls to action"),
        ("commits", "number of commitments"),
        ("z", "distinctiveness (log-odds z)"),
    ] {
        themes_options.push_str(&format!("<option value=\"{value}\">{text}</option>"));
    }
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="polrec {version}">
<title>polrec: comparison by {by}</title>
<style>
{STYLE}</style>
<script>
window.addEventListener('error', function (e) {{
  var n = Number(document.documentElement.getAttribute('data-js-errors') || 0) + 1;
  document.documentElement.setAttribute('data-js-errors', String(n));
  var box = document.getElementById('js-errors');
  if (box) box.textContent += 'Script error: ' + e.message + '\n';
}});
</script>
</head>
<body data-render-state="pending">
<header>
<h1>Calls to action and commitments by <code>{by}</code></h1>
<p class="meta">{records} sentences in {groups} groups, from {inputs}.{skipped}{failures}</p>
<div class="controls">
<label>Filter groups <input id="filter" type="search" placeholder="part of a name…" autocomplete="off"></label>
<label>Sort by <select id="sort">
<option value="name">name</option>
<option value="n">number of sentences</option>
<option value="call">share of calls to action</option>
<option value="commitment">share of commitments</option>
<option value="rest">theme profile closest to the rest</option>
</select></label>
<span id="shown" class="meta"></span>
</div>
<pre id="js-errors"></pre>
</header>
<noscript><p>This report draws its charts with JavaScript; the same figures are printed by
<code>polrec compare --format csv</code>.</p></noscript>

<section id="labels">
<h2>Label shares</h2>
<p class="note">Share of each group's sentences per label; whiskers are 95% Wilson score intervals of
the share of calls to action (left) and of context (right). The first row is the whole corpus.
Click a group to see it in detail.</p>
<div class="legend"><span><span class="swatch" style="background:var(--call)"></span>call to action</span>
<span><span class="swatch" style="background:var(--commit)"></span>commitment</span>
<span><span class="swatch" style="background:var(--context)"></span>context</span></div>
<div id="label-axis"></div>
<div class="scroll" id="label-chart"></div>
</section>

<section id="themes">
<h2>Themes of calls and commitments</h2>
<p class="note">One row per group, one column per theme. Click a column title to sort the groups by
that theme, a cell to read its example sentences. Colour: <select id="heat-measure">{themes_options}</select></p>
<div id="heat-head"></div>
<div class="scroll" id="heatmap"></div>
<div id="heat-legend"></div>
</section>

<section id="distinctive-themes">
<h2>Distinctive themes and words</h2>
<p class="note">Themes and words a group uses more (or less) than the rest of the corpus: weighted
log-odds ratios with an informative Dirichlet prior from the whole corpus (Monroe, Colaresi and
Quinn 2008); themes shown when |z| ≥ 1.96. Similar groups: cosine of theme profiles.</p>
<div class="scroll">
<table class="dist" id="dist-table">
<thead><tr><th>group</th><th>sentences</th><th>more than the rest</th><th>less than the rest</th>
<th>distinctive words</th><th>most similar</th></tr></thead>
<tbody id="dist-body"></tbody>
</table>
</div>
</section>

<section id="focus">
<h2>One group in detail: <select id="focus-group"></select></h2>
<p class="note" id="focus-summary"></p>
<div class="focus-grid">
<div><h3>Themes against the rest (z-scores; dashed lines at ±1.96)</h3><div id="focus-chart"></div></div>
<div><h3>Distinctive words</h3><div id="focus-words"></div>
<h3>Most similar theme profiles</h3><div id="focus-similar"></div>
<h3>Example sentences by theme</h3><div id="focus-examples"></div></div>
</div>
</section>

<script type="application/json" id="polrec-data">{data}</script>
<script>
{SCRIPT}</script>
</body>
</html>
"##,
        version = env!("CARGO_PKG_VERSION"),
        records = comparison.records,
        groups = comparison.groups.len(),
        data = script_safe_json(&data),
    )
}

/// The data the page's script draws from.
fn report_data(c: &Comparison, taxonomy: &Taxonomy, info: &ReportInfo) -> Value {
    let themes: Vec<Value> = c
        .themes
        .iter()
        .map(|id| match taxonomy.get(id) {
            Some(t) => json!({"id": id, "name": t.name, "description": t.description}),
            None => json!({"id": id, "name": id, "description": ""}),
        })
        .collect();
    let groups: Vec<Value> = c
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut similar: Vec<(usize, f64)> = c.similarity[i]
                .iter()
                .enumerate()
                .filter_map(|(j, s)| s.filter(|_| j != i).map(|s| (j, s)))
                .collect();
            similar.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            similar.truncate(SIMILAR_SHOWN);
            let mut v = group_data(g);
            v["similar"] = similar.iter().map(|&(j, s)| json!([j, round(s)])).collect();
            v
        })
        .collect();
    json!({
        "by": c.by,
        "inputs": info.inputs,
        "records": c.records,
        "themes": themes,
        "all": group_data(&c.all),
        "groups": groups,
    })
}

fn group_data(g: &GroupStats) -> Value {
    let opt = |v: Option<f64>| v.map(round);
    let label_ci: Vec<Value> = g
        .labels
        .iter()
        .map(|s| {
            s.interval
                .map_or(Value::Null, |i| json!([round(i.lower), round(i.upper)]))
        })
        .collect();
    let share_ci: Vec<Value> = g
        .theme_shares
        .iter()
        .map(|s| {
            s.interval
                .map_or(Value::Null, |i| json!([round(i.lower), round(i.upper)]))
        })
        .collect();
    let examples: Vec<Value> = g
        .examples
        .iter()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let label = Label::ALL.iter().position(|l| *l == e.label).unwrap_or(2);
                    json!([label, opt(e.score), e.text, e.source])
                })
                .collect()
        })
        .collect();
    json!({
        "name": g.name,
        "n": g.sentences,
        "counts": g.labels.iter().map(|s| s.count).collect::<Vec<_>>(),
        "shares": g.labels.iter().map(|s| opt(s.value)).collect::<Vec<_>>(),
        "ci": label_ci,
        "actions": g.labels[0].count + g.labels[1].count,
        "calls": g.theme_calls,
        "commits": g.theme_commitments,
        "share": g.theme_shares.iter().map(|s| opt(s.value)).collect::<Vec<_>>(),
        "shareCi": share_ci,
        "z": g.theme_log_odds.iter().map(|l| l.map(|l| round(l.z))).collect::<Vec<_>>(),
        "lor": g.theme_log_odds.iter().map(|l| l.map(|l| round(l.delta))).collect::<Vec<_>>(),
        "rest": opt(g.similarity_to_rest),
        "words": g.words.iter().map(|w| json!([w.word, round(w.log_odds.z), w.count])).collect::<Vec<_>>(),
        "similar": [],
        "examples": examples,
    })
}

/// Rounds to 4 decimals, which is all a chart or tooltip shows.
fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// JSON that can sit inside a `<script>` element: `<` written as `\u003c`, so no
/// `</script>` or `<!--` can appear.
fn script_safe_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Escapes text for HTML element content and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_script_cannot_close_the_element() {
        let v = json!({"text": "</script><script>alert(1)</script> <!-- \u{2028}"});
        let s = script_safe_json(&v);
        assert!(!s.contains('<') && !s.contains('\u{2028}'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }
}
