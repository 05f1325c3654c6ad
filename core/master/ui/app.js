// Mantle web UI (docs/UI.md). Plain JavaScript, no dependencies. It talks
// only to the master's public APIs: the operator API's SUBSCRIBE event stream
// (RecordIO JSON) for agents, frameworks and tasks, a few operator calls for
// what the stream does not carry (offers, roles, quota, maintenance),
// /master/explain, /metrics, and the agent proxy /agents/<id>/... for
// sandboxes and agents' module metrics.
'use strict';

// ---------------------------------------------------------------------------
// Formatting

const esc = (s) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function fmtBytesMB(mb) {
  if (mb == null || Number.isNaN(mb)) return '–';
  const units = ['MiB', 'GiB', 'TiB', 'PiB'];
  let v = mb, i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 || v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
}
function fmtBytes(b) {
  if (b < 1024) return b + ' B';
  if (b < 1024 * 1024) return (b / 1024).toFixed(1) + ' KiB';
  return fmtBytesMB(b / (1024 * 1024));
}
function fmtNum(v) {
  if (v == null || Number.isNaN(v)) return '–';
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
}
function fmtRes(name, v) {
  return name === 'mem' || name === 'disk' ? fmtBytesMB(v) : fmtNum(v);
}
function fmtDuration(s) {
  s = Math.abs(s);
  if (s < 60) return Math.round(s) + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
function relative(t) {
  const d = Date.now() / 1000 - t;
  if (Math.abs(d) < 5) return 'just now';
  return d > 0 ? fmtDuration(d) + ' ago' : 'in ' + fmtDuration(d);
}
function absolute(t) {
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
// Relative in the text, absolute in the tooltip; refreshed by tickTimes().
function fmtTime(t) {
  if (!t) return '<span class="muted">–</span>';
  return `<time data-t="${t}" title="${absolute(t)}">${relative(t)}</time>`;
}
function tickTimes() {
  for (const el of document.querySelectorAll('time[data-t]')) el.textContent = relative(Number(el.dataset.t));
}
const nanosToSeconds = (ts) => (ts && ts.nanoseconds != null ? Number(ts.nanoseconds) / 1e9 : 0);

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED',
  'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);
const TASK_STATES = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_FAILED',
  'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN'];
function stateClass(state) {
  if (state === 'TASK_RUNNING' || state === 'TASK_FINISHED' || state === 'active') return 's-ok';
  if (['TASK_FAILED', 'TASK_ERROR', 'TASK_LOST', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'gone', 'TASK_DROPPED'].includes(state)) return 's-bad';
  if (['TASK_KILLED', 'TASK_FINISHED', 'removed', 'inactive'].includes(state)) return 's-idle';
  return 's-warn';
}
const pill = (text, cls) => `<span class="pill ${cls || stateClass(text)}">${esc(text)}</span>`;
const shortState = (s) => String(s || '').replace(/^TASK_/, '');

// Sums of scalar resources by name; `filter` picks resources.
function sumResources(list, into = {}, filter) {
  for (const r of list || []) {
    if (r.type && r.type !== 'SCALAR') continue;
    if (!r.scalar) continue;
    if (filter && !filter(r)) continue;
    into[r.name] = (into[r.name] || 0) + Number(r.scalar.value || 0);
  }
  return into;
}
const isReserved = (r) => (r.reservations && r.reservations.length > 0) || (r.role && r.role !== '*');
const labelsOf = (task) => (task.labels && task.labels.labels) || [];
function roleOfTask(task) {
  for (const r of task.resources || []) {
    if (r.allocation_info && r.allocation_info.role) return r.allocation_info.role;
  }
  return '';
}

// ---------------------------------------------------------------------------
// Talking to the master

const auth = {
  header() {
    const raw = sessionStorage.getItem('mantle.auth');
    return raw ? { Authorization: raw } : {};
  },
  set(value) { sessionStorage.setItem('mantle.auth', value); },
  waiting: null,
  // Shows the sign-in dialog; resolves when the user submitted it.
  ask(why) {
    if (!this.waiting) {
      this.waiting = new Promise((resolve) => {
        const dialog = document.getElementById('login');
        document.getElementById('login-why').textContent = why;
        const form = document.getElementById('login-form');
        form.onsubmit = () => {
          const f = new FormData(form);
          const token = String(f.get('token') || '').trim();
          this.set(token ? 'Bearer ' + token : 'Basic ' + btoa(`${f.get('user')}:${f.get('pass')}`));
          this.waiting = null;
          resolve();
        };
        if (!dialog.open) dialog.showModal();
      });
    }
    return this.waiting;
  },
};

class HttpError extends Error {
  constructor(status, text) {
    super(`${status}: ${text}`);
    this.status = status;
  }
}

// The master at this page's origin is a standby: go to the leader. The
// standby's /redirect answers with the leader's address; the page's route
// (the fragment) survives the redirect.
function followLeader() {
  setConnection('connecting', 'this master is not the leader: following the redirect');
  setTimeout(() => location.assign('/redirect' + location.hash), 500);
}

async function request(path, init = {}) {
  for (;;) {
    const response = await fetch(path, {
      ...init,
      redirect: 'manual',
      // No browser credentials: a 401 comes back to this code (no native
      // prompt), and the Authorization header below is the only one sent.
      credentials: 'omit',
      headers: { ...(init.headers || {}), ...auth.header() },
      signal: init.signal,
    });
    if (response.type === 'opaqueredirect') {
      followLeader();
      throw new HttpError(307, 'redirected to the leading master');
    }
    if (response.status === 401) {
      await auth.ask('The master answered 401: give credentials (they are sent with every call).');
      continue;
    }
    if (!response.ok && !init.stream) throw new HttpError(response.status, await response.text());
    return response;
  }
}
async function operatorCall(type, fields = {}) {
  const body = JSON.stringify({ type, ...fields });
  const response = await request('/api/v1', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body,
  });
  return response.json();
}
const getJson = async (path) => (await request(path)).json();
const getText = async (path) => (await request(path)).text();

// ---------------------------------------------------------------------------
// The cluster as the event stream tells it

const S = {
  agents: new Map(), // id -> {info, state, total, offered, allocated, registered, version}
  frameworks: new Map(), // id -> {info, active, connected, registered, removed}
  tasks: new Map(), // "framework/task" -> Task (mesos.v1.Task JSON) + _role
  roles: [], quota: new Map(), maintenance: { windows: [], draining: [], down: [] },
  series: [], // {t, total, used, offered, reserved} each {name: value}
  master: null, heartbeat: 15, version: 0,
};
const taskKey = (fid, tid) => fid + '/' + tid;

function agentState(a) {
  if (a.removed) return 'gone';
  const drain = a.drain_info && a.drain_info.state;
  if (drain === 'DRAINING') return 'draining';
  if (drain === 'DRAINED') return 'drained';
  if (a.deactivated) return 'deactivated';
  return a.active === false ? 'inactive' : 'active';
}
function putAgent(a) {
  const id = a.agent_info.id.value;
  const old = S.agents.get(id);
  S.agents.set(id, {
    id, info: a.agent_info, raw: a, state: agentState(a),
    total: sumResources(a.total_resources || a.agent_info.resources),
    reserved: sumResources(a.total_resources || a.agent_info.resources, {}, isReserved),
    offered: sumResources(a.offered_resources),
    registered: nanosToSeconds(a.registered_time) || (old && old.registered) || 0,
    version: a.version || '',
  });
}
function putFramework(f, removed) {
  const info = f.framework_info;
  S.frameworks.set(info.id.value, {
    id: info.id.value, info, removed, active: !removed && f.active !== false, connected: f.connected !== false,
    registered: nanosToSeconds(f.registered_time), unregistered: nanosToSeconds(f.unregistered_time),
  });
}
// Ended tasks kept beyond those of the latest SUBSCRIBED (a long-open page
// sees many); the oldest go first.
const MAX_ENDED_TASKS = 20000;
let endedTasks = 0;
function putTask(t) {
  t._role = roleOfTask(t);
  t._res = sumResources(t.resources);
  t.statuses = t.statuses || [];
  S.tasks.set(taskKey(t.framework_id.value, t.task_id.value), t);
}
function forgetOldEndedTasks() {
  if (++endedTasks <= MAX_ENDED_TASKS) return;
  for (const [key, t] of S.tasks) {
    if (TERMINAL.has(t.state)) { S.tasks.delete(key); endedTasks--; break; }
  }
}
function loadState(gs) {
  S.agents.clear(); S.frameworks.clear(); S.tasks.clear();
  endedTasks = 0;
  for (const a of (gs.get_agents && gs.get_agents.agents) || []) putAgent(a);
  for (const info of (gs.get_agents && gs.get_agents.recovered_agents) || []) {
    putAgent({ agent_info: info, active: false });
  }
  const fw = gs.get_frameworks || {};
  for (const f of fw.frameworks || []) putFramework(f, false);
  for (const f of fw.completed_frameworks || []) putFramework(f, true);
  const tasks = gs.get_tasks || {};
  for (const kind of ['pending_tasks', 'tasks', 'unreachable_tasks', 'completed_tasks', 'orphan_tasks']) {
    for (const t of tasks[kind] || []) putTask(t);
  }
  for (const t of S.tasks.values()) if (TERMINAL.has(t.state)) endedTasks++;
}
function applyEvent(e) {
  switch (e.type) {
    case 'SUBSCRIBED':
      S.heartbeat = (e.subscribed && e.subscribed.heartbeat_interval_seconds) || 15;
      loadState((e.subscribed && e.subscribed.get_state) || {});
      break;
    case 'TASK_ADDED': putTask(e.task_added.task); break;
    case 'TASK_UPDATED': {
      const u = e.task_updated;
      const t = S.tasks.get(taskKey(u.framework_id.value, u.status.task_id.value));
      if (t) {
        if (TERMINAL.has(u.state) && !TERMINAL.has(t.state)) forgetOldEndedTasks();
        t.state = u.state;
        t.statuses.push(u.status);
      }
      break;
    }
    case 'FRAMEWORK_ADDED': putFramework(e.framework_added.framework, false); break;
    case 'FRAMEWORK_UPDATED': putFramework(e.framework_updated.framework, false); break;
    case 'FRAMEWORK_REMOVED': {
      const info = e.framework_removed.framework_info;
      const f = S.frameworks.get(info.id.value);
      if (f) { f.removed = true; f.active = false; f.unregistered = Date.now() / 1000; } else putFramework({ framework_info: info }, true);
      break;
    }
    case 'AGENT_ADDED': putAgent(e.agent_added.agent); break;
    case 'AGENT_REMOVED': {
      const a = S.agents.get(e.agent_removed.agent_id.value);
      if (a) { a.state = 'gone'; a.offered = {}; }
      break;
    }
    default: return; // HEARTBEAT and events this page does not show
  }
  S.version++;
  scheduleRender();
}

// Resources used by tasks that have not ended, per agent and in total.
function usage() {
  const perAgent = new Map();
  const total = {};
  for (const t of S.tasks.values()) {
    if (TERMINAL.has(t.state) || t.state === 'TASK_UNREACHABLE') continue;
    const id = t.agent_id && t.agent_id.value;
    if (!perAgent.has(id)) perAgent.set(id, {});
    sumResources(t.resources, perAgent.get(id));
    sumResources(t.resources, total);
  }
  return { perAgent, total };
}
function totals() {
  const total = {}, offered = {}, reserved = {};
  for (const a of S.agents.values()) {
    if (a.state === 'gone') continue;
    for (const [k, v] of Object.entries(a.total)) total[k] = (total[k] || 0) + v;
    for (const [k, v] of Object.entries(a.offered)) offered[k] = (offered[k] || 0) + v;
    for (const [k, v] of Object.entries(a.reserved)) reserved[k] = (reserved[k] || 0) + v;
  }
  return { total, offered, reserved, used: usage().total };
}
function sample() {
  if (!live.connected) return;
  S.series.push({ t: Date.now() / 1000, ...totals() });
  if (S.series.length > 360) S.series.shift();
  if (route().view === 'overview') scheduleRender();
}

// What the stream does not carry, asked for every 10 s: offers and
// drain states (GET_AGENTS), roles and quota, maintenance.
async function refreshExtras() {
  if (!live.connected) return;
  try {
    const [agents, roles, quota, schedule, status] = await Promise.all([
      operatorCall('GET_AGENTS'), operatorCall('GET_ROLES'), operatorCall('GET_QUOTA'),
      operatorCall('GET_MAINTENANCE_SCHEDULE'), operatorCall('GET_MAINTENANCE_STATUS')]);
    for (const a of (agents.get_agents && agents.get_agents.agents) || []) putAgent(a);
    S.roles = (roles.get_roles && roles.get_roles.roles) || [];
    S.quota = new Map();
    const configs = (quota.get_quota && quota.get_quota.status && quota.get_quota.status.configs) || [];
    for (const c of configs) S.quota.set(c.role, c);
    S.maintenance.windows = (schedule.get_maintenance_schedule && schedule.get_maintenance_schedule.schedule &&
      schedule.get_maintenance_schedule.schedule.windows) || [];
    const st = (status.get_maintenance_status && status.get_maintenance_status.status) || {};
    S.maintenance.draining = st.draining_machines || [];
    S.maintenance.down = st.down_machines || [];
    S.version++;
    scheduleRender();
  } catch (e) {
    // The stream's state says whether the master is there.
  }
}

// The SUBSCRIBE stream: RecordIO ("<length>\n<JSON>") over a fetch body.
const live = { connected: false, since: 0, attempt: 0, controller: null };
function setConnection(kind, text) {
  const el = document.getElementById('connection');
  el.className = 'conn conn-' + kind;
  el.textContent = text;
  el.title = text;
}
async function subscribeOnce() {
  const controller = new AbortController();
  live.controller = controller;
  const response = await request('/api/v1', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
    signal: controller.signal,
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  // Chunks are kept as they come and joined only when a whole record is
  // there: a large SUBSCRIBED event arrives in many chunks.
  let chunks = [], buffered = 0, need = 0;
  let lastData = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastData > (S.heartbeat * 2 + 5) * 1000) controller.abort();
  }, 1000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      lastData = Date.now();
      chunks.push(value);
      buffered += value.length;
      if (buffered < need) continue;
      let buffer = chunks.length === 1 ? chunks[0] : new Uint8Array(buffered);
      if (chunks.length > 1) {
        let at = 0;
        for (const c of chunks) { buffer.set(c, at); at += c.length; }
      }
      let start = 0;
      need = 0;
      for (;;) {
        const nl = buffer.indexOf(10, start);
        if (nl < 0) break;
        const length = Number(decoder.decode(buffer.subarray(start, nl)));
        if (buffer.length < nl + 1 + length) { need = nl + 1 + length - start; break; }
        const event = JSON.parse(decoder.decode(buffer.subarray(nl + 1, nl + 1 + length)));
        start = nl + 1 + length;
        if (event.type === 'SUBSCRIBED') {
          performance.mark('mantle-subscribed');
          live.connected = true;
          live.attempt = 0;
          live.since = Date.now() / 1000;
          setConnection('live', 'live · ' + location.host);
          applyEvent(event);
          sample();
          refreshExtras();
        } else {
          applyEvent(event);
        }
      }
      const rest = start > 0 ? buffer.slice(start) : buffer;
      chunks = rest.length ? [rest] : [];
      buffered = rest.length;
    }
  } finally {
    clearInterval(watchdog);
  }
}
async function streamLoop() {
  for (;;) {
    try {
      await subscribeOnce();
      setConnection('down', 'the event stream ended; reconnecting');
    } catch (e) {
      if (e.status === 307) return; // navigating to the leader
      setConnection('down', (e.status ? e.message : 'master unreachable') + '; reconnecting');
    }
    live.connected = false;
    live.attempt++;
    scheduleRender();
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * live.attempt)));
    setConnection('connecting', 'reconnecting to ' + location.host + '…');
  }
}

// ---------------------------------------------------------------------------
// Tables: sortable columns, a bounded number of rows

const tableState = {}; // id -> {key, dir, limit}
function table(id, columns, rows, { defaultKey, defaultDir = 1, limit = 200, empty = 'Nothing here.' } = {}) {
  const st = (tableState[id] = tableState[id] || { key: defaultKey || columns[0].key, dir: defaultDir, limit });
  const col = columns.find((c) => c.key === st.key) || columns[0];
  const value = col.sort || col.value || ((r) => r[col.key]);
  const sorted = rows
    .map((r) => [value(r), r])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) * st.dir)
    .map((p) => p[1]);
  const shown = sorted.slice(0, st.limit);
  let html = `<table data-table="${id}"><colgroup>${columns.map((c) => `<col${c.width ? ` class="w-${c.width}"` : ''}>`).join('')}</colgroup><thead><tr>`;
  for (const c of columns) {
    const cls = [c.num ? 'num' : '', c.key === st.key ? (st.dir > 0 ? 'asc' : 'desc') : ''].join(' ');
    html += c.label ? `<th data-sort="${c.key}" class="${cls}">${esc(c.label)}</th>` : '<th></th>';
  }
  html += '</tr></thead><tbody>';
  for (const r of shown) {
    html += '<tr>' + columns.map((c) => {
      if (c.html) return `<td${c.num ? ' class="num"' : ''}>${c.html(r)}</td>`;
      const text = esc(c.value ? c.value(r) : r[c.key]);
      return `<td${c.num ? ' class="num"' : ''} title="${text}">${text}</td>`;
    }).join('') + '</tr>';
  }
  if (shown.length === 0) html += `<tr><td colspan="${columns.length}" class="muted">${esc(empty)}</td></tr>`;
  html += '</tbody></table>';
  if (sorted.length > shown.length) {
    html += `<p class="muted small">Showing ${shown.length} of ${sorted.length}. <button data-more="${id}">Show ${Math.min(500, sorted.length - shown.length)} more</button></p>`;
  }
  return html;
}
document.addEventListener('click', (e) => {
  const th = e.target.closest('th[data-sort]');
  if (th) {
    const id = th.closest('table').dataset.table;
    const st = tableState[id];
    if (st.key === th.dataset.sort) st.dir = -st.dir; else { st.key = th.dataset.sort; st.dir = 1; }
    render();
    return;
  }
  const more = e.target.closest('button[data-more]');
  if (more) { tableState[more.dataset.more].limit += 500; render(); }
});

// ---------------------------------------------------------------------------
// Charts (inline SVG; fixed height so nothing jumps)

function chart(name) {
  const w = 300, h = 100;
  const series = S.series;
  if (series.length < 2) {
    return `<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none"><text x="8" y="54" font-size="11" fill="#8a94a6">collecting samples…</text></svg>`;
  }
  const t0 = series[0].t, t1 = series[series.length - 1].t;
  const max = Math.max(1e-9, ...series.map((p) => p.total[name] || 0));
  const x = (p) => ((p.t - t0) / Math.max(1, t1 - t0)) * w;
  const y = (v) => h - 4 - ((v || 0) / max) * (h - 10);
  const line = (key) => series.map((p, i) => `${i ? 'L' : 'M'}${x(p).toFixed(1)},${y(p[key][name]).toFixed(1)}`).join('');
  const area = (key) => `${line(key)}L${w},${h}L0,${h}Z`;
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none">
    <path d="${area('used')}" fill="#2458c6" fill-opacity="0.25" stroke="#2458c6" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
    <path d="${line('offered')}" fill="none" stroke="#38a169" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
    <path d="${line('reserved')}" fill="none" stroke="#b7791f" stroke-dasharray="4 3" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
    <path d="${line('total')}" fill="none" stroke="#1c2330" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
  </svg>`;
}
function bar(used, total) {
  const f = total > 0 ? Math.min(1, used / total) : 0;
  return `<div class="bar"><svg viewBox="0 0 100 6" preserveAspectRatio="none"><rect width="${(f * 100).toFixed(1)}" height="6" fill="#2458c6"/></svg></div>`;
}

// ---------------------------------------------------------------------------
// Routing: #/view/arg/arg?key=value

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'overview', args: parts.slice(1), params: new URLSearchParams(query || '') };
}
function setParams(params) {
  const r = route();
  const q = new URLSearchParams(r.params);
  for (const [k, v] of Object.entries(params)) { if (v) q.set(k, v); else q.delete(k); }
  const path = [r.view, ...r.args].map(encodeURIComponent).join('/');
  history.replaceState(null, '', '#/' + path + (q.toString() ? '?' + q : ''));
  render();
}
const frameworkName = (id) => (S.frameworks.get(id) ? S.frameworks.get(id).info.name : id);
const agentName = (id) => (S.agents.get(id) ? S.agents.get(id).info.hostname : id);
const taskLink = (t) => `<a href="#/task/${encodeURIComponent(t.framework_id.value)}/${encodeURIComponent(t.task_id.value)}">${esc(t.task_id.value)}</a>`;
const frameworkLink = (id) => `<a href="#/tasks?framework=${encodeURIComponent(id)}">${esc(frameworkName(id))}</a>`;
const agentLink = (id) => (id ? `<a href="#/agent/${encodeURIComponent(id)}">${esc(agentName(id))}</a>` : '<span class="muted">–</span>');

// ---------------------------------------------------------------------------
// Views. Each is {render(route) -> html, toolbar?(route) -> html}: the toolbar
// (inputs) is drawn when the route changes only, so typing is never lost.

const RESOURCE_NAMES = ['cpus', 'mem', 'disk', 'gpus'];

const views = {};

views.overview = {
  render() {
    const { total, offered, reserved, used } = totals();
    const agentStates = {};
    for (const a of S.agents.values()) agentStates[a.state] = (agentStates[a.state] || 0) + 1;
    const taskStates = {};
    for (const t of S.tasks.values()) taskStates[t.state] = (taskStates[t.state] || 0) + 1;
    const fw = [...S.frameworks.values()];
    let html = '<h1>Cluster</h1><div class="grid">';
    html += `<div class="card"><h3>Agents</h3><div class="big">${S.agents.size}</div><div class="pills">${
      ['active', 'draining', 'drained', 'deactivated', 'inactive', 'gone']
        .filter((s) => agentStates[s]).map((s) => `<a href="#/agents?state=${s}">${pill(`${agentStates[s]} ${s}`, stateClass(s))}</a>`).join('') ||
      '<span class="muted">none registered</span>'}</div></div>`;
    html += `<div class="card"><h3>Frameworks</h3><div class="big">${fw.filter((f) => !f.removed).length}</div><div class="pills">${
      pill(fw.filter((f) => f.active && !f.removed).length + ' active', 's-ok')} ${pill(fw.filter((f) => !f.active && !f.removed).length + ' inactive', 's-warn')} ${
      pill(fw.filter((f) => f.removed).length + ' completed', 's-idle')}</div></div>`;
    html += `<div class="card"><h3>Tasks</h3><div class="big">${[...S.tasks.values()].filter((t) => !TERMINAL.has(t.state)).length}</div><div class="pills">${
      TASK_STATES.filter((s) => taskStates[s]).map((s) => `<a href="#/tasks?state=${s}">${pill(`${taskStates[s]} ${shortState(s).toLowerCase()}`, stateClass(s))}</a>`).join('')}</div></div>`;
    html += '</div><h2>Resources</h2><div class="grid">';
    for (const name of RESOURCE_NAMES) {
      if (!total[name] && name === 'gpus') continue;
      html += `<div class="card"><h3>${name}</h3>${chart(name)}
        <div class="legend"><span><i class="i-used"></i>used ${fmtRes(name, used[name] || 0)}</span><span><i class="i-offered"></i>offered ${fmtRes(name, offered[name] || 0)}</span>
        <span><i class="i-reserved"></i>reserved ${fmtRes(name, reserved[name] || 0)}</span><span><i class="i-total"></i>total ${fmtRes(name, total[name] || 0)}</span></div></div>`;
    }
    html += '</div><h2>Roles</h2>';
    const roles = S.roles.map((r) => {
      const q = S.quota.get(r.name) || {};
      const quota = (m) => Object.entries(m || {}).map(([k, v]) => `${k} ${fmtRes(k, v.value)}`).join(', ') || '–';
      return { name: r.name, weight: r.weight ?? 1, frameworks: (r.frameworks || []).length,
        consumed: sumResources(r.resources), guarantee: quota(q.guarantees), limit: quota(q.limits) };
    });
    html += table('roles', [
      { key: 'name', label: 'Role', value: (r) => r.name, html: (r) => `<a href="#/explain?role=${encodeURIComponent(r.name)}">${esc(r.name)}</a>` },
      { key: 'weight', label: 'Weight', num: true, value: (r) => r.weight },
      { key: 'frameworks', label: 'Frameworks', num: true, value: (r) => r.frameworks },
      { key: 'guarantee', label: 'Quota guarantee', value: (r) => r.guarantee },
      { key: 'limit', label: 'Quota limit', value: (r) => r.limit },
      { key: 'consumed', label: 'Consumed', sort: (r) => r.consumed.cpus || 0,
        html: (r) => esc(Object.entries(r.consumed).map(([k, v]) => `${k} ${fmtRes(k, v)}`).join(', ') || '–') },
    ], roles, { empty: 'No roles with frameworks, weights or quota.' });
    html += '<h2>Maintenance</h2>';
    const windows = S.maintenance.windows.flatMap((w) => (w.machine_ids || []).map((m) => ({
      machine: m.hostname || m.ip, start: nanosToSeconds(w.unavailability && w.unavailability.start),
      duration: w.unavailability && w.unavailability.duration ? nanosToSeconds(w.unavailability.duration) : 0,
      mode: S.maintenance.down.some((d) => (d.hostname || d.ip) === (m.hostname || m.ip)) ? 'down'
        : S.maintenance.draining.some((d) => (d.id.hostname || d.id.ip) === (m.hostname || m.ip)) ? 'draining' : 'scheduled',
    })));
    html += table('maintenance', [
      { key: 'machine', label: 'Machine', value: (w) => w.machine },
      { key: 'mode', label: 'Mode', value: (w) => w.mode, html: (w) => pill(w.mode, w.mode === 'down' ? 's-bad' : 's-warn') },
      { key: 'start', label: 'Unavailable from', value: (w) => w.start, html: (w) => fmtTime(w.start) },
      { key: 'duration', label: 'For', value: (w) => w.duration, html: (w) => (w.duration ? fmtDuration(w.duration) : 'open-ended') },
    ], windows, { empty: 'No maintenance scheduled.' });
    return html;
  },
};

views.frameworks = {
  render() {
    const perFramework = new Map();
    for (const t of S.tasks.values()) {
      const id = t.framework_id.value;
      const c = perFramework.get(id) || { active: 0, done: 0, used: {} };
      if (TERMINAL.has(t.state)) c.done++; else { c.active++; sumResources(t.resources, c.used); }
      perFramework.set(id, c);
    }
    const rows = [...S.frameworks.values()].map((f) => ({ ...f, counts: perFramework.get(f.id) || { active: 0, done: 0, used: {} } }));
    return '<h1>Frameworks</h1>' + table('frameworks', [
      { key: 'name', label: 'Name', value: (f) => f.info.name, html: (f) => frameworkLink(f.id) },
      { key: 'id', label: 'ID', width: 'wide', value: (f) => f.id },
      { key: 'state', label: 'State', value: (f) => (f.removed ? 'completed' : f.active ? 'active' : 'inactive'),
        html: (f) => pill(f.removed ? 'completed' : f.active ? 'active' : 'inactive', f.removed ? 's-idle' : f.active ? 's-ok' : 's-warn') },
      { key: 'roles', label: 'Roles', value: (f) => (f.info.roles || [f.info.role || '*']).join(', ') },
      { key: 'principal', label: 'Principal', value: (f) => f.info.principal || '' },
      { key: 'active', label: 'Active tasks', num: true, value: (f) => f.counts.active },
      { key: 'done', label: 'Ended tasks', num: true, value: (f) => f.counts.done },
      { key: 'cpus', label: 'CPUs', num: true, value: (f) => f.counts.used.cpus || 0, html: (f) => fmtNum(f.counts.used.cpus || 0) },
      { key: 'mem', label: 'Memory', num: true, value: (f) => f.counts.used.mem || 0, html: (f) => fmtBytesMB(f.counts.used.mem || 0) },
      { key: 'registered', label: 'Registered', value: (f) => f.registered, html: (f) => fmtTime(f.registered) },
      { key: 'why', label: '', width: 'narrow', value: () => 0, html: (f) => (f.removed ? '' : `<a href="#/explain?framework=${encodeURIComponent(f.id)}">why no offers?</a>`) },
    ], rows, { defaultKey: 'registered', defaultDir: -1, empty: 'No frameworks.' });
  },
};

function filteredTasks(p) {
  const state = p.get('state') || '', framework = p.get('framework') || '', agent = (p.get('agent') || '').toLowerCase();
  const role = p.get('role') || '', label = p.get('label') || '', q = (p.get('q') || '').toLowerCase();
  const [labelKey, labelValue] = label.split('=');
  return [...S.tasks.values()].filter((t) => {
    if (state === 'active' && TERMINAL.has(t.state)) return false;
    if (state === 'completed' && !TERMINAL.has(t.state)) return false;
    if (state.startsWith('TASK_') && t.state !== state) return false;
    if (framework && t.framework_id.value !== framework) return false;
    if (role && t._role !== role) return false;
    if (agent) {
      const id = t.agent_id ? t.agent_id.value : '';
      if (!id.toLowerCase().includes(agent) && !String(agentName(id)).toLowerCase().includes(agent)) return false;
    }
    if (labelKey && !labelsOf(t).some((l) => l.key === labelKey && (labelValue === undefined || l.value === labelValue))) return false;
    if (q && !t.task_id.value.toLowerCase().includes(q) && !String(t.name || '').toLowerCase().includes(q)) return false;
    return true;
  });
}
const lastStatusTime = (t) => (t.statuses.length ? t.statuses[t.statuses.length - 1].timestamp : 0);
function healthOf(t) {
  const last = t.statuses.length ? t.statuses[t.statuses.length - 1] : null;
  if (!last || last.healthy === undefined) return '';
  return last.healthy ? 'healthy' : 'unhealthy';
}

views.tasks = {
  toolbar(r) {
    const p = r.params;
    const opt = (value, text, current) => `<option value="${esc(value)}"${value === current ? ' selected' : ''}>${esc(text)}</option>`;
    const roles = [...new Set([...S.tasks.values()].map((t) => t._role).filter(Boolean))].sort();
    return `<h1>Tasks</h1><div class="toolbar" data-filters>
      <input type="search" name="q" placeholder="search id or name" value="${esc(p.get('q') || '')}">
      <select name="state">${opt('', 'all states', p.get('state') || '')}${opt('active', 'not ended', p.get('state'))}${opt('completed', 'ended', p.get('state'))}
        ${TASK_STATES.map((s) => opt(s, shortState(s).toLowerCase(), p.get('state'))).join('')}</select>
      <select name="framework">${opt('', 'all frameworks', p.get('framework') || '')}${[...S.frameworks.values()].map((f) => opt(f.id, f.info.name + ' (' + f.id.slice(-8) + ')', p.get('framework'))).join('')}</select>
      <select name="role">${opt('', 'all roles', p.get('role') || '')}${roles.map((x) => opt(x, x, p.get('role'))).join('')}</select>
      <input type="search" name="agent" placeholder="agent id or host" value="${esc(p.get('agent') || '')}">
      <input type="search" name="label" placeholder="label key=value" value="${esc(p.get('label') || '')}">
      <span class="count" data-part="count"></span></div>`;
  },
  render(r) {
    const rows = filteredTasks(r.params);
    const count = document.querySelector('[data-part=count]');
    if (count) count.textContent = `${rows.length} of ${S.tasks.size} tasks`;
    return table('tasks', [
      { key: 'id', label: 'ID', width: 'wide', value: (t) => t.task_id.value, html: taskLink },
      { key: 'name', label: 'Name', value: (t) => t.name || '' },
      { key: 'state', label: 'State', value: (t) => t.state, html: (t) => pill(shortState(t.state), stateClass(t.state)) + (healthOf(t) ? ' ' + pill(healthOf(t), healthOf(t) === 'healthy' ? 's-ok' : 's-bad') : '') },
      { key: 'framework', label: 'Framework', value: (t) => frameworkName(t.framework_id.value), html: (t) => frameworkLink(t.framework_id.value) },
      { key: 'agent', label: 'Agent', value: (t) => (t.agent_id ? agentName(t.agent_id.value) : ''), html: (t) => agentLink(t.agent_id && t.agent_id.value) },
      { key: 'role', label: 'Role', value: (t) => t._role },
      { key: 'cpus', label: 'CPUs', num: true, value: (t) => t._res.cpus || 0, html: (t) => fmtNum(t._res.cpus || 0) },
      { key: 'mem', label: 'Memory', num: true, value: (t) => t._res.mem || 0, html: (t) => fmtBytesMB(t._res.mem || 0) },
      { key: 'updated', label: 'Updated', value: lastStatusTime, html: (t) => fmtTime(lastStatusTime(t)) },
      { key: 'sandbox', label: '', width: 'narrow', value: () => 0, html: (t) => (t.agent_id ? `<a href="#/sandbox/${encodeURIComponent(t.agent_id.value)}/${encodeURIComponent(t.framework_id.value)}/${encodeURIComponent(t.task_id.value)}">sandbox</a>` : '') },
    ], rows, { defaultKey: 'updated', defaultDir: -1, empty: 'No task matches.' });
  },
};
document.addEventListener('input', (e) => {
  const bar = e.target.closest('[data-filters]');
  if (bar && e.target.name) setParams({ [e.target.name]: e.target.value });
});

views.task = {
  render(r) {
    const [fid, tid] = r.args;
    const t = S.tasks.get(taskKey(fid, tid));
    if (!t) return `<h1>Task ${esc(tid)}</h1><p class="notice">The master does not know this task (yet): it appears here as soon as it is launched.</p>`;
    const agentId = t.agent_id && t.agent_id.value;
    const res = t._res;
    const hc = t.health_check;
    let html = `<h1>Task ${esc(t.task_id.value)} ${pill(shortState(t.state), stateClass(t.state))}</h1><div class="card"><dl class="kv">
      <dt>Name</dt><dd>${esc(t.name)}</dd>
      <dt>Framework</dt><dd>${frameworkLink(fid)} <span class="muted">${esc(fid)}</span></dd>
      <dt>Agent</dt><dd>${agentLink(agentId)} <span class="muted">${esc(agentId)}</span></dd>
      <dt>Role</dt><dd>${esc(t._role || '–')}</dd>
      <dt>Executor</dt><dd>${esc((t.executor_id && t.executor_id.value) || 'command executor')}</dd>
      <dt>Resources</dt><dd>${esc(Object.entries(res).map(([k, v]) => `${k} ${fmtRes(k, v)}`).join(', '))}</dd>
      <dt>Labels</dt><dd>${labelsOf(t).map((l) => pill(`${l.key}=${l.value ?? ''}`, 's-idle')).join(' ') || '–'}</dd>
      <dt>Health</dt><dd>${healthOf(t) ? pill(healthOf(t), healthOf(t) === 'healthy' ? 's-ok' : 's-bad') : ''} ${hc ? esc(`${(hc.type || '').toLowerCase()} check every ${hc.interval_seconds ?? 10} s`) : 'no health check'}</dd>
      <dt>Sandbox</dt><dd>${agentId ? `<a href="#/sandbox/${encodeURIComponent(agentId)}/${encodeURIComponent(fid)}/${encodeURIComponent(tid)}">browse files, tail stdout and stderr</a>` : '–'}</dd>
      </dl></div><h2>Status history</h2>`;
    html += table('statuses', [
      { key: 'timestamp', label: 'Time', value: (s) => s.timestamp || 0, html: (s) => fmtTime(s.timestamp) },
      { key: 'state', label: 'State', value: (s) => s.state, html: (s) => pill(shortState(s.state), stateClass(s.state)) },
      { key: 'reason', label: 'Reason', value: (s) => (s.reason || '').replace(/^REASON_/, '') },
      { key: 'source', label: 'Source', value: (s) => (s.source || '').replace(/^SOURCE_/, '').toLowerCase() },
      { key: 'healthy', label: 'Health', value: (s) => (s.healthy === undefined ? '' : s.healthy ? 'healthy' : 'unhealthy') },
      { key: 'message', label: 'Message', value: (s) => s.message || '' },
    ], t.statuses, { defaultKey: 'timestamp', empty: 'No status update yet.' });
    return html;
  },
};

views.agents = {
  toolbar(r) {
    return `<h1>Agents</h1><div class="toolbar" data-filters><input type="search" name="q" placeholder="search id or host" value="${esc(r.params.get('q') || '')}">
      <select name="state">${['', 'active', 'draining', 'drained', 'deactivated', 'inactive', 'gone'].map((s) => `<option value="${s}"${s === (r.params.get('state') || '') ? ' selected' : ''}>${s || 'all states'}</option>`).join('')}</select>
      <span class="count" data-part="count"></span></div>`;
  },
  render(r) {
    const { perAgent } = usage();
    const q = (r.params.get('q') || '').toLowerCase(), state = r.params.get('state') || '';
    const rows = [...S.agents.values()].filter((a) => (!state || a.state === state) &&
      (!q || a.id.toLowerCase().includes(q) || a.info.hostname.toLowerCase().includes(q)));
    const count = document.querySelector('[data-part=count]');
    if (count) count.textContent = `${rows.length} of ${S.agents.size} agents`;
    const used = (a, n) => (perAgent.get(a.id) || {})[n] || 0;
    const resCol = (n, label) => ({ key: n, label, num: true, value: (a) => used(a, n) / (a.total[n] || 1),
      html: (a) => `${fmtRes(n, used(a, n))} / ${fmtRes(n, a.total[n] || 0)}${bar(used(a, n), a.total[n] || 0)}` });
    return table('agents', [
      { key: 'host', label: 'Host', value: (a) => a.info.hostname, html: (a) => agentLink(a.id) },
      { key: 'id', label: 'ID', width: 'wide', value: (a) => a.id },
      { key: 'state', label: 'State', value: (a) => a.state, html: (a) => pill(a.state) },
      resCol('cpus', 'CPUs used'), resCol('mem', 'Memory used'), resCol('disk', 'Disk used'),
      { key: 'tasks', label: 'Tasks', num: true, value: (a) => countTasks(a.id) },
      { key: 'registered', label: 'Registered', value: (a) => a.registered, html: (a) => fmtTime(a.registered) },
    ], rows, { defaultKey: 'host', empty: 'No agents.' });
  },
};
let taskCountCache = { version: -1, counts: new Map() };
function countTasks(agentId) {
  if (taskCountCache.version !== S.version) {
    const counts = new Map();
    for (const t of S.tasks.values()) {
      if (TERMINAL.has(t.state) || !t.agent_id) continue;
      counts.set(t.agent_id.value, (counts.get(t.agent_id.value) || 0) + 1);
    }
    taskCountCache = { version: S.version, counts };
  }
  return taskCountCache.counts.get(agentId) || 0;
}

function attributeText(a) {
  if (a.text) return a.text.value;
  if (a.scalar) return String(a.scalar.value);
  if (a.ranges) return a.ranges.range.map((x) => `${x.begin}-${x.end}`).join(',');
  if (a.set) return a.set.item.join(',');
  return '';
}
views.agent = {
  render(r) {
    const a = S.agents.get(r.args[0]);
    if (!a) return `<h1>Agent</h1><p class="notice">No agent ${esc(r.args[0])}.</p>`;
    const { perAgent } = usage();
    const used = perAgent.get(a.id) || {};
    const running = [...S.tasks.values()].filter((t) => t.agent_id && t.agent_id.value === a.id && !TERMINAL.has(t.state));
    let html = `<h1>Agent ${esc(a.info.hostname)} ${pill(a.state)}</h1><div class="card"><dl class="kv">
      <dt>ID</dt><dd>${esc(a.id)}</dd><dt>Address</dt><dd>${esc(a.raw.pid || `${a.info.hostname}:${a.info.port}`)}</dd>
      <dt>Version</dt><dd>${esc(a.version || '–')}</dd><dt>Registered</dt><dd>${fmtTime(a.registered)}</dd>
      <dt>Resources</dt><dd>${Object.keys(a.total).map((k) => `${k}: ${fmtRes(k, used[k] || 0)} used, ${fmtRes(k, a.offered[k] || 0)} offered, ${fmtRes(k, a.reserved[k] || 0)} reserved of ${fmtRes(k, a.total[k])}`).map(esc).join('<br>')}</dd>
      <dt>Attributes</dt><dd>${(a.info.attributes || []).map((x) => pill(`${x.name}=${attributeText(x)}`, 's-idle')).join(' ') || '–'}</dd>
      </dl></div><h2>Running tasks (containers)</h2>`;
    html += table('agent-tasks', agentTaskColumns(), running, { defaultKey: 'id', empty: 'No task runs on this agent.' });
    return html;
  },
};
const agentTaskColumns = () => [
  { key: 'id', label: 'Task', width: 'wide', value: (t) => t.task_id.value, html: taskLink },
  { key: 'state', label: 'State', value: (t) => t.state, html: (t) => pill(shortState(t.state), stateClass(t.state)) },
  { key: 'framework', label: 'Framework', value: (t) => frameworkName(t.framework_id.value), html: (t) => frameworkLink(t.framework_id.value) },
  { key: 'executor', label: 'Executor', value: (t) => (t.executor_id && t.executor_id.value) || t.task_id.value },
];

// Sandbox: the executor's directory from the agent's /state, browsed and
// tailed through the master's agent proxy.
const sandbox = { key: '', directory: '', error: '', listing: null, tails: {} };
async function findSandbox(agentId, fid, tid) {
  const state = await getJson(`/agents/${encodeURIComponent(agentId)}/state`);
  const t = S.tasks.get(taskKey(fid, tid));
  const executorId = (t && t.executor_id && t.executor_id.value) || tid;
  for (const f of [...(state.frameworks || []), ...(state.completed_frameworks || [])]) {
    if (f.id !== fid) continue;
    for (const e of [...(f.executors || []), ...(f.completed_executors || [])]) {
      const hasTask = [...(e.tasks || []), ...(e.queued_tasks || []), ...(e.completed_tasks || [])].some((x) => x.id === tid);
      if (e.id === executorId || hasTask) return e.directory;
    }
  }
  throw new Error(`agent ${agentId} has no sandbox for task ${tid} (yet)`);
}
const filesUrl = (agentId, what, path, extra = '') =>
  `/agents/${encodeURIComponent(agentId)}/files/${what}?path=${encodeURIComponent(path)}${extra}`;
async function tail(name, agentId, path, key) {
  const state = (sandbox.tails[name] = { text: '', offset: -1, error: '' });
  const current = () => sandbox.key === key && sandbox.tails[name] === state;
  while (current()) {
    try {
      if (state.offset < 0) {
        const end = await getJson(filesUrl(agentId, 'read', path, '&offset=-1'));
        state.offset = Math.max(0, end.offset - 64 * 1024);
      }
      const chunk = await getJson(filesUrl(agentId, 'read', path, `&offset=${state.offset}&length=65536`));
      if (!current()) return;
      if (chunk.data) {
        state.text = (state.text + chunk.data).slice(-512 * 1024);
        state.offset = chunk.offset + new TextEncoder().encode(chunk.data).length;
        const pre = document.querySelector(`pre[data-tail="${name}"]`);
        if (pre) {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.textContent = state.text;
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        }
        if (chunk.data.length >= 65536) continue;
      }
      state.error = '';
    } catch (e) {
      state.error = e.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
async function openSandbox(r) {
  const [agentId, fid, tid] = r.args;
  const key = r.args.join('/');
  if (sandbox.key === key) return;
  Object.assign(sandbox, { key, directory: '', error: '', listing: null, tails: {} });
  try {
    sandbox.directory = await findSandbox(agentId, fid, tid);
    tail('stdout', agentId, sandbox.directory + '/stdout', key);
    tail('stderr', agentId, sandbox.directory + '/stderr', key);
  } catch (e) {
    // The task may have just been launched: ask again shortly.
    sandbox.error = e.message;
    setTimeout(() => { if (sandbox.key === key && !sandbox.directory) { sandbox.key = ''; render(); } }, 2000);
  }
  render();
}
async function browse(agentId, path) {
  try {
    sandbox.listing = { path, files: await getJson(filesUrl(agentId, 'browse', path)), error: '' };
  } catch (e) {
    sandbox.listing = { path, files: [], error: e.message };
  }
  render();
}
views.sandbox = {
  render(r) {
    const [agentId, fid, tid] = r.args;
    openSandbox(r);
    let html = `<h1>Sandbox of ${taskLink({ framework_id: { value: fid }, task_id: { value: tid } })} on ${agentLink(agentId)}</h1>`;
    if (sandbox.error) return html + `<p class="error">${esc(sandbox.error)}</p>`;
    if (!sandbox.directory) return html + '<p class="muted">Finding the sandbox…</p>';
    const path = r.params.get('path') || sandbox.directory;
    if (!sandbox.listing || sandbox.listing.path !== path) {
      if (!sandbox.listing || !sandbox.listing.loading) { sandbox.listing = { path, files: [], loading: true }; browse(agentId, path); }
    }
    html += `<p class="muted small">${esc(path)}${path !== sandbox.directory ? ` · <a href="#/sandbox/${r.args.map(encodeURIComponent).join('/')}">back to the sandbox</a>` : ''}</p>`;
    const file = r.params.get('file');
    if (file && (!sandbox.tails.file || sandbox.tails.file.path !== file)) {
      tail('file', agentId, file, sandbox.key);
      sandbox.tails.file.path = file;
    }
    const panes = file ? ['file'] : ['stdout', 'stderr'];
    html += `<div class="${file ? '' : 'tails'}">` + panes.map((name) => {
      const st = sandbox.tails[name] || {};
      return `<div><h2>${name === 'file' ? esc(file.split('/').pop()) : name} <span class="muted small">live${st.error ? ' · ' + esc(st.error) : ''}</span></h2><pre class="log" data-tail="${name}">${esc(st.text || '')}</pre></div>`;
    }).join('') + '</div><h2>Files</h2>';
    if (sandbox.listing.error) html += `<p class="error">${esc(sandbox.listing.error)}</p>`;
    html += table('files', [
      { key: 'name', label: 'Name', value: (f) => f.path.split('/').pop(),
        html: (f) => (f.mode.startsWith('d') ? `<a href="#/sandbox/${r.args.map(encodeURIComponent).join('/')}?path=${encodeURIComponent(f.path)}">${esc(f.path.split('/').pop())}/</a>`
          : `<a href="#/sandbox/${r.args.map(encodeURIComponent).join('/')}?path=${encodeURIComponent(path)}&file=${encodeURIComponent(f.path)}">${esc(f.path.split('/').pop())}</a>`) },
      { key: 'size', label: 'Size', num: true, value: (f) => f.size, html: (f) => fmtBytes(f.size) },
      { key: 'mtime', label: 'Modified', value: (f) => f.mtime, html: (f) => fmtTime(f.mtime) },
      { key: 'mode', label: 'Mode', value: (f) => f.mode },
      { key: 'uid', label: 'Owner', value: (f) => `${f.uid}:${f.gid}` },
    ], sandbox.listing.files || [], { empty: sandbox.listing.loading ? 'Loading…' : 'Empty directory.' });
    return html;
  },
};

// "Why isn't this starting?": the allocator's explanation in words.
const EXPLAIN_WORDS = {
  OFFERED: (e) => 'It got offers in the last allocation cycle: the allocator is not holding it back. If its tasks still do not start, the framework declines what it is offered (its tasks may need more than any one offer holds).',
  UNKNOWN_FRAMEWORK: (e) => (e.framework_id && e.framework_id.length ? 'The allocator does not know this framework: it is not subscribed.' : `No framework is subscribed in role ${e.role}.`),
  INACTIVE: () => 'The framework is inactive (its scheduler is disconnected or it was deactivated): it gets nothing until it subscribes again.',
  SUPPRESSED: (e) => `The framework suppressed offers in role ${e.role}: it told the master it needs nothing there, and must REVIVE to get offers again.`,
  FILTERED: (e) => `It declined offers from ${agents(e)} and the refuse filter (refuse_seconds) it asked for is still in force.`,
  QUOTA_LIMIT: (e) => `Role ${e.role} (or a parent role) has reached its quota limit.`,
  BELOW_MIN_ALLOCATABLE: (e) => `What is left on ${agents(e)} is smaller than the minimum allocatable resources.`,
  RESERVED_FOR_OTHERS: (e) => `What is free on ${agents(e)} is reserved for other roles.`,
  AGENT_UNAVAILABLE: (e) => `${cap(agents(e))} ${e.agent_count === 1 ? 'is' : 'are'} draining or deactivated.`,
  GPU_CAPABILITY: (e) => `${cap(agents(e))} ${e.agent_count === 1 ? 'has' : 'have'} GPUs and the framework lacks the GPU_RESOURCES capability.`,
  QUOTA_HEADROOM: (e) => `Resources on ${agents(e)} are held back for other roles' unmet quota guarantees.`,
  NO_RESOURCES: (e) => `There are not enough free resources: everything on ${agents(e)} is already allocated (to other frameworks or to this one). It gets offers when tasks end or agents join.`,
  NO_AGENTS: () => 'The cluster has no agents.',
  NOT_SUBSCRIBED: (e) => `The framework is not subscribed to role ${e.role}.`,
  PENDING: () => 'Resources it can use are free now: the next allocation cycle offers them.',
};
const agents = (e) => (e.agent_count === 1 ? '1 agent' : `${e.agent_count} agents`);
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const explanation = { key: '', result: null, error: '' };
async function loadExplanation(key, query) {
  try {
    explanation.result = await getJson('/master/explain?' + query);
    explanation.error = '';
  } catch (e) {
    explanation.error = e.message;
  }
  if (explanation.key === key) render();
}
views.explain = {
  toolbar(r) {
    const p = r.params;
    const frameworks = [...S.frameworks.values()].filter((f) => !f.removed);
    const roles = [...new Set([...S.roles.map((x) => x.name), ...frameworks.flatMap((f) => f.info.roles || [])])].sort();
    return `<h1>Why isn't this starting?</h1><div class="toolbar" data-filters>
      <select name="framework"><option value="">pick a framework</option>${frameworks.map((f) => `<option value="${esc(f.id)}"${f.id === p.get('framework') ? ' selected' : ''}>${esc(f.info.name)} (${esc(f.id)})</option>`).join('')}</select>
      <span class="muted">or</span>
      <select name="role"><option value="">pick a role</option>${roles.map((x) => `<option${x === p.get('role') ? ' selected' : ''}>${esc(x)}</option>`).join('')}</select>
      <button data-refresh-explain>Ask again</button></div>`;
  },
  render(r) {
    const framework = r.params.get('framework'), role = r.params.get('role');
    if (!framework && !role) return '<p class="muted">Pick a framework or a role: the allocator says why it got no offers in its last cycle.</p>';
    const query = framework ? 'framework_id=' + encodeURIComponent(framework) : 'role=' + encodeURIComponent(role);
    if (explanation.key !== query) {
      explanation.key = query; explanation.result = null; explanation.error = '';
      loadExplanation(query, query);
    }
    if (explanation.error) return `<p class="error">${esc(explanation.error)}</p>`;
    const x = explanation.result;
    if (!x) return '<p class="muted">Asking the allocator…</p>';
    if (x.error) return `<p class="error">The allocator (${esc(x.allocator)}) could not explain: ${esc(x.error)}</p>`;
    const who = framework ? `Framework <b>${esc(frameworkName(framework))}</b>` : `Role <b>${esc(role)}</b>`;
    let html = `<div class="card explain"><p>${who}, according to the allocator <b>${esc(x.allocator)}</b> in its last cycle:</p><ul>`;
    for (const e of x.entries || []) {
      const words = EXPLAIN_WORDS[e.code] ? EXPLAIN_WORDS[e.code](e) : e.message;
      html += `<li data-code="${esc(e.code)}">${esc(words)}${e.role && !framework ? '' : ` <span class="muted">(role ${esc(e.role || '*')})</span>`}<span class="code">${esc(e.code)}</span>${e.message && e.message !== words ? `<div class="muted small">${esc(e.message)}</div>` : ''}</li>`;
    }
    if (!(x.entries || []).length) html += (x.reasons || []).map((s) => `<li>${esc(s)}</li>`).join('') || '<li>The allocator gave no reason.</li>';
    return html + '</ul></div>';
  },
};
document.addEventListener('click', (e) => {
  if (e.target.closest('[data-refresh-explain]')) { explanation.key = ''; render(); }
});

// Modules: every instance on the master and the agents: what /modules says
// (version, process, config) joined with the mantle_module_* families of
// /metrics (calls, errors, latency).
function parseModuleMetrics(text, where) {
  const instances = new Map();
  const re = /^(mantle_module_[a-z_]+)\{([^}]*)\}\s+(\S+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const key = labels.instance;
    const entry = instances.get(key) || { where, instance: labels.instance, module: labels.module, kind: labels.kind, calls: 0, errors: 0, timeouts: 0, sum: 0, buckets: [] };
    const v = Number(m[3]);
    if (m[1] === 'mantle_module_calls_total') entry.calls = v;
    else if (m[1] === 'mantle_module_errors_total') entry.errors = v;
    else if (m[1] === 'mantle_module_timeouts_total') entry.timeouts = v;
    else if (m[1] === 'mantle_module_call_duration_seconds_sum') entry.sum = v;
    else if (m[1] === 'mantle_module_call_duration_seconds_bucket') entry.buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le), v]);
    instances.set(key, entry);
  }
  for (const e of instances.values()) {
    e.mean = e.calls ? e.sum / e.calls : 0;
    const want = e.calls * 0.99;
    const b = e.buckets.sort((a, c) => a[0] - c[0]).find((x) => x[1] >= want);
    e.p99 = e.calls && b ? b[0] : 0;
  }
  return [...instances.values()];
}
// One daemon's rows: base is '' (master) or '/agents/<id>'.
async function daemonModules(base, where, errors) {
  const [declared, metrics] = await Promise.allSettled([getJson(base + '/modules'), getText(base + '/metrics')]);
  const byInstance = new Map();
  if (metrics.status === 'fulfilled') for (const m of parseModuleMetrics(metrics.value, where)) byInstance.set(m.instance, m);
  else errors.push(`${where}: ${metrics.reason.message}`);
  if (declared.status === 'rejected') {
    errors.push(`${where}: no module versions or config: ${declared.reason.message}`);
    return [...byInstance.values()];
  }
  return declared.value.modules.map((d) => Object.assign(
    { where, calls: 0, errors: 0, timeouts: 0, mean: 0, p99: 0 }, byInstance.get(d.instance) || {},
    { instance: d.instance, module: d.module, kind: d.kind, version: d.version, api: d.api_version, process: d.process, library: d.library, config: d.config }));
}
const configText = (c) => Object.entries(c || {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ');
const modules = { loaded: 0, rows: [], errors: [], loading: false, all: false };
async function loadModules() {
  modules.loading = true;
  const rows = [], errors = [];
  rows.push(...await daemonModules('', 'master', errors));
  const agentList = [...S.agents.values()].filter((a) => a.state !== 'gone').slice(0, modules.all ? undefined : 20);
  await Promise.all(agentList.map(async (a) => {
    rows.push(...await daemonModules(`/agents/${encodeURIComponent(a.id)}`, a.info.hostname, errors));
  }));
  Object.assign(modules, { rows, errors, loaded: Date.now() / 1000, loading: false, agents: agentList.length });
  render();
}
const fmtSeconds = (s) => (s === Infinity ? '> 10 s' : s >= 1 ? s.toFixed(2) + ' s' : s >= 1e-3 ? (s * 1e3).toFixed(1) + ' ms' : (s * 1e6).toFixed(0) + ' µs');
views.modules = {
  toolbar() {
    return '<h1>Modules</h1><div class="toolbar"><button data-reload-modules>Reload</button><button data-all-modules>Include every agent</button><span class="count" data-part="count"></span></div>';
  },
  render() {
    if (!modules.loaded && !modules.loading) loadModules();
    const count = document.querySelector('[data-part=count]');
    if (count) count.textContent = modules.loaded ? `master and ${modules.agents} agents, read ${relative(modules.loaded)}` : 'loading…';
    let html = modules.errors.map((e) => `<p class="error">${esc(e)}</p>`).join('');
    html += table('modules', [
      { key: 'where', label: 'Where', value: (m) => m.where },
      { key: 'instance', label: 'Instance', value: (m) => m.instance },
      { key: 'module', label: 'Module', value: (m) => m.module },
      { key: 'kind', label: 'Kind', value: (m) => m.kind },
      { key: 'version', label: 'Version', value: (m) => m.version || '', html: (m) => (m.version ? `<span title="kind API ${esc(m.api)}">${esc(m.version)}</span>` : '–') },
      { key: 'process', label: 'Process', value: (m) => m.process || '' },
      { key: 'config', label: 'Config', width: 'wide', value: (m) => configText(m.config), html: (m) => `<div class="config" title="${esc(m.library || '')}">${esc(configText(m.config)) || '–'}</div>` },
      { key: 'calls', label: 'Calls', num: true, value: (m) => m.calls },
      { key: 'errors', label: 'Errors', num: true, value: (m) => m.errors, html: (m) => (m.errors ? `<span class="s-bad">${m.errors}</span>` : '0') },
      { key: 'timeouts', label: 'Timeouts', num: true, value: (m) => m.timeouts, html: (m) => (m.timeouts ? `<span class="s-bad">${m.timeouts}</span>` : '0') },
      { key: 'mean', label: 'Mean latency', num: true, value: (m) => m.mean, html: (m) => (m.calls ? fmtSeconds(m.mean) : '–') },
      { key: 'p99', label: 'p99 (bucket)', num: true, value: (m) => m.p99, html: (m) => (m.calls ? '≤ ' + fmtSeconds(m.p99) : '–') },
    ], modules.rows, { defaultKey: 'where', empty: modules.loading ? 'Loading…' : 'No module instances.' });
    return html;
  },
};
document.addEventListener('click', (e) => {
  if (e.target.closest('[data-reload-modules]')) loadModules();
  if (e.target.closest('[data-all-modules]')) { modules.all = true; loadModules(); }
});

// ---------------------------------------------------------------------------
// Rendering: at most one render per animation frame

let pending = false, shownRoute = '';
function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}
function render() {
  const r = route();
  const view = views[r.view] && views[r.view].render ? views[r.view] : views.overview;
  const main = document.getElementById('main');
  const routeKey = r.view + '/' + r.args.join('/');
  const toolbar = view.toolbar ? view.toolbar(r) : '';
  if (shownRoute !== routeKey) {
    shownRoute = routeKey;
    main.innerHTML = `<div data-part="toolbar"></div><div data-part="body"></div>`;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === r.view);
  }
  // The toolbar's choices (frameworks, roles) follow the cluster, but never
  // while the user is in it.
  const bar = main.querySelector('[data-part=toolbar]');
  if (bar.dataset.html !== toolbar && !bar.contains(document.activeElement)) {
    bar.innerHTML = toolbar;
    bar.dataset.html = toolbar;
  }
  if (r.view !== 'sandbox') sandbox.key = '';
  const body = main.querySelector('[data-part=body]');
  // Keep the page's height while the body is replaced: no jump.
  main.style.minHeight = main.offsetHeight + 'px';
  body.innerHTML = (live.connected || S.version ? '' : '<p class="notice">Connecting to the master…</p>') + view.render(r);
  main.style.minHeight = '';
  if (!window.mantleFirstRender && live.connected) {
    void main.offsetHeight; // layout included
    window.mantleFirstRender = performance.now();
    document.body.dataset.ready = 'true';
  }
}

window.addEventListener('hashchange', () => render());
// Leaving the page closes the event stream's connection at once (otherwise
// the browser may keep it, and the master its subscriber, for a while).
window.addEventListener('pagehide', () => live.controller && live.controller.abort());
window.addEventListener('DOMContentLoaded', () => {
  render();
  streamLoop();
  setInterval(sample, 5000);
  setInterval(refreshExtras, 10000);
  setInterval(tickTimes, 10000);
});
