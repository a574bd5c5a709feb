// The Streamloop web console: plain browser JavaScript, no build step. Every API call goes through api(), which adds
// a bearer token from sessionStorage when one is set and asks for one on a 401. Text from the data is only ever put
// into the page as text (textContent), never as HTML.
'use strict';

/** The path the API is under: what precedes /console/ (the platform may sit behind a prefix). */
const BASE = location.pathname.replace(/console\/[^/]*$/, '');
const TOKEN_KEY = 'streamloop.token';
const state = { pipeline: null, pipelines: [], charts: [], cleanup: [] };

// ---------------------------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let tokenPrompt = null;
/** Asks for a bearer token (one dialog at a time); resolves true when one was given. */
function askForToken() {
  if (tokenPrompt) return tokenPrompt;
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  tokenPrompt = new Promise((resolve) => {
    const done = (given) => {
      dialog.close();
      tokenPrompt = null;
      resolve(given);
    };
    document.getElementById('token-cancel').onclick = () => done(false);
    document.getElementById('token-form').onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      input.value = '';
      done(true);
    };
    dialog.showModal();
  });
  return tokenPrompt;
}

/**
 * fetch() of an API path (relative to BASE), with `Authorization: Bearer <token>` when a token is stored. A 401
 * asks for a token and tries once more with it. Answers the Response; non-2xx answers throw an ApiError with the
 * platform's error body.
 */
async function api(path, init = {}, retried = false) {
  const headers = new Headers(init.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(BASE + path.replace(/^\//, ''), { ...init, headers });
  if (res.status === 401 && !retried) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (await askForToken()) return api(path, init, true);
  }
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = res.statusText;
    try {
      const body = await res.json();
      if (body && body.error) ({ code, message } = body.error);
    } catch {
      // Not the platform's error body: the status says enough.
    }
    throw new ApiError(res.status, code, `${code}: ${message}`);
  }
  return res;
}

async function getJson(path) {
  return (await api(path)).json();
}

async function postJson(path, body) {
  return (await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
}

// ---------------------------------------------------------------------------------------------------------------
// DOM helpers: elements built from text only.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function table(headers, rows, attrs = {}) {
  return el('table', attrs, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

function num(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(digits) : String(v);
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

function status(text) {
  document.getElementById('status').textContent = text || '';
}

function showError(container, error) {
  container.append(el('p', { class: 'error' }, String(error && error.message ? error.message : error)));
}

// A line chart over time (x in epoch ms); series: [{ label, points: [{x, y}] }].
function lineChart(id, series, yTitle) {
  const canvas = el('canvas', { id });
  const box = el('div', { class: 'chart-box' }, canvas);
  // One window only: half an hour either side of it, or the axis would span years around a single point.
  const xs = series.flatMap((s) => s.points.map((pt) => pt.x));
  const lone = xs.length > 0 && Math.min(...xs) === Math.max(...xs) ? { min: xs[0] - 1_800_000, max: xs[0] + 1_800_000 } : {};
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: series.map((s) => ({ label: s.label, data: s.points, borderWidth: 1.5, pointRadius: 2, tension: 0.1 })) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'linear', ...lone, ticks: { callback: (v) => time(v).slice(5, 16) } },
        y: { title: { display: true, text: yTitle } },
      },
      plugins: { legend: { position: 'right' }, tooltip: { callbacks: { title: (items) => time(items[0].parsed.x) } } },
    },
  });
  state.charts.push(chart);
  return box;
}

function barChart(id, labels, values, label, beginAtZero = true) {
  const canvas = el('canvas', { id });
  const box = el('div', { class: 'chart-box' }, canvas);
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: values }] },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero } }, plugins: { legend: { display: false } } },
  });
  state.charts.push(chart);
  return box;
}

function groupSeries(points, keyOf, yOf) {
  const series = new Map();
  for (const p of points) {
    const key = keyOf(p);
    if (!series.has(key)) series.set(key, []);
    const y = yOf(p);
    if (y !== null && y !== undefined) series.get(key).push({ x: p.window_end, y });
  }
  return [...series.entries()].map(([label, pts]) => ({ label, points: pts }));
}

const p = () => encodeURIComponent(state.pipeline);

// ---------------------------------------------------------------------------------------------------------------
// Pages

const pages = {
  async pipelines(main) {
    const lag = await getJson(`v1/console/pipelines/${p()}/lag`);
    main.append(el('h2', {}, 'Topics'));
    main.append(table(['role', 'topic', 'partitions', 'records'], lag.topics.map((t) => el('tr', { 'data-role': t.role },
      el('td', {}, t.role), el('td', {}, t.topic), el('td', { class: 'num' }, t.partitions), el('td', { class: 'num' }, t.records))), { id: 'topics' }));
    main.append(el('h2', {}, 'Consumer lag per stage'));
    if (lag.groups.length === 0) main.append(el('p', { class: 'muted' }, 'No stage has a consumer group on these topics yet.'));
    else {
      main.append(barChart('lag-chart', lag.groups.map((g) => `${g.stage} ← ${g.role}`), lag.groups.map((g) => g.lag), 'records behind'));
      main.append(table(['stage', 'topic', 'group', 'lag', 'per partition (committed / end)'], lag.groups.map((g) => el('tr', { 'data-stage': g.stage, 'data-role': g.role },
        el('td', {}, g.stage), el('td', {}, g.topic), el('td', {}, g.group), el('td', { class: 'num' }, g.lag),
        el('td', {}, g.partitions.map((x) => `p${x.partition}: ${x.committed ?? '–'} / ${x.end}`).join(', ')))), { id: 'lag' }));
    }
  },

  async models(main) {
    const [list, history] = await Promise.all([
      getJson(`v1/pipelines/${p()}/models`),
      getJson(`v1/console/pipelines/${p()}/model-history`).catch((error) => ({ error })),
    ]);
    main.append(el('h2', {}, 'Versions'));
    const serving = list.models.find((m) => m.serving);
    main.append(el('p', {}, serving ? `Serving: ${serving.model_name} v${serving.model_version}. ` : 'No champion serves. ',
      el('button', { 'data-action': 'rollback', disabled: !serving, onclick: () => act('rollback', null, `roll back ${serving.model_name} v${serving.model_version}`) }, 'Roll back the champion')));
    const metricNames = ['roc_auc', 'pr_auc', 'log_loss', 'f1'];
    main.append(table(['model', 'version', 'stage', 'algorithm', 'created', ...metricNames, 'decided', 'card', 'actions'], list.models.map((m) => el('tr', {
      class: m.serving ? 'serving' : undefined, 'data-version': m.model_version, 'data-model': m.model_name, 'data-stage': m.stage,
    },
    el('td', {}, m.model_name), el('td', { class: 'num' }, m.model_version),
    el('td', {}, el('span', { class: `badge ${m.stage}` }, m.stage), m.serving ? ' serving' : '', m.challenger ? ' scoring beside' : ''),
    el('td', {}, m.algorithm), el('td', {}, time(m.created_at)),
    metricNames.map((k) => el('td', { class: 'num' }, num(m.metrics[k]))),
    el('td', {}, `${m.decided_by || '–'} ${time(m.decided_at)}`, el('br'), el('span', { class: 'muted' }, m.decision_reason)),
    el('td', {}, el('button', { 'data-action': 'card', 'data-version': m.model_version, onclick: () => showCard(m) }, 'card')),
    el('td', {},
      el('button', { 'data-action': 'promote', 'data-version': m.model_version, disabled: m.serving, onclick: () => act('promote', m, `promote ${m.model_name} v${m.model_version} to champion`) }, 'Promote'),
      el('button', { 'data-action': 'archive', 'data-version': m.model_version, disabled: m.stage === 'archived', onclick: () => act('archive', m, `archive ${m.model_name} v${m.model_version}`) }, 'Archive')),
    )), { id: 'models' }));
    main.append(el('h2', {}, 'Stage history'));
    if (history.error) showError(main, history.error);
    else main.append(table(['offset', 'model', 'version', 'stage', 'by', 'when', 'why'], history.events.map((e) => el('tr', {},
      el('td', { class: 'num' }, e.registry_offset), el('td', {}, e.model_name), el('td', { class: 'num' }, e.model_version), el('td', {}, e.stage),
      el('td', {}, e.decided_by || '–'), el('td', {}, time(e.decided_at)), el('td', {}, e.decision_reason))), { id: 'history' }));
  },

  async drift(main) {
    const [drift, perf] = await Promise.all([getJson(`v1/console/pipelines/${p()}/drift`), getJson(`v1/console/pipelines/${p()}/performance`)]);
    main.append(el('h2', {}, 'Feature drift (PSI per window, against the champion\'s training data)'));
    const psi = drift.points.filter((x) => x.statistic === 'psi');
    if (psi.length === 0) main.append(el('p', { class: 'muted' }, 'No drift computed yet (it needs a champion and features).'));
    else main.append(lineChart('drift-chart', groupSeries(psi, (x) => x.feature, (x) => x.value), 'PSI'));
    const drifted = drift.points.filter((x) => x.drifted);
    main.append(el('p', { class: 'muted' }, `${drift.points.length} statistics in ${new Set(drift.points.map((x) => x.window_end)).size} windows; ${drifted.length} over their threshold.`));
    main.append(el('h2', {}, 'Live performance (per model version and role, against late labels)'));
    const metrics = [...new Set(perf.points.map((x) => x.metric))];
    const metric = metrics.includes('roc_auc') ? 'roc_auc' : metrics[0];
    if (!metric) main.append(el('p', { class: 'muted' }, 'No labelled predictions measured yet.'));
    else {
      main.append(lineChart('performance-chart', groupSeries(perf.points.filter((x) => x.metric === metric),
        (x) => `${x.model_name} v${x.model_version} (${x.role})`, (x) => x.value), metric));
      const latest = new Map();
      for (const x of perf.points) latest.set(`${x.model_name}|${x.model_version}|${x.role}|${x.metric}`, x);
      main.append(table(['model', 'version', 'role', 'metric', 'value', 'labelled', 'window end'], [...latest.values()].map((x) => el('tr', {},
        el('td', {}, x.model_name), el('td', { class: 'num' }, x.model_version), el('td', {}, x.role), el('td', {}, x.metric),
        el('td', { class: 'num' }, num(x.value)), el('td', { class: 'num' }, x.labelled_count), el('td', {}, time(x.window_end)))), { id: 'performance' }));
    }
  },

  async live(main) {
    const rows = el('tbody', { id: 'live-rows' });
    const counter = el('span', { id: 'live-count' }, '0');
    const state_ = el('span', { id: 'live-state' }, 'connecting…');
    main.append(el('p', {}, 'Predictions as they are committed to the prediction topic: ', counter, ' received; ', state_));
    main.append(el('table', { id: 'live' }, el('thead', {}, el('tr', {}, ['time', 'event', 'entity', 'model', 'role', 'score', 'label', 'latency ms', 'partition/offset'].map((h) => el('th', {}, h)))), rows));
    const controller = new AbortController();
    state.cleanup.push(() => controller.abort());
    let count = 0;
    try {
      const res = await api(`v1/console/pipelines/${p()}/predictions/stream`, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
      // Read on after the page has been drawn: the stream never ends by itself.
      void readEvents(res.body, (event, data) => {
        if (event === 'ready') state_.textContent = `following ${data.topic}`;
        else if (event === 'error') state_.textContent = `error: ${data.message}`;
        else if (event === 'prediction') {
          count++;
          counter.textContent = String(count);
          rows.prepend(el('tr', { 'data-event-id': data.event_id },
            el('td', {}, time(data.predicted_at)), el('td', {}, data.event_id), el('td', {}, data.entity_key ?? ''),
            el('td', {}, `${data.model_name} v${data.model_version}`), el('td', {}, data.role), el('td', { class: 'num' }, num(data.score)),
            el('td', { class: 'num' }, data.label), el('td', { class: 'num' }, num(data.latency_ms, 1)), el('td', {}, `${data.partition}/${data.offset}`)));
          while (rows.childElementCount > 200) rows.lastElementChild.remove();
        }
      }).catch((error) => {
        if (!controller.signal.aborted) state_.textContent = `stream ended: ${error.message}`;
      });
    } catch (error) {
      state_.textContent = '';
      showError(main, error);
    }
  },

  async dlq(main) {
    const body = await getJson(`v1/console/pipelines/${p()}/dlq?limit=50`);
    main.append(el('p', {}, `The last dead letters of ${body.topic}, newest first (${body.records.length}).`));
    main.append(table(['failed', 'stage', 'reason', 'source', 'original record'], body.records.map((r) => el('tr', { 'data-dlq-offset': `${r.dlq.partition}/${r.dlq.offset}` },
      el('td', {}, time(r.failed_at ?? r.dlq.timestamp)), el('td', {}, r.stage ?? '–'),
      el('td', {}, el('strong', {}, r.error_class ?? ''), el('br'), r.error_message ?? '', r.decode_error ? el('p', { class: 'error' }, r.decode_error) : null),
      el('td', {}, `${r.source.topic ?? '(HTTP)'} p${r.source.partition ?? '–'} @${r.source.offset ?? '–'}`),
      el('td', {}, bytesView('value', r.original_value, r.original_size), bytesView('key', r.original_key, null),
        el('details', {}, el('summary', {}, 'headers'), el('pre', {}, Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`).join('\n')))),
    )), { id: 'dlq' }));
  },

  async experiments(main) {
    const { runs } = await getJson(`v1/console/pipelines/${p()}/experiments`);
    const trials = runs.filter((r) => r.status === 'trial' || r.status === 'trial_failed');
    const published = runs.filter((r) => !trials.includes(r));
    main.append(el('h2', {}, 'Training runs'));
    main.append(table(['started', 'experiment', 'run', 'model', 'status', 'duration s', 'metrics', 'params'], published.map((r) => el('tr', { 'data-run': r.run_id },
      el('td', {}, time(r.started_at)), el('td', {}, r.experiment_id), el('td', {}, r.run_id), el('td', {}, r.model_name), el('td', {}, r.status),
      el('td', { class: 'num' }, num(r.duration_ms / 1000, 1)), el('td', {}, folded(r.metrics, RUN_METRICS)), el('td', {}, folded(r.params, RUN_PARAMS)))), { id: 'runs' }));
    main.append(el('h2', {}, `Search trials (${trials.length})`));
    if (trials.length === 0) main.append(el('p', { class: 'muted' }, 'No hyperparameter search has run (model.search in the spec).'));
    else {
      const metric = trialMetric(trials);
      const ordered = [...trials].sort((a, b) => a.started_at - b.started_at);
      main.append(barChart('trials-chart', ordered.map((t, i) => `#${i + 1}`), ordered.map((t) => t.metrics[metric] ?? null), metric, false));
      main.append(table(['started', 'search', 'status', metric, 'params'], ordered.map((r) => el('tr', { 'data-trial': r.run_id },
        el('td', {}, time(r.started_at)), el('td', {}, r.params.search_id ?? ''), el('td', {}, r.status), el('td', { class: 'num' }, num(r.metrics[metric])),
        el('td', {}, kv(r.params)))), { id: 'trials' }));
    }
  },
};

function trialMetric(trials) {
  const names = new Set(trials.flatMap((t) => Object.keys(t.metrics)));
  for (const preferred of ['cv_score', 'score', 'roc_auc']) if (names.has(preferred)) return preferred;
  return [...names][0] ?? 'score';
}

/** The headline entries of a run's metrics or params; the rest behind a disclosure. */
const RUN_METRICS = ['roc_auc', 'pr_auc', 'log_loss', 'f1', 'threshold', 'n', 'training_rows'];
const RUN_PARAMS = ['model_version', 'reason', 'search_strategy', 'search_trials', 'search_best_trial'];
function folded(map, headline) {
  const entries = Object.entries(map || {});
  const shown = Object.fromEntries(entries.filter(([k]) => headline.includes(k)));
  const rest = Object.fromEntries(entries.filter(([k]) => !headline.includes(k)));
  return el('div', {}, kv(shown), Object.keys(rest).length > 0 ? el('details', {}, el('summary', {}, `${Object.keys(rest).length} more`), el('pre', {}, kv(rest).split(', ').join('\n'))) : null);
}

function kv(map) {
  return Object.entries(map || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`).join(', ');
}

function bytesView(what, bytes, originalSize) {
  if (!bytes) return el('p', { class: 'muted' }, `no ${what}`);
  const cut = originalSize ? ` (first ${bytes.size} of ${originalSize} bytes kept)` : bytes.shown < bytes.size ? ` (first ${bytes.shown} of ${bytes.size} bytes shown)` : ` (${bytes.size} bytes)`;
  return el('div', { class: `bytes ${what}` }, el('span', { class: 'muted' }, `${what}${cut}`),
    bytes.text !== null ? el('pre', { class: 'text' }, bytes.text) : el('p', { class: 'muted' }, 'not text'),
    el('details', {}, el('summary', {}, 'hex'), el('pre', { class: 'hex' }, bytes.hex)));
}

/** Reads a server-sent event stream from a fetch() body, calling onEvent(name, parsedData) per event. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the server closed the stream');
    buffer += value.replace(/\r\n/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = v;
        else if (field === 'data') data.push(v);
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

/**
 * A version's model card (Markdown) in a dialog, fetched through api() so that it carries the token: a plain link to
 * the HTML card would be opened by the browser without one.
 */
async function showCard(model) {
  const dialog = document.getElementById('card-dialog');
  const body = document.getElementById('card-text');
  body.textContent = 'loading…';
  dialog.showModal();
  try {
    const res = await api(`v1/pipelines/${p()}/models/${model.model_version}/card?format=md&model=${encodeURIComponent(model.model_name)}`);
    body.textContent = await res.text();
  } catch (error) {
    body.textContent = String(error.message || error);
  }
}

async function act(action, model, what) {
  const reason = prompt(`Reason to ${what}:`, 'from the console');
  if (reason === null) return;
  const body = { reason: reason || 'from the console' };
  if (model) body.model = model.model_name;
  const path = action === 'rollback' ? `v1/pipelines/${p()}/models/rollback` : `v1/pipelines/${p()}/models/${model.model_version}/${action}`;
  status(`${what}…`);
  try {
    const result = await postJson(path, body);
    const serving = result.serving ? `${result.serving.model_name} v${result.serving.model_version}` : 'none';
    status(`${result.model_name} v${result.model_version}: ${result.from} → ${result.to}; serving: ${serving}`);
  } catch (error) {
    status(`refused: ${error.message}`);
  }
  await render();
}

// ---------------------------------------------------------------------------------------------------------------
// Navigation

function currentPage() {
  const name = location.hash.replace(/^#/, '');
  return Object.hasOwn(pages, name) ? name : 'pipelines';
}

async function render() {
  for (const stop of state.cleanup.splice(0)) stop();
  for (const chart of state.charts.splice(0)) chart.destroy();
  const name = currentPage();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
  const main = document.getElementById('page');
  main.replaceChildren();
  main.dataset.page = name;
  main.dataset.state = 'loading';
  if (!state.pipeline) {
    main.append(el('p', { class: 'muted' }, 'This process runs no pipeline.'));
    main.dataset.state = 'ready';
    return;
  }
  try {
    await pages[name](main);
  } catch (error) {
    showError(main, error);
  }
  main.dataset.state = 'ready';
}

async function start() {
  const picker = document.getElementById('pipeline');
  try {
    const { pipelines } = await getJson('v1/console/pipelines');
    state.pipelines = pipelines;
    const wanted = new URLSearchParams(location.search).get('pipeline');
    for (const x of pipelines) picker.append(el('option', { value: x.pipeline }, x.pipeline));
    state.pipeline = pipelines.some((x) => x.pipeline === wanted) ? wanted : pipelines[0]?.pipeline ?? null;
    if (state.pipeline) picker.value = state.pipeline;
  } catch (error) {
    showError(document.getElementById('page'), error);
    return;
  }
  picker.addEventListener('change', () => {
    state.pipeline = picker.value;
    const url = new URL(location.href);
    url.searchParams.set('pipeline', picker.value);
    history.replaceState(null, '', url);
    void render();
  });
  window.addEventListener('hashchange', () => void render());
  await render();
}

void start();
