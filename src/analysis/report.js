(function () {
  'use strict';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const D = JSON.parse(document.getElementById('polrec-data').textContent);
  const LABELS = ['calls to action', 'commitments', 'context'];
  const ONE_LABEL = ['call to action', 'commitment', 'context'];
  const LABEL_IDS = ['call_to_action', 'commitment', 'context'];
  const COLORS = ['#d95f02', '#1b9e77', '#cfd3d8'];
  const SIG = 1.959964;
  const LW = 210;
  const state = { filter: '', sort: 'name', measure: 'share', focus: null, openTheme: null };
  const byName = new Map(D.groups.map((g, i) => [g.name, i]));

  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, text, parent) {
    const e = document.createElement(tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(node, text) { svg('title', {}, node).textContent = text; }
  function pct(v) { return v == null ? '–' : (100 * v).toFixed(1) + '%'; }
  function interval(c) { return c ? ' (95% CI ' + pct(c[0]) + '–' + pct(c[1]) + ')' : ''; }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function num(v, d) { return v == null ? '–' : v.toFixed(d); }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function themeName(t) { return D.themes[t].name; }
  function byGroupName(a, b) { return a.name.localeCompare(b.name, undefined, { numeric: true }); }

  // Colour scales.
  const BLUES = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
  const REDS = [[255, 255, 255], [252, 187, 161], [239, 101, 72], [165, 15, 21]];
  function ramp(stops, x) {
    x = Math.max(0, Math.min(1, x));
    const p = x * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(p)), f = p - i;
    const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
    return 'rgb(' + c.join(',') + ')';
  }
  function diverging(z, max) {
    if (z == null) return '#f4f4f4';
    return z >= 0 ? ramp(REDS, z / max) : ramp(BLUES.slice(0, 4), -z / max);
  }

  function visibleGroups() {
    const f = state.filter.trim().toLowerCase();
    const gs = D.groups.filter((g) => !f || g.name.toLowerCase().includes(f));
    const s = state.sort;
    const desc = (get) => (a, b) => (get(b) ?? -Infinity) - (get(a) ?? -Infinity);
    let cmp = byGroupName;
    if (s === 'n') cmp = desc((g) => g.n);
    else if (s === 'call') cmp = desc((g) => g.shares[0]);
    else if (s === 'commitment') cmp = desc((g) => g.shares[1]);
    else if (s === 'rest') cmp = desc((g) => g.rest);
    else if (s.startsWith('theme:')) {
      const t = Number(s.slice(6));
      cmp = desc((g) => g.share[t]);
    }
    return gs.sort((a, b) => cmp(a, b) || byGroupName(a, b));
  }

  function focusOn(name, theme) {
    state.focus = name;
    state.openTheme = theme == null ? null : theme;
    saveHash();
    drawFocus();
    markFocused();
    document.getElementById('focus').scrollIntoView({ behavior: 'auto', block: 'start' });
  }

  function markFocused() {
    document.querySelectorAll('svg .row').forEach((r) => {
      r.classList.toggle('focused', r.getAttribute('data-group') === state.focus);
    });
  }

  function drawAxis(host, width, left, span, ticks, fmt) {
    host.replaceChildren();
    const s = svg('svg', { width: width, height: 20, class: 'chart axis' }, host);
    ticks.forEach((v) => {
      const x = left + span * v;
      const t = svg('text', { x: x, y: 14, 'text-anchor': 'middle' }, s);
      t.textContent = fmt(v);
    });
  }

  function whisker(parent, x1, x2, y) {
    svg('line', { x1: x1, x2: x2, y1: y, y2: y, class: 'whisker' }, parent);
    svg('line', { x1: x1, x2: x1, y1: y - 4, y2: y + 4, class: 'whisker' }, parent);
    svg('line', { x1: x2, x2: x2, y1: y - 4, y2: y + 4, class: 'whisker' }, parent);
  }

  function drawLabels(gs) {
    const W = 600, RH = 20, BH = 14, RW = 80;
    const rows = [D.all].concat(gs);
    const width = LW + W + RW, height = rows.length * RH + 4;
    drawAxis(document.getElementById('label-axis'), width, LW, W, [0, 0.25, 0.5, 0.75, 1], (v) => v * 100 + '%');
    const host = document.getElementById('label-chart');
    host.replaceChildren();
    const s = svg('svg', { width: width, height: height, class: 'chart', id: 'label-svg', role: 'img',
      'aria-label': 'Share of each label per group, with 95% Wilson intervals' }, host);
    for (let i = 0; i <= 4; i++) {
      const x = LW + (W * i) / 4;
      svg('line', { x1: x, x2: x, y1: 0, y2: height, class: 'grid' }, s);
    }
    rows.forEach((g, i) => {
      const y = i * RH + 2;
      const row = svg('g', { class: 'row' + (g === D.all ? ' all' : ''), 'data-group': g.name }, s);
      tip(row, g.name + ' — ' + g.n + ' sentences\n' + LABELS.map((l, k) =>
        l + ': ' + g.counts[k] + ', ' + pct(g.shares[k]) + interval(g.ci[k])).join('\n'));
      const label = svg('text', { x: LW - 8, y: y + RH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central',
        class: 'rowlabel' }, row);
      label.textContent = short(g.name, 30);
      let x0 = 0;
      ['call', 'commit', 'context'].forEach((cls, k) => {
        const v = g.shares[k] || 0;
        svg('rect', { x: LW + W * x0, y: y + 3, width: Math.max(0, W * v), height: BH, fill: COLORS[k],
          class: 'bar bar-' + cls }, row);
        x0 += v;
      });
      const mid = y + 3 + BH / 2;
      if (g.ci[0]) whisker(row, LW + W * g.ci[0][0], LW + W * g.ci[0][1], mid);
      if (g.ci[2]) whisker(row, LW + W * (1 - g.ci[2][1]), LW + W * (1 - g.ci[2][0]), mid);
      const n = svg('text', { x: LW + W + 8, y: y + RH / 2, 'dominant-baseline': 'central', class: 'count' }, row);
      n.textContent = 'n = ' + g.n;
      if (g !== D.all) row.addEventListener('click', () => focusOn(g.name));
    });
  }

  function heatValue(g, t) {
    const m = state.measure;
    if (m === 'share') return g.share[t];
    if (m === 'calls') return g.calls[t];
    if (m === 'commits') return g.commits[t];
    return g.z[t];
  }

  function drawHeatmap(gs) {
    const C = 22, RH = 18, HH = 170, T = D.themes.length;
    const rows = [D.all].concat(gs);
    const width = LW + T * C + 16;
    const m = state.measure;
    let max = 0;
    rows.forEach((g) => {
      if (g === D.all && m !== 'share') return;
      for (let t = 0; t < T; t++) {
        const v = heatValue(g, t);
        if (v != null) max = Math.max(max, Math.abs(v));
      }
    });
    if (m === 'z') max = Math.max(max, 3);
    if (max === 0) max = 1;
    const head = document.getElementById('heat-head');
    head.replaceChildren();
    // Column titles lean right, past the last column.
    const hs = svg('svg', { width: width + 130, height: HH, class: 'chart' }, head);
    D.themes.forEach((th, t) => {
      const x = LW + t * C + C / 2;
      const text = svg('text', { x: 0, y: 0, transform: 'translate(' + x + ',' + (HH - 6) + ') rotate(-55)',
        class: 'colhead' + (state.sort === 'theme:' + t ? ' sorted' : ''), 'data-theme': th.id }, hs);
      text.textContent = short(th.name, 26);
      tip(text, th.name + ' — ' + th.description + '\n(click to sort groups by its share)');
      text.addEventListener('click', () => { setSort('theme:' + t); });
    });
    const host = document.getElementById('heatmap');
    host.replaceChildren();
    const s = svg('svg', { width: width, height: rows.length * RH + 4, class: 'chart', id: 'heat-svg', role: 'img',
      'aria-label': 'Themes of calls and commitments per group' }, host);
    rows.forEach((g, i) => {
      const y = i * RH + 2;
      const row = svg('g', { class: 'row' + (g === D.all ? ' all' : ''), 'data-group': g.name }, s);
      const label = svg('text', { x: LW - 8, y: y + RH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central',
        class: 'rowlabel' }, row);
      label.textContent = short(g.name, 30);
      tip(label, g.name);
      for (let t = 0; t < T; t++) {
        const v = heatValue(g, t);
        const fill = m === 'z' ? diverging(v, max) : ramp(BLUES, v == null ? 0 : v / max);
        const cell = svg('rect', { x: LW + t * C, y: y, width: C, height: RH, fill: fill, class: 'cell' }, row);
        tip(cell, g.name + ' — ' + themeName(t) + '\n' +
          'share of calls and commitments: ' + pct(g.share[t]) + interval(g.shareCi[t]) + ' of ' + g.actions + '\n' +
          plural(g.calls[t], 'call to action', 'calls to action') + ', ' + plural(g.commits[t], 'commitment', 'commitments') +
          (g.z[t] == null ? '' : '\nlog-odds z vs rest: ' + num(g.z[t], 2)));
        if (g !== D.all) cell.addEventListener('click', () => focusOn(g.name, t));
      }
    });
    const legend = document.getElementById('heat-legend');
    legend.replaceChildren();
    const ls = svg('svg', { width: 420, height: 34, class: 'chart axis' }, legend);
    const steps = 40;
    for (let i = 0; i < steps; i++) {
      const x = i / (steps - 1);
      const fill = m === 'z' ? diverging(-max + 2 * max * x, max) : ramp(BLUES, x);
      svg('rect', { x: 60 + i * 7, y: 2, width: 7, height: 12, fill: fill }, ls);
    }
    const lo = m === 'z' ? '−' + max.toFixed(1) : '0';
    const hi = m === 'share' ? pct(max) : m === 'z' ? max.toFixed(1) : String(max);
    const tl = svg('text', { x: 56, y: 12, 'text-anchor': 'end' }, ls); tl.textContent = lo;
    const th = svg('text', { x: 64 + steps * 7, y: 12 }, ls); th.textContent = hi;
    const cap = svg('text', { x: 60, y: 30 }, ls);
    cap.textContent = { share: 'share of the group’s calls and commitments with the theme', calls: 'number of calls to action',
      commits: 'number of commitments', z: 'log-odds z-score against the rest (red: more, blue: less)' }[m];
  }

  function chips(parent, items, cls) {
    if (!items.length) { html('span', { class: 'none' }, '—', parent); return; }
    items.forEach((it) => {
      const c = html('span', { class: 'chip ' + cls, title: it.title }, it.text, parent);
      c.setAttribute('data-z', it.z == null ? '' : it.z.toFixed(2));
    });
  }

  function distinctive(g) {
    const zs = g.z.map((z, t) => [t, z]).filter((p) => p[1] != null);
    const over = zs.filter((p) => p[1] >= SIG).sort((a, b) => b[1] - a[1]).slice(0, 3);
    const under = zs.filter((p) => p[1] <= -SIG).sort((a, b) => a[1] - b[1]).slice(0, 3);
    const item = (p) => ({ text: themeName(p[0]), z: p[1], title: 'z = ' + p[1].toFixed(2) + '; ' +
      (g.calls[p[0]] + g.commits[p[0]]) + ' sentences, ' + pct(g.share[p[0]]) + ' of calls and commitments' });
    return { over: over.map(item), under: under.map(item) };
  }

  function drawDistinctive(gs) {
    const body = document.getElementById('dist-body');
    body.replaceChildren();
    gs.forEach((g) => {
      const tr = html('tr', { 'data-group': g.name }, null, body);
      const b = html('button', { class: 'link', type: 'button' }, g.name, html('td', {}, null, tr));
      b.addEventListener('click', () => focusOn(g.name));
      html('td', { class: 'num' }, String(g.n), tr);
      const d = distinctive(g);
      chips(html('td', {}, null, tr), d.over, 'over');
      chips(html('td', {}, null, tr), d.under, 'under');
      chips(html('td', {}, null, tr), g.words.slice(0, 6).map((w) => ({ text: w[0], z: w[1],
        title: 'z = ' + w[1].toFixed(2) + ', ' + w[2] + ' times' })), 'word');
      chips(html('td', {}, null, tr), g.similar.slice(0, 3).map((s) => ({ text: D.groups[s[0]].name, z: null,
        title: 'cosine ' + s[1].toFixed(3) })), 'word');
    });
  }

  function drawFocus() {
    const sel = document.getElementById('focus-group');
    if (state.focus == null || !byName.has(state.focus)) state.focus = D.groups.length ? D.groups[0].name : null;
    if (state.focus == null) return;
    sel.value = state.focus;
    const g = D.groups[byName.get(state.focus)];
    document.getElementById('focus-summary').textContent = g.n + ' sentences: ' + LABELS.map((l, k) =>
      pct(g.shares[k]) + ' ' + l).join(', ') + '. Theme profile cosine with the rest of the corpus: ' + num(g.rest, 3) + '.';

    // Diverging bars of theme z-scores.
    const order = D.themes.map((_, t) => t).sort((a, b) => (g.z[b] ?? -Infinity) - (g.z[a] ?? -Infinity));
    const RH = 18, W = 360, L = 220;
    let max = SIG * 1.5;
    g.z.forEach((z) => { if (z != null) max = Math.max(max, Math.abs(z)); });
    const chart = document.getElementById('focus-chart');
    chart.replaceChildren();
    const s = svg('svg', { width: L + W + 50, height: order.length * RH + 24, class: 'chart', id: 'focus-svg',
      role: 'img', 'aria-label': 'Distinctive themes of ' + g.name }, chart);
    const cx = L + W / 2, scale = W / 2 / max;
    svg('line', { x1: cx, x2: cx, y1: 0, y2: order.length * RH, class: 'zero' }, s);
    [-SIG, SIG].forEach((z) => svg('line', { x1: cx + z * scale, x2: cx + z * scale, y1: 0, y2: order.length * RH,
      class: 'sig' }, s));
    order.forEach((t, i) => {
      const z = g.z[t], y = i * RH;
      const label = svg('text', { x: L - 8, y: y + RH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central' }, s);
      label.textContent = short(themeName(t), 30);
      if (z == null) return;
      const fill = z >= SIG ? '#d6604d' : z <= -SIG ? '#4393c3' : '#bbbbbb';
      const bar = svg('rect', { x: z >= 0 ? cx : cx + z * scale, y: y + 3, width: Math.abs(z) * scale, height: RH - 6,
        fill: fill, class: 'zbar' }, s);
      tip(bar, themeName(t) + ': z = ' + z.toFixed(2) + ', log-odds ratio ' + num(g.lor[t], 3) + '\n' +
        plural(g.calls[t], 'call to action', 'calls to action') + ', ' + plural(g.commits[t], 'commitment', 'commitments'));
    });
    const axis = svg('text', { x: cx, y: order.length * RH + 16, 'text-anchor': 'middle' }, s);
    axis.textContent = '← less than the rest · z-score · more than the rest →';

    const words = document.getElementById('focus-words');
    words.replaceChildren();
    chips(words, g.words.map((w) => ({ text: w[0], z: w[1], title: 'z = ' + w[1].toFixed(2) + ', ' + w[2] + ' times' })),
      'word');
    const sim = document.getElementById('focus-similar');
    sim.replaceChildren();
    chips(sim, g.similar.map((p) => ({ text: D.groups[p[0]].name + ' ' + p[1].toFixed(2), z: null,
      title: 'cosine of theme profiles' })), 'word');

    const ex = document.getElementById('focus-examples');
    ex.replaceChildren();
    const themes = D.themes.map((_, t) => t).filter((t) => g.examples[t] && g.examples[t].length)
      .sort((a, b) => (g.calls[b] + g.commits[b]) - (g.calls[a] + g.commits[a]));
    if (!themes.length) html('p', { class: 'none' }, 'No calls or commitments with themes.', ex);
    themes.forEach((t) => {
      const det = html('details', { 'data-theme': D.themes[t].id }, null, ex);
      html('summary', {}, themeName(t) + ' — ' + plural(g.calls[t], 'call to action', 'calls to action') + ', ' +
        plural(g.commits[t], 'commitment', 'commitments'), det);
      const fill = () => {
        if (det.querySelector('ol')) return;
        const ol = html('ol', {}, null, det);
        g.examples[t].forEach((e) => {
          const li = html('li', {}, null, ol);
          html('span', { class: 'lab ' + LABEL_IDS[e[0]] }, ONE_LABEL[e[0]], li);
          li.appendChild(document.createTextNode(e[2]));
          html('span', { class: 'src' }, e[3] + (e[1] == null ? '' : ' · score ' + e[1].toFixed(2)), li);
        });
      };
      det.addEventListener('toggle', () => { if (det.open) fill(); });
      if (state.openTheme === t) {
        det.open = true;
        fill();
      }
    });
  }

  function saveHash() {
    const p = new URLSearchParams();
    if (state.filter) p.set('filter', state.filter);
    if (state.sort !== 'name') p.set('sort', state.sort);
    if (state.measure !== 'share') p.set('measure', state.measure);
    if (state.focus) p.set('group', state.focus);
    if (state.openTheme != null) p.set('theme', D.themes[state.openTheme].id);
    try { history.replaceState(null, '', '#' + p.toString()); } catch (e) { /* file: URLs may refuse */ }
  }

  function loadHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    state.filter = p.get('filter') || '';
    state.sort = p.get('sort') || 'name';
    state.measure = p.get('measure') || 'share';
    state.focus = p.get('group');
    const theme = D.themes.findIndex((t) => t.id === p.get('theme'));
    state.openTheme = theme < 0 ? null : theme;
  }

  function setSort(s) {
    state.sort = s;
    document.getElementById('sort').value = s;
    saveHash();
    renderGroups();
  }

  function renderGroups() {
    const gs = visibleGroups();
    drawLabels(gs);
    drawHeatmap(gs);
    drawDistinctive(gs);
    markFocused();
    document.getElementById('shown').textContent = 'showing ' + gs.length + ' of ' + D.groups.length + ' groups';
  }

  function init() {
    loadHash();
    const sort = document.getElementById('sort');
    const og = html('optgroup', { label: 'share of theme' }, null, sort);
    D.themes.forEach((th, t) => html('option', { value: 'theme:' + t }, th.name, og));
    if (![...sort.options].some((o) => o.value === state.sort)) state.sort = 'name';
    sort.value = state.sort;
    sort.addEventListener('change', () => setSort(sort.value));
    const filter = document.getElementById('filter');
    filter.value = state.filter;
    filter.addEventListener('input', () => { state.filter = filter.value; saveHash(); renderGroups(); });
    const measure = document.getElementById('heat-measure');
    if (![...measure.options].some((o) => o.value === state.measure)) state.measure = 'share';
    measure.value = state.measure;
    measure.addEventListener('change', () => { state.measure = measure.value; saveHash(); drawHeatmap(visibleGroups()); });
    const sel = document.getElementById('focus-group');
    D.groups.slice().sort(byGroupName).forEach((g) => html('option', { value: g.name }, g.name, sel));
    sel.addEventListener('change', () => { state.focus = sel.value; state.openTheme = null; saveHash(); drawFocus(); markFocused(); });
    renderGroups();
    drawFocus();
    markFocused();
    document.body.setAttribute('data-render-state', 'done');
  }

  init();
})();
