// Tessera dashboard: a single page fed by server-sent events (/events) and the JSON API (/api/v1).
// Hand-written, no framework, no network access beyond this server.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const PAGES = ['status', 'workers', 'graph', 'profile', 'system'];
  const MAX_TASKS = 20000;
  const MAX_MEMORY_POINTS = 300;

  const state = {
    page: 'status',
    connected: false,
    run: null,
    groups: new Map(),   // name -> counts of the run shown
    runs: [],
    tasks: [],           // task-stream records (newest last)
    tasksNext: 0,        // sequence number of the next record expected
    errors: [],
    workers: [],
    memory: [],          // {t, v}
    memoryNow: 0,
    graph: null,
    profile: null,
    system: null,
    dirty: true,
  };

  // ------------------------------------------------------------------------------ formatting
  const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');
  function fmtBytes(b) {
    b = Number(b || 0);
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let u = 0;
    while (Math.abs(b) >= 1024 && u < units.length - 1) { b /= 1024; u++; }
    return (u === 0 ? b.toFixed(0) : b.toFixed(b < 10 ? 2 : b < 100 ? 1 : 0)) + ' ' + units[u];
  }
  function fmtDuration(s) {
    s = Number(s || 0);
    if (s === 0) return '0 s';
    if (s < 1e-3) return (s * 1e6).toFixed(s < 1e-5 ? 2 : 0) + ' µs';
    if (s < 1) return (s * 1e3).toFixed(s < 1e-2 ? 2 : 1) + ' ms';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    const m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - 60 * m) + ' s';
  }
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  // Group colours: the palette in order of appearance, so that groups on screen differ.
  const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316',
                   '#6366f1', '#14b8a6', '#a855f7', '#eab308', '#0ea5e9', '#d946ef', '#22c55e', '#fb7185'];
  const colorCache = new Map();
  function groupColor(name) {
    let c = colorCache.get(name);
    if (c) return c;
    c = PALETTE[colorCache.size % PALETTE.length];
    colorCache.set(name, c);
    return c;
  }
  function withAlpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  // "('mean_chunk-3f2a19c0aa', 0, 1)" -> "mean_chunk" (the group rule of Key::group()).
  function keyGroup(key) {
    const m = /^\(?'([^']*)'/.exec(key || '');
    const name = m ? m[1] : (key || '');
    const dash = name.lastIndexOf('-');
    if (dash > 0 && /^[0-9a-f]{8,}$/.test(name.slice(dash + 1))) return name.slice(0, dash);
    return name;
  }

  // ------------------------------------------------------------------------------ canvas helpers
  function setupCanvas(canvas, cssHeight) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(50, canvas.clientWidth);
    const height = cssHeight || canvas.clientHeight || 200;
    canvas.style.height = height + 'px';
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return { ctx, width, height };
  }
  function niceStep(range, target) {
    const raw = range / Math.max(1, target);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  }

  const tooltip = $('tooltip');
  function showTooltip(html, x, y) {
    tooltip.innerHTML = html;
    tooltip.hidden = false;
    const r = tooltip.getBoundingClientRect();
    const left = Math.min(window.innerWidth - r.width - 8, x + 14);
    const top = y + 16 + r.height > window.innerHeight ? y - r.height - 10 : y + 16;
    tooltip.style.left = left + 'px';
    tooltip.style.top = top + 'px';
  }
  const hideTooltip = () => { tooltip.hidden = true; };

  // ------------------------------------------------------------------------------ data
  function setLive(on) {
    state.connected = on;
    const live = $('live');
    live.className = 'live ' + (on ? 'on' : 'off');
    $('live-text').textContent = on ? 'live' : 'reconnecting';
  }

  function applySnapshot(s) {
    const st = s.status;
    state.run = st.run;
    state.groups = new Map((st.groups || []).map((g) => [g.name, g]));
    state.runs = st.runs || [];
    state.errors = st.errors || [];
    state.workers = s.workers || [];
    state.tasks = s.tasks || [];
    state.tasksNext = s.tasks_next || 0;
    // The snapshot carries the newest records only: fetch the older ones of the stream.
    const first = state.tasks.length ? state.tasks[0].seq : state.tasksNext;
    if (first > 0) backfill(Math.max(0, first - MAX_TASKS), first);
    state.memoryNow = st.memory_bytes || 0;
    state.memory.push({ t: st.time, v: state.memoryNow });
    state.dirty = true;
  }

  function applyUpdate(u) {
    if (u.run) {
      if (!state.run || u.run.id !== state.run.id) state.groups = new Map();
      state.run = u.run;
    }
    for (const g of u.groups || []) state.groups.set(g.name, g);
    for (const r of u.runs || []) {
      const k = state.runs.findIndex((x) => x.id === r.id);
      if (k >= 0) state.runs[k] = r; else state.runs.unshift(r);
    }
    // Updates may repeat records the snapshot already had: keep each sequence number once.
    const fresh = (u.tasks || []).filter((t) => t.seq >= state.tasksNext);
    // A busy tick sends at most a few thousand records: fetch what it left out.
    if (fresh.length && fresh[0].seq > state.tasksNext) backfill(Math.max(state.tasksNext, fresh[0].seq - MAX_TASKS), fresh[0].seq);
    if (fresh.length) {
      state.tasks.push(...fresh);
      state.tasksNext = fresh[fresh.length - 1].seq + 1;
      if (state.tasks.length > MAX_TASKS) state.tasks.splice(0, state.tasks.length - MAX_TASKS);
    }
    if (u.errors && u.errors.length) {
      const seen = new Set(state.errors.map((e) => e.seq));
      for (const e of u.errors) if (!seen.has(e.seq)) state.errors.push(e);
    }
    if (u.workers) state.workers = u.workers;
    state.memoryNow = u.memory_bytes || 0;
    state.memory.push({ t: u.time, v: state.memoryNow });
    if (state.memory.length > MAX_MEMORY_POINTS) state.memory.shift();
    state.dirty = true;
  }

  async function backfill(from, to) {
    try {
      const page = await fetchJson(`/api/v1/tasks?since=${from}&limit=${Math.max(1, Math.min(to - from, 100000))}`);
      const have = new Set(state.tasks.map((t) => t.seq));
      const missing = page.tasks.filter((t) => t.seq < to && !have.has(t.seq));
      if (!missing.length) return;
      state.tasks = state.tasks.concat(missing).sort((a, b) => a.seq - b.seq);
      if (state.tasks.length > MAX_TASKS) state.tasks.splice(0, state.tasks.length - MAX_TASKS);
      state.dirty = true;
    } catch (e) {
      // The next update brings the newest records anyway.
    }
  }

  function connect() {
    const source = new EventSource('/events');
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener('snapshot', (e) => { setLive(true); applySnapshot(JSON.parse(e.data)); });
    source.addEventListener('update', (e) => applyUpdate(JSON.parse(e.data)));
  }

  async function fetchJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) throw new Error(path + ': ' + res.status);
    return res.json();
  }

  // ------------------------------------------------------------------------------ status page
  function renderCards() {
    const run = state.run;
    const totals = run ? run.totals : { total: 0, memory: 0, released: 0, erred: 0, processing: 0 };
    const done = totals.memory + totals.released;
    const total = totals.total;
    const pct = total > 0 ? (done === total ? 100 : Math.floor((100 * done) / total)) : 0;
    const bar = $('overall-progress');
    bar.dataset.done = done;
    bar.dataset.total = total;
    bar.querySelector('.fill').style.width = (total > 0 ? (100 * done) / total : 0) + '%';
    $('overall-percent').textContent = pct + '%';
    $('overall-text').textContent = `${fmtInt(done)} / ${fmtInt(total)} tasks` +
      (totals.erred ? ` · ${fmtInt(totals.erred)} erred` : '') +
      (totals.processing ? ` · ${fmtInt(totals.processing)} processing` : '');
    const stateEl = $('run-state');
    stateEl.textContent = run ? run.state : 'idle';
    stateEl.className = 'card-value' + (run ? ' state-' + run.state : '');
    $('run-detail').textContent = run ? `run #${run.id} · ${run.scheduler} · ${run.n_threads} thread${run.n_threads === 1 ? '' : 's'} · ${run.n_groups} groups` : 'no computation yet';
    $('run-elapsed').textContent = run ? fmtDuration(run.elapsed) : '0 s';
    $('run-rate').textContent = run && run.elapsed > 0 ? `${fmtInt(Math.round(done / run.elapsed))} tasks/s` : '\u00a0';
    $('memory-bytes').textContent = fmtBytes(state.memoryNow);
    $('run-badge').textContent = run ? `run #${run.id} · ${run.state} · started ${new Date(run.started_at).toLocaleTimeString()}` : 'no computation yet';
    drawSpark($('memory-spark'), state.memory);
  }

  function drawSpark(canvas, points) {
    const { ctx, width, height } = setupCanvas(canvas, 34);
    if (points.length < 2) return;
    const vmax = Math.max(1, ...points.map((p) => p.v));
    const n = points.length;
    ctx.beginPath();
    points.forEach((p, i) => {
      const x = (i / (n - 1)) * width;
      const y = height - 2 - (p.v / vmax) * (height - 6);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = '#3b82f6';
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.lineTo(width, height);
    ctx.lineTo(0, height);
    ctx.closePath();
    ctx.fillStyle = 'rgba(59, 130, 246, .12)';
    ctx.fill();
  }

  const groupRows = new Map();
  function renderGroups() {
    const box = $('groups');
    const groups = [...state.groups.values()];
    if (groups.length === 0) {
      box.innerHTML = '<div class="empty">Waiting for a computation&hellip;</div>';
      groupRows.clear();
      return;
    }
    const empty = box.querySelector('.empty');
    if (empty) empty.remove();
    const names = new Set(groups.map((g) => g.name));
    for (const [name, row] of groupRows) if (!names.has(name)) { row.el.remove(); groupRows.delete(name); }
    for (const g of groups) {
      let row = groupRows.get(g.name);
      if (!row) {
        const el = document.createElement('div');
        el.className = 'group-row';
        el.dataset.group = g.name;
        const color = groupColor(g.name);
        el.innerHTML = `<div class="group-name" title="${esc(g.name)}"><i style="background:${color}"></i>${esc(g.name)}</div>
          <div class="group-bar"><span class="released" style="background:${withAlpha(color, 0.38)}"></span><span class="memory" style="background:${color}"></span><span class="erred"></span><span class="processing"></span></div>
          <div class="group-count"></div>`;
        el.querySelector('.group-bar').addEventListener('mousemove', (ev) => {
          const c = state.groups.get(g.name);
          if (!c) return;
          showTooltip(`<div class="tt-key">${esc(c.name)}</div>` +
            `<div>${fmtInt(c.memory)} in memory · ${fmtInt(c.released)} released</div>` +
            `<div>${fmtInt(c.processing)} processing · ${fmtInt(c.waiting)} waiting · ${fmtInt(c.erred)} erred</div>` +
            `<div class="tt-dim">${fmtBytes(c.bytes)} held · ${fmtDuration(c.seconds)} compute</div>`, ev.clientX, ev.clientY);
        });
        el.querySelector('.group-bar').addEventListener('mouseleave', hideTooltip);
        box.appendChild(el);
        row = { el, seg: {} };
        for (const s of ['released', 'memory', 'erred', 'processing']) row.seg[s] = el.querySelector('.' + s);
        row.count = el.querySelector('.group-count');
        groupRows.set(g.name, row);
      }
      const total = Math.max(1, g.total);
      for (const s of ['released', 'memory', 'erred', 'processing']) row.seg[s].style.width = (100 * g[s]) / total + '%';
      const done = g.memory + g.released;
      row.el.dataset.total = g.total;
      row.el.dataset.done = done;
      row.el.dataset.erred = g.erred;
      row.el.classList.toggle('done', done === g.total);
      row.el.classList.toggle('failed', g.erred > 0);
      row.count.innerHTML = `<b>${fmtInt(done)}</b> / ${fmtInt(g.total)}` + (g.erred ? ` · <span style="color:var(--erred)">${fmtInt(g.erred)} erred</span>` : '');
    }
  }

  function renderThreads() {
    const box = $('threads');
    const rows = [];
    let busy = 0, n = 0;
    for (const w of state.workers) {
      for (const t of w.threads) {
        n++;
        if (t.busy) busy++;
        const color = t.busy ? groupColor(keyGroup(t.key)) : null;
        const label = state.workers.length > 1 ? `${esc(w.name)}/${t.thread}` : `thread ${t.thread}`;
        rows.push(`<div class="thread-row"><span class="label">${label}</span>` +
          `<div class="thread-cell${t.busy ? ' busy' : ''}" style="${color ? 'background:' + color : ''}" title="${esc(t.key || 'idle')}">` +
          `${t.busy ? esc(t.key) : 'idle · ' + fmtInt(t.n_tasks) + ' tasks run'}</div></div>`);
      }
    }
    box.innerHTML = rows.join('') || '<div class="empty">No threads yet.</div>';
    $('threads-summary').textContent = n ? `${busy} of ${n} busy` : '';
  }

  function renderErrors() {
    const panel = $('errors-panel');
    panel.hidden = state.errors.length === 0;
    if (panel.hidden) return;
    const items = state.errors.slice(-20).reverse().map((e) =>
      `<li data-key="${esc(e.key)}"><span class="err-meta">run #${e.run} · ${esc(e.group)}</span>` +
      `<div class="err-key">${esc(e.key)}</div><div class="err-msg">${esc(e.message)}</div></li>`);
    $('errors').innerHTML = items.join('');
    $('errors-summary').textContent = `${state.errors.length} failed task${state.errors.length === 1 ? '' : 's'}`;
  }

  // The task stream: one lane per (worker, thread), bars coloured by group, time on x.
  let streamBars = [];
  function renderStream() {
    const canvas = $('task-stream');
    const run = state.run;
    const tasks = run ? state.tasks.filter((t) => t.run === run.id) : [];
    const lanes = [...new Set(tasks.map((t) => t.worker + '/' + t.thread))]
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const w of state.workers) for (const t of w.threads) {
      const id = w.id + '/' + t.thread;
      if (!lanes.includes(id)) lanes.push(id);
    }
    lanes.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const laneH = lanes.length > 16 ? 14 : 26;
    const axisH = 26, left = 74;
    const height = Math.max(140, Math.min(520, lanes.length * laneH + axisH + 8));
    const { ctx, width } = setupCanvas(canvas, height);
    streamBars = [];
    ctx.font = '12px system-ui, sans-serif';
    if (!run) { ctx.fillStyle = '#6b7687'; ctx.fillText('No computation yet.', 12, 24); canvas.dataset.bars = 0; return; }
    const t0 = run.start;
    let t1 = run.start + run.elapsed;
    for (const t of tasks) if (t.stop > t1) t1 = t.stop;
    if (t1 - t0 < 1e-3) t1 = t0 + 1e-3;
    const plotW = width - left - 10;
    const xOf = (t) => left + ((t - t0) / (t1 - t0)) * plotW;
    const laneIndex = new Map(lanes.map((l, i) => [l, i]));
    lanes.forEach((l, i) => {
      const y = 4 + i * laneH;
      ctx.fillStyle = i % 2 ? '#f7f9fc' : '#eef2f7';
      ctx.fillRect(left, y, plotW, laneH - 2);
      ctx.fillStyle = '#6b7687';
      ctx.textBaseline = 'middle';
      // Lanes are "worker id/thread"; a cluster worker's id is its tcp:// address: show its name.
      const cut = l.lastIndexOf('/');
      const id = l.slice(0, cut), th = l.slice(cut + 1);
      const named = state.workers.find((w) => w.id === id);
      const w = named ? named.name : id;
      ctx.fillText(state.workers.length > 1 ? `${w} ${th}` : `thread ${th}`, 6, y + (laneH - 2) / 2);
    });
    for (const t of tasks) {
      const lane = laneIndex.get(t.worker + '/' + t.thread);
      const x = xOf(t.start);
      const w = Math.max(1, xOf(t.stop) - x);
      const y = 4 + lane * laneH + 1;
      const h = laneH - 4;
      ctx.fillStyle = t.failed ? '#dc2626' : groupColor(t.group);
      ctx.fillRect(x, y, w, h);
      streamBars.push({ x, y, w, h, t });
    }
    // Time axis, in seconds since the run started.
    const axisY = 4 + lanes.length * laneH + 2;
    ctx.strokeStyle = '#cfd6e0';
    ctx.beginPath(); ctx.moveTo(left, axisY); ctx.lineTo(left + plotW, axisY); ctx.stroke();
    const step = niceStep(t1 - t0, 8);
    ctx.fillStyle = '#6b7687';
    ctx.textBaseline = 'top';
    for (let s = 0; s <= t1 - t0 + 1e-12; s += step) {
      const x = xOf(t0 + s);
      ctx.beginPath(); ctx.moveTo(x, axisY); ctx.lineTo(x, axisY + 4); ctx.stroke();
      ctx.fillText(fmtDuration(s).replace(' ', '\u2009'), x - 10, axisY + 7);
    }
    canvas.dataset.bars = streamBars.length;
    $('stream-summary').textContent = `${fmtInt(tasks.length)} tasks on ${lanes.length} lane${lanes.length === 1 ? '' : 's'} · hover a bar for its task`;
  }

  $('task-stream').addEventListener('mousemove', (ev) => {
    const r = ev.currentTarget.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let hit = null;
    for (let i = streamBars.length - 1; i >= 0; i--) {
      const b = streamBars[i];
      if (x >= b.x - 1 && x <= b.x + b.w + 1 && y >= b.y && y <= b.y + b.h) { hit = b.t; break; }
    }
    if (!hit) return hideTooltip();
    showTooltip(`<div class="tt-key">${esc(hit.key)}</div>` +
      `<div>${esc(hit.group)} · ${fmtDuration(hit.duration)}${hit.failed ? ' · <b>failed</b>' : ''}</div>` +
      `<div class="tt-dim">thread ${hit.thread} · started at ${fmtDuration(hit.start - (state.run ? state.run.start : 0))} · ${fmtBytes(hit.bytes)}</div>`,
      ev.clientX, ev.clientY);
  });
  $('task-stream').addEventListener('mouseleave', hideTooltip);

  function renderStatus() {
    renderCards();
    renderGroups();
    renderThreads();
    renderErrors();
    renderStream();
  }

  // ------------------------------------------------------------------------------ workers page
  function renderWorkers() {
    if (state.workers.some((w) => w.id !== 'local'))
      $('workers-note').textContent = `${state.workers.length} worker${state.workers.length === 1 ? '' : 's'} connected to the scheduler`;
    $('workers-table').querySelector('tbody').innerHTML = state.workers.map((w) =>
      `<tr><td><b>${esc(w.name)}</b></td><td><code>${esc(w.address)}</code></td><td class="num">${w.n_threads}</td>` +
      `<td class="num">${w.processing}</td><td class="num">${fmtBytes(w.memory_bytes)}</td><td class="num">${fmtBytes(w.task_bytes)}</td>` +
      `<td class="num">${fmtBytes(w.spilled_bytes || 0)}</td><td class="num">${w.memory_limit ? fmtBytes(w.memory_limit) : '&ndash;'}</td>` +
      `<td class="num">${fmtBytes(w.rss_bytes)}</td><td class="num">${w.cpu_percent.toFixed(0)}%</td><td class="num">${fmtInt(w.n_finished)}</td>` +
      `<td class="num">${w.id === 'local' ? '&ndash;' : fmtDuration(w.last_seen || 0) + ' ago'}</td></tr>`).join('') ||
      '<tr><td colspan="12" class="muted">No workers yet: they appear with the first computation.</td></tr>';
    const rows = [];
    for (const w of state.workers) for (const t of w.threads) {
      rows.push(`<tr><td>${esc(w.id)}</td><td class="num">${t.thread}</td>` +
        `<td><span class="pill ${t.busy ? 'busy' : 'idle'}">${t.busy ? 'busy' : 'idle'}</span></td>` +
        `<td>${t.busy ? `<code>${esc(t.key)}</code> <span class="muted">for ${fmtDuration(t.running_for)}</span>` : '<span class="muted">&ndash;</span>'}</td>` +
        `<td class="num">${fmtInt(t.n_tasks)}</td><td class="num">${fmtDuration(t.busy_seconds)}</td></tr>`);
    }
    $('worker-threads-table').querySelector('tbody').innerHTML = rows.join('');
  }

  // ------------------------------------------------------------------------------ graph page
  const STATE_FILL = { waiting: '#d5dbe4', processing: '#6b7687', erred: '#dc2626' };
  let graphNodes = [];
  function renderGraph() {
    const g = state.graph;
    const canvas = $('graph-canvas');
    const { ctx, width, height } = setupCanvas(canvas, 620);
    graphNodes = [];
    if (!g || g.nodes.length === 0) {
      ctx.fillStyle = '#6b7687'; ctx.font = '13px system-ui, sans-serif';
      ctx.fillText('No computation yet.', 14, 26);
      $('graph-summary').textContent = '';
      return;
    }
    $('graph-summary').textContent = g.mode === 'tasks'
      ? `run #${g.run} · ${fmtInt(g.nodes.length)} tasks · ${fmtInt(g.edges.length)} dependencies`
      : `run #${g.run} · ${fmtInt(g.n_tasks)} tasks in ${g.nodes.length} groups` +
        (g.dependencies_known ? '' : ' · dependencies not reported by this scheduler');
    const maxDepth = Math.max(0, ...g.nodes.map((n) => n.depth));
    const layers = [];
    for (const n of g.nodes) (layers[n.depth] ||= []).push(n);
    const pad = 40;
    const colW = maxDepth > 0 ? (width - 2 * pad) / maxDepth : 0;
    const pos = new Map();
    layers.forEach((layer, d) => {
      if (!layer) return;
      layer.sort((a, b) => (a.group || '').localeCompare(b.group || '') || a.id - b.id);
      const rowH = (height - 2 * pad) / Math.max(1, layer.length);
      layer.forEach((n, i) => pos.set(n.id, { x: maxDepth > 0 ? pad + d * colW : width / 2, y: pad + (i + 0.5) * rowH, rowH }));
    });
    if (g.mode === 'tasks') {
      const densest = Math.max(...layers.filter(Boolean).map((l) => l.length));
      const r = Math.max(1.5, Math.min(7, (height - 2 * pad) / densest / 2.6, colW ? colW / 4 : 7));
      if (g.edges.length <= 30000) {
        ctx.strokeStyle = 'rgba(107, 118, 135, .28)';
        ctx.lineWidth = 0.7;
        ctx.beginPath();
        for (const [a, b] of g.edges) {
          const p = pos.get(a), q = pos.get(b);
          ctx.moveTo(p.x, p.y); ctx.lineTo(q.x, q.y);
        }
        ctx.stroke();
      }
      for (const n of g.nodes) {
        const p = pos.get(n.id);
        const color = groupColor(n.group);
        ctx.fillStyle = n.state === 'memory' ? color : n.state === 'released' ? withAlpha(color, 0.35) : STATE_FILL[n.state];
        ctx.beginPath(); ctx.arc(p.x, p.y, r, 0, 2 * Math.PI); ctx.fill();
        graphNodes.push({ x: p.x, y: p.y, r: Math.max(r, 3), n });
      }
    } else {
      const boxW = Math.min(190, Math.max(110, colW * 0.7 || 190)), boxH = 46;
      ctx.strokeStyle = 'rgba(107, 118, 135, .55)';
      ctx.lineWidth = 1.3;
      for (const [a, b] of g.edges) {
        const p = pos.get(a), q = pos.get(b);
        ctx.beginPath();
        ctx.moveTo(p.x + boxW / 2, p.y);
        const mid = (p.x + q.x) / 2;
        ctx.bezierCurveTo(mid, p.y, mid, q.y, q.x - boxW / 2, q.y);
        ctx.stroke();
      }
      ctx.font = '12px system-ui, sans-serif';
      for (const n of g.nodes) {
        const p = pos.get(n.id);
        const x = Math.max(4, Math.min(width - boxW - 4, p.x - boxW / 2)), y = p.y - boxH / 2;
        const color = groupColor(n.group);
        ctx.fillStyle = '#fff'; ctx.strokeStyle = color; ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.roundRect(x, y, boxW, boxH, 7); ctx.fill(); ctx.stroke();
        ctx.fillStyle = '#1b2330'; ctx.textBaseline = 'top';
        ctx.fillText(n.group.length > 24 ? n.group.slice(0, 23) + '…' : n.group, x + 8, y + 6);
        const total = Math.max(1, n.total), bw = boxW - 16;
        let bx = x + 8;
        const segs = [['released', withAlpha(color, 0.38)], ['memory', color], ['erred', '#dc2626'], ['processing', '#8c97a8']];
        ctx.fillStyle = '#eef1f5'; ctx.fillRect(x + 8, y + 24, bw, 8);
        for (const [s, c] of segs) { const w = (bw * n[s]) / total; ctx.fillStyle = c; ctx.fillRect(bx, y + 24, w, 8); bx += w; }
        ctx.fillStyle = '#6b7687'; ctx.font = '10.5px system-ui, sans-serif';
        ctx.fillText(`${fmtInt(n.memory + n.released)} / ${fmtInt(n.total)}`, x + 8, y + 35);
        ctx.font = '12px system-ui, sans-serif';
        graphNodes.push({ x: x + boxW / 2, y: p.y, r: boxW / 2, n });
      }
    }
  }
  $('graph-canvas').addEventListener('mousemove', (ev) => {
    const rect = ev.currentTarget.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    let best = null, bestD = Infinity;
    for (const gn of graphNodes) {
      const d = Math.hypot(gn.x - x, gn.y - y);
      if (d <= gn.r + 2 && d < bestD) { best = gn; bestD = d; }
    }
    if (!best) return hideTooltip();
    const n = best.n;
    showTooltip(n.key !== undefined
      ? `<div class="tt-key">${esc(n.key)}</div><div>${esc(n.group)} · ${n.state}</div>`
      : `<div class="tt-key">${esc(n.group)}</div><div>${fmtInt(n.memory + n.released)} of ${fmtInt(n.total)} done · ${fmtInt(n.processing)} processing · ${fmtInt(n.erred)} erred</div>`,
    ev.clientX, ev.clientY);
  });
  $('graph-canvas').addEventListener('mouseleave', hideTooltip);

  // ------------------------------------------------------------------------------ profile page
  function renderProfile() {
    const p = state.profile;
    if (!p) return;
    const max = Math.max(1e-12, ...p.groups.map((g) => g.seconds));
    $('profile-bars').innerHTML = p.groups.map((g) =>
      `<div class="profile-row" data-group="${esc(g.name)}"><div class="group-name"><i style="background:${groupColor(g.name)}"></i>${esc(g.name)}</div>` +
      `<div class="bar" style="width:${Math.max(0.5, (100 * g.seconds) / max)}%;background:${groupColor(g.name)}"></div>` +
      `<div class="val">${fmtDuration(g.seconds)}</div></div>`).join('') || '<div class="empty">No tasks have run yet.</div>';
    $('profile-table').querySelector('tbody').innerHTML = p.groups.map((g) =>
      `<tr><td>${esc(g.name)}</td><td class="num">${fmtInt(g.n_finished)}</td><td class="num">${fmtInt(g.n_failed)}</td>` +
      `<td class="num">${fmtDuration(g.seconds)}</td><td class="num">${fmtDuration(g.mean_seconds)}</td>` +
      `<td class="num">${fmtDuration(g.max_seconds)}</td><td class="num">${(100 * g.fraction).toFixed(1)}%</td></tr>`).join('');
  }

  // ------------------------------------------------------------------------------ system page
  function drawLines(canvas, series, opts) {
    const { ctx, width, height } = setupCanvas(canvas, 220);
    const left = 64, right = 10, top = 26, bottom = 24;
    const all = series.flatMap((s) => s.points);
    if (all.length < 2) return;
    const tmin = Math.min(...all.map((p) => p.t)), tmax = Math.max(...all.map((p) => p.t), tmin + 1);
    const ymax = Math.max(opts.minMax || 0, ...all.map((p) => p.v)) * 1.08 || 1;
    const xOf = (t) => left + ((t - tmin) / (tmax - tmin)) * (width - left - right);
    const yOf = (v) => height - bottom - (v / ymax) * (height - top - bottom);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#6b7687';
    ctx.strokeStyle = '#edf0f4';
    const step = niceStep(ymax, 4);
    for (let v = 0; v <= ymax; v += step) {
      const y = yOf(v);
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(width - right, y); ctx.stroke();
      ctx.textBaseline = 'middle';
      ctx.fillText(opts.fmt(v), 6, y);
    }
    ctx.textBaseline = 'top';
    ctx.fillText(`last ${fmtDuration(tmax - tmin)}`, width - right - 90, height - bottom + 6);
    let lx = left;
    for (const s of series) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 1.8;
      ctx.beginPath();
      s.points.forEach((p, i) => { const x = xOf(p.t), y = yOf(p.v); if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
      ctx.stroke();
      ctx.fillStyle = s.color; ctx.fillRect(lx, 8, 10, 3);
      ctx.fillStyle = '#1b2330'; ctx.textBaseline = 'middle'; ctx.fillText(s.name, lx + 14, 10);
      lx += ctx.measureText(s.name).width + 34;
    }
  }
  function renderSystem() {
    const s = state.system;
    if (!s) return;
    const l = s.latest;
    $('sys-cpu').textContent = l.cpu_percent.toFixed(0) + '%';
    $('sys-load').textContent = `load ${l.load.map((x) => x.toFixed(2)).join(' · ')} · ${l.n_cpus} CPUs`;
    $('sys-mem').textContent = fmtBytes(l.memory_used);
    $('sys-mem-sub').textContent = `of ${fmtBytes(l.memory_total)} · ${fmtBytes(l.memory_available)} available`;
    $('sys-rss').textContent = fmtBytes(l.process_rss);
    $('sys-proc').textContent = `${l.process_cpu_percent.toFixed(0)}% CPU · ${l.process_threads} threads`;
    $('sys-live').textContent = fmtBytes(l.live_bytes);
    const h = s.history;
    drawLines($('cpu-chart'), [
      { name: 'host', color: '#3b82f6', points: h.map((x) => ({ t: x.time, v: x.cpu_percent })) },
      { name: 'process', color: '#f59e0b', points: h.map((x) => ({ t: x.time, v: x.process_cpu_percent })) },
    ], { minMax: 100, fmt: (v) => v.toFixed(0) + '%' });
    drawLines($('mem-chart'), [
      { name: 'host used', color: '#3b82f6', points: h.map((x) => ({ t: x.time, v: x.memory_used })) },
      { name: 'process RSS', color: '#10b981', points: h.map((x) => ({ t: x.time, v: x.process_rss })) },
      { name: 'array buffers', color: '#8b5cf6', points: h.map((x) => ({ t: x.time, v: x.live_bytes })) },
    ], { fmt: fmtBytes });
  }

  // ------------------------------------------------------------------------------ pages
  function pageOf(path) {
    const p = path.replace(/^\/+|\/+$/g, '');
    return PAGES.includes(p) ? p : 'status';
  }
  function showPage(page, push) {
    state.page = page;
    for (const p of PAGES) $('page-' + p).hidden = p !== page;
    for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.page === page);
    document.title = (page === 'status' ? '' : page[0].toUpperCase() + page.slice(1) + ' · ') + 'Tessera dashboard';
    if (push) history.pushState({ page }, '', '/' + (page === 'status' ? '' : page));
    hideTooltip();
    state.dirty = true;
    poll(true);
  }
  for (const a of document.querySelectorAll('a[data-page]')) {
    a.addEventListener('click', (ev) => {
      if (ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
      ev.preventDefault();
      showPage(a.dataset.page, true);
    });
  }
  window.addEventListener('popstate', () => showPage(pageOf(location.pathname), false));
  window.addEventListener('resize', () => { state.dirty = true; });

  // The pages that are not pushed by events poll their endpoint while visible.
  let polling = false, lastPoll = 0;
  async function poll(now) {
    const page = state.page;
    const running = state.run && state.run.state === 'running';
    const interval = page === 'system' ? 1000 : running ? 1000 : 3000;
    if (polling || (!now && Date.now() - lastPoll < interval)) return;
    const path = { graph: '/api/v1/graph', profile: '/api/v1/profile', system: '/api/v1/system' }[page];
    if (!path) return;
    polling = true;
    lastPoll = Date.now();
    try {
      const data = await fetchJson(path);
      state[page] = data;
      state.dirty = true;
    } catch (e) {
      setLive(false);
    } finally {
      polling = false;
    }
  }
  setInterval(() => poll(false), 250);

  function frame() {
    if (state.dirty) {
      state.dirty = false;
      renderCards();
      if (state.page === 'status') renderStatus();
      else if (state.page === 'workers') renderWorkers();
      else if (state.page === 'graph') renderGraph();
      else if (state.page === 'profile') renderProfile();
      else if (state.page === 'system') renderSystem();
    }
    requestAnimationFrame(frame);
  }

  // For tests and the console: the state and the task-stream bars as drawn (CSS pixels).
  window.tesseraDashboard = { state, bars: () => streamBars.map((b) => ({ x: b.x + b.w / 2, y: b.y + b.h / 2, key: b.t.key })) };

  showPage(pageOf(location.pathname), false);
  connect();
  requestAnimationFrame(frame);
})();
