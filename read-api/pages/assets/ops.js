// GET /ops: the projections (GET /api/ops/projections) with their lag and rebuilds, pause/resume and the rows of
// one stream rebuilt, and the parked events (GET /api/ops/parked-events) retried or skipped. Everything the API
// says (names, stream ids, errors) goes into the page as text, through dom.js.
import { byId, el, fill, say } from './dom.js';
import { ApiProblem, bindSignIn, Session } from './session.js';

const REFRESH_MS = 2000;
const STREAM_POLL_MS = 400;
const STREAM_WAIT_MS = 30_000;
/** `GET /api/ops/projections` counts the events behind up to this many. */
const LAG_COUNT_CAP = 10_000;
/** Parked events a page of the list, 50 unless `/ops?parkedLimit=N` (1 to 500) says otherwise. */
const PARKED_LIMIT = (() => {
  const asked = Number(new URLSearchParams(window.location.search).get('parkedLimit'));
  return Number.isInteger(asked) && asked >= 1 && asked <= 500 ? asked : 50;
})();
/** As the API checks it (read-api/schemas.ts StreamIdParams); the API has the last word. */
const STREAM_ID_PATTERN = '[A-Za-z][A-Za-z0-9]{0,39}-[A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}';

const integer = new Intl.NumberFormat('en-GB');
/** Positions are 64-bit integers sent as strings. */
function position(value) {
  try {
    return BigInt(value).toLocaleString('en-GB');
  } catch {
    return String(value);
  }
}
const plural = (n, one, many = `${one}s`) => `${integer.format(n)} ${n === 1 ? one : many}`;
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString('en-GB') : '');
/** A message from the API as a sentence: it sends them without the full stop. */
const sentence = (text) => {
  const trimmed = String(text ?? '').trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};

/** A duration as people say it: 0.4 s, 12 s, 3 min 5 s, 2 h 10 min, 3 days 4 h. */
function duration(ms) {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${whole % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return `${plural(days, 'day')} ${hours % 24} h`;
}

/** What a projection's lag means: "3 events, 1.2 s behind", or "Up to date". */
function lagText(p) {
  if (p.lagEvents === 0) return 'Up to date';
  const events =
    p.lagEvents >= LAG_COUNT_CAP ? `over ${integer.format(LAG_COUNT_CAP)} events` : plural(p.lagEvents, 'event');
  return `${events}, ${duration(p.lagMs)} behind`;
}

/** Each status with a word and a mark, never by colour alone; the colour comes from `badge-<status>`. */
const PROJECTION_STATUS = {
  live: { label: 'Live', mark: '✓', hint: 'caught up with the newest event' },
  catching_up: { label: 'Catching up', mark: '↻', hint: 'behind the newest event, applying' },
  rebuilding: { label: 'Rebuilding', mark: '↻', hint: 'a new version builds from the first event' },
  paused: { label: 'Paused', mark: '‖', hint: 'applies nothing until resumed; its reads go on, staler' },
  no_runner: { label: 'No runner', mark: '○', hint: 'no process runs it now' },
  error: { label: 'Error', mark: '✕', hint: 'its last batch failed' },
};
const PARKED_STATUS = {
  parked: { label: 'Waiting', mark: '!', hint: 'waits for support: retry or skip' },
  retry: { label: 'Retry asked', mark: '…', hint: 'the runner has not taken it up yet' },
  retrying: { label: 'Retrying', mark: '↻', hint: 'the stopped projection applies it again' },
  skip: { label: 'Skip asked', mark: '…', hint: 'the runner has not taken it up yet' },
  retried: { label: 'Retried', mark: '✓', hint: 'applied on a retry' },
  skipped: { label: 'Skipped', mark: '–', hint: 'left out for good' },
  rebuilt: { label: 'Rebuilt', mark: '✓', hint: 'a rebuild applied it' },
};

const REBUILD_STATUS = {
  requested: { label: 'Requested', mark: '…', hint: 'waiting for the runner' },
  running: { label: 'Running', mark: '↻', hint: 'building beside the live version' },
  done: { label: 'Done', mark: '✓', hint: 'switched in' },
  failed: { label: 'Failed', mark: '✕', hint: 'the live version kept serving' },
};

function badge(kinds, status) {
  const known = kinds[status] ?? { label: status, mark: '?', hint: '' };
  return el(
    'span',
    { class: `badge badge-${status}`, 'data-status': status, title: known.hint || undefined },
    el('span', { class: 'mark', 'aria-hidden': 'true' }, known.mark),
    ` ${known.label}`,
  );
}

/** A button with its text, and (for screen readers) what it acts on. */
function button(text, context, attributes = {}) {
  return el('button', { type: 'button', ...attributes }, text, el('span', { class: 'visually-hidden' }, ` ${context}`));
}

const session = new Session();
const view = {
  signedIn: byId('signed-in'),
  console: byId('console'),
  status: byId('status'),
  problem: byId('problem'),
  signInError: byId('sign-in-error'),
  actionMessage: byId('action-message'),
  actionProblem: byId('action-problem'),
  projectionRows: byId('projection-rows'),
  parkedAll: byId('parked-all'),
  parkedMessage: byId('parked-message'),
  parkedProblem: byId('parked-problem'),
  parkedRows: byId('parked-rows'),
  parkedCaption: byId('parked-caption'),
  parkedEmpty: byId('parked-empty'),
  parkedMore: byId('parked-more'),
};

/**
 * What went wrong, in words, starting with what was being done. `problem` is an ApiProblem (`{ error, message,
 * details }` from the API, with its status) or an error of the page.
 */
function explain(problem, doing) {
  if (!(problem instanceof ApiProblem)) {
    return { code: 'PAGE_ERROR', text: `${doing}: the page failed (${problem?.message ?? problem}).` };
  }
  const said = sentence(problem.message);
  const texts = {
    0: `${doing}: ${said}`,
    400: `${doing}: the request was refused as invalid: ${said}`,
    401: `${doing}: your session has ended: sign in again.`,
    403: `${doing}: not allowed: ${said} Sign in as support staff or an admin.`,
    404: `${doing}: not found: ${said}`,
    409:
      problem.code === 'PARKED_EVENT_NOT_WAITING'
        ? `${doing}: ${said} It was resolved before you asked; the list now shows it as it stands.`
        : `${doing}: ${said}`,
    429: `${doing}: too many requests: ${said} Wait a moment, then try again.`,
    503: `${doing}: a service is unavailable right now: ${said} Try again in a few moments.`,
  };
  return {
    code: problem.code,
    text: texts[problem.status] ?? `${doing}: the server answered ${problem.status} (${problem.code}): ${said}`,
  };
}

function showProblem(node, explained) {
  node.hidden = !explained;
  node.dataset.code = explained?.code ?? '';
  say(node, explained?.text);
}

// ————— refreshing —————

/** Bumped at each sign-in and sign-out: answers asked for before are dropped. */
let generation = 0;
let live = false;
let refused = false;
let timer = null;
let running = null;
let again = false;
let lastRead = null;

/** The page for someone who may not see it: what the API said (403), in words, and nothing else. */
function refuse() {
  if (refused) return;
  refused = true;
  live = false;
  clearTimeout(timer);
  timer = null;
  view.console.hidden = true;
  say(view.status, '');
  const user = session.user;
  const who = user ? `You are signed in as ${user.email ?? user.id} (${user.role}). ` : '';
  showProblem(view.problem, {
    code: 'NOT_ALLOWED',
    text: `Not allowed. ${who}The operations page is for support staff and admins only. Sign out and sign in with such an account.`,
  });
}

/** True when the problem ended the page's work (refused, or signed out); else the caller says it. */
function ends(problem) {
  if (!(problem instanceof ApiProblem)) return false;
  if (problem.status === 403) {
    refuse();
    return true;
  }
  if (problem.status === 401 && !session.user) {
    say(view.signInError, 'Your session has ended: sign in again.');
    return true;
  }
  return false;
}

async function loadProjections(mine) {
  try {
    const list = await session.request('/api/ops/projections');
    if (mine !== generation) return;
    renderProjections(list);
    lastRead = new Date();
    showProblem(view.problem, null);
    view.console.hidden = false;
    say(
      view.status,
      `${plural(list.length, 'projection')}, read at ${lastRead.toLocaleTimeString('en-GB')}; read again every 2 s.`,
    );
    view.console.dataset.reads = String(Number(view.console.dataset.reads ?? 0) + 1);
  } catch (problem) {
    if (mine !== generation || ends(problem)) return;
    const explained = explain(problem, 'The projections could not be read');
    const stale = lastRead
      ? ` The table shows what was read at ${lastRead.toLocaleTimeString('en-GB')}; trying again every 2 s.`
      : ' Trying again every 2 s.';
    showProblem(view.problem, { code: explained.code, text: explained.text + stale });
  }
}

/** One refresh at a time; asked for meanwhile, one more after it. */
function refresh() {
  if (running) {
    again = true;
    return running;
  }
  const mine = generation;
  running = (async () => {
    try {
      await Promise.all([loadProjections(mine), loadParked(mine)]);
    } finally {
      running = null;
    }
    if (again && mine === generation && live) {
      again = false;
      await refresh();
    }
  })();
  return running;
}

/** Every 2 s while the page is visible and someone allowed is signed in; a hidden tab asks nothing. */
async function tick() {
  timer = null;
  if (!live || document.hidden) return;
  await refresh();
  if (live && !document.hidden && timer === null) timer = setTimeout(tick, REFRESH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && live && timer === null && !running) void tick();
});

/** A write the page makes: POST, the answer or an ApiProblem. */
const post = (path) => session.request(path, { method: 'POST' });
const enc = encodeURIComponent;

// ————— projections —————

/** name → the row's nodes, made once: a refresh updates them in place (an open form keeps what was typed). */
const projectionRows = new Map();

function renderProjections(list) {
  const names = new Set(list.map((p) => p.name));
  for (const [name, row] of projectionRows) {
    if (!names.has(name)) {
      row.tr.remove();
      projectionRows.delete(name);
    }
  }
  for (const p of list) {
    const row = projectionRows.get(p.name) ?? projectionRow(p.name);
    updateProjectionRow(row, p);
  }
  // In the API's order; nodes already in place are not moved (a moved node loses the focus).
  const wanted = list.map((p) => projectionRows.get(p.name).tr);
  if (wanted.some((tr, i) => view.projectionRows.children[i] !== tr)) view.projectionRows.append(...wanted);
}

function projectionRow(name) {
  const cells = {
    name: el('th', { scope: 'row' }),
    status: el('td'),
    position: el('td', { class: 'num' }),
    lag: el('td', { class: 'lag' }),
    parked: el('td', { class: 'num' }),
    lastError: el('td', { class: 'error-text' }),
    rebuild: el('td', { class: 'rebuild' }),
    actions: el('td', { class: 'actions' }),
  };
  const controls = {
    rebuild: button('Rebuild', name, { class: 'rebuild-button' }),
    pause: button('Pause', name, { class: 'pause-button' }),
    streamForm: streamForm(name),
  };
  controls.rebuild.addEventListener('click', () => void askRebuild(name, controls.rebuild));
  controls.pause.addEventListener('click', () => void askPause(name, controls.pause));
  fill(cells.actions, el('div', { class: 'buttons' }, controls.rebuild, controls.pause), controls.streamForm.details);
  const tr = el('tr', { 'data-name': name }, ...Object.values(cells));
  const row = { tr, cells, controls, current: null };
  projectionRows.set(name, row);
  return row;
}

function updateProjectionRow(row, p) {
  const { cells, controls, tr } = row;
  row.current = p;
  tr.dataset.status = p.status;
  fill(cells.name, p.name, el('span', { class: 'version' }, ` v${p.version}`));
  fill(cells.status, badge(PROJECTION_STATUS, p.status), p.active ? null : el('div', { class: 'hint' }, 'no lease'));
  fill(cells.position, position(p.checkpoint), el('div', { class: 'hint' }, `head ${position(p.headPosition)}`));
  fill(cells.lag, el('span', { class: p.lagEvents === 0 ? 'hint' : undefined }, lagText(p)));
  fill(
    cells.parked,
    p.parkedEvents === 0 ? el('span', { class: 'hint' }, '0') : el('strong', {}, integer.format(p.parkedEvents)),
  );
  fill(cells.lastError, p.lastError ?? el('span', { class: 'hint' }, 'none'));
  renderRebuild(cells.rebuild, p);
  const paused = p.status === 'paused';
  controls.pause.firstChild.textContent = paused ? 'Resume' : 'Pause';
  controls.pause.dataset.action = paused ? 'resume' : 'pause';
  controls.rebuild.hidden = !p.rebuildable;
  const busy = p.rebuild?.status === 'requested' || p.rebuild?.status === 'running';
  controls.rebuild.disabled = busy || controls.rebuild.dataset.sending === '1';
  controls.rebuild.title = busy ? 'a rebuild is under way' : '';
  controls.streamForm.details.hidden = !p.streamRebuildable;
}

function renderRebuild(cell, p) {
  const r = p.rebuild;
  cell.dataset.rebuildStatus = r?.status ?? '';
  if (!r) {
    fill(cell, el('span', { class: 'hint' }, p.rebuildable ? 'none yet' : 'cannot rebuild beside'));
    return;
  }
  const label = `Rebuild of ${p.name}`;
  if (r.status === 'requested') {
    fill(cell, badge(REBUILD_STATUS, 'requested'), el('div', { class: 'hint' }, 'waiting for the runner to start it'));
    return;
  }
  if (r.status === 'running') {
    const percent = Math.min(99, Math.floor(r.progress * 100));
    const left = r.etaSeconds === null ? 'time left not known yet' : `about ${duration(r.etaSeconds * 1000)} left`;
    fill(
      cell,
      badge(REBUILD_STATUS, 'running'),
      el(
        'div',
        { class: 'meter' },
        el('progress', { max: '100', value: String(percent), 'aria-label': `${label}: ${percent} %` }),
        el('span', { class: 'percent' }, `${percent} %`),
      ),
      el(
        'div',
        { class: 'hint' },
        `${integer.format(r.eventsPerSecond)} events/s, ${left}; at ${position(r.position)} of ${position(r.targetPosition)}`,
      ),
    );
    return;
  }
  if (r.status === 'done') {
    fill(
      cell,
      badge(REBUILD_STATUS, 'done'),
      el(
        'div',
        { class: 'meter' },
        el('progress', { max: '100', value: '100', 'aria-label': `${label}: 100 %` }),
        el('span', { class: 'percent' }, '100 %'),
      ),
      el(
        'div',
        { class: 'hint' },
        `v${r.version}: ${plural(r.eventsApplied, 'event')} at ${integer.format(r.eventsPerSecond)} events/s, finished ${clock(r.finishedAt)}`,
      ),
    );
    return;
  }
  fill(
    cell,
    badge(REBUILD_STATUS, r.status),
    el('div', { class: 'error-text' }, r.error ?? 'no reason given'),
    el('div', { class: 'hint' }, `started ${clock(r.startedAt)}; the live version kept serving`),
  );
}

/** The actions' answers, said in one place above the table. */
function actionDone(text) {
  showProblem(view.actionProblem, null);
  say(view.actionMessage, text);
}
function actionFailed(problem, doing) {
  if (ends(problem)) return;
  say(view.actionMessage, '');
  showProblem(view.actionProblem, explain(problem, doing));
}

async function askRebuild(name, control) {
  const sure = window.confirm(
    `Rebuild ${name}? A new version is built beside the live one from the first event, then takes its place. Reads keep working meanwhile.`,
  );
  if (!sure) {
    actionDone(`Rebuild of ${name} not started.`);
    return;
  }
  control.disabled = true;
  control.dataset.sending = '1';
  try {
    const answer = await post(`/api/ops/projections/${enc(name)}/rebuild`);
    actionDone(
      answer.status === 'already'
        ? `A rebuild of ${name} is already asked for or running: no second one was started.`
        : `Rebuild of ${name} asked for: its progress shows in the table.`,
    );
  } catch (problem) {
    actionFailed(problem, `Could not rebuild ${name}`);
  } finally {
    delete control.dataset.sending;
    control.disabled = false;
  }
  await refresh();
}

async function askPause(name, control) {
  const action = control.dataset.action === 'resume' ? 'resume' : 'pause';
  control.disabled = true;
  try {
    await post(`/api/ops/projections/${enc(name)}/${action}`);
    actionDone(
      action === 'pause'
        ? `Pause of ${name} asked for: it stops applying events within a second; its reads go on, staler.`
        : `Resume of ${name} asked for: it goes on from where it stopped.`,
    );
  } catch (problem) {
    actionFailed(problem, `Could not ${action} ${name}`);
  } finally {
    control.disabled = false;
  }
  await refresh();
}

/** "Rebuild one stream": a stream id, sent; then how it went, from GET /api/ops/stream-rebuilds/{id}. */
function streamForm(name) {
  const inputId = `stream-${name}`;
  const input = el('input', {
    id: inputId,
    name: 'streamId',
    type: 'text',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    pattern: STREAM_ID_PATTERN,
    maxlength: '169',
    title: 'a stream id as the store names it, e.g. Room-<uuid> or Booking-<uuid>',
    placeholder: 'Room-…',
  });
  const submit = el('button', { type: 'submit' }, 'Rebuild stream');
  const outcome = el('p', { class: 'outcome', role: 'status' });
  const form = el(
    'form',
    { class: 'stream-form', 'data-projection': name },
    el('label', { for: inputId }, 'Stream id'),
    input,
    submit,
    outcome,
  );
  const details = el('details', { class: 'stream' }, el('summary', {}, 'Rebuild one stream'), form);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    void rebuildStream(name, input.value.trim(), submit, outcome);
  });
  return { details, form, input, outcome };
}

function sayOutcome(node, state, text) {
  node.dataset.state = state;
  node.className = `outcome ${state === 'failed' ? 'error-text' : ''}`;
  say(node, text);
}

async function rebuildStream(name, streamId, submit, outcome) {
  const mine = generation;
  submit.disabled = true;
  sayOutcome(outcome, 'sending', `Asking for ${streamId}…`);
  try {
    let job = await post(`/api/ops/projections/${enc(name)}/streams/${enc(streamId)}/rebuild`);
    sayOutcome(outcome, 'requested', `Asked for ${job.streamId}: waiting for the runner…`);
    const deadline = Date.now() + STREAM_WAIT_MS;
    while (job.status === 'requested' && Date.now() < deadline && mine === generation) {
      await new Promise((resolve) => setTimeout(resolve, STREAM_POLL_MS));
      job = await session.request(`/api/ops/stream-rebuilds/${enc(job.id)}`);
    }
    if (mine !== generation) return;
    if (job.status === 'done') {
      sayOutcome(
        outcome,
        'done',
        `Done: the rows of ${job.streamId} were rebuilt from ${plural(job.events ?? 0, 'event')}, at position ${position(job.position ?? '0')}.`,
      );
    } else if (job.status === 'failed') {
      sayOutcome(outcome, 'failed', `Failed: ${sentence(job.error ?? 'no reason given')}`);
    } else {
      sayOutcome(
        outcome,
        'requested',
        `Still waiting for the runner after ${STREAM_WAIT_MS / 1000} s (request ${job.id}): it runs between two batches. Is ${name} paused or stopped?`,
      );
    }
  } catch (problem) {
    if (mine !== generation || ends(problem)) return;
    sayOutcome(outcome, 'failed', explain(problem, `Could not rebuild ${streamId}`).text);
  } finally {
    submit.disabled = false;
  }
}

// ————— parked events —————

const parked = { all: false, pages: 1, rows: new Map() };

async function loadParked(mine) {
  const status = parked.all ? 'all' : 'open';
  try {
    const items = [];
    let cursor = null;
    for (let page = 0; page < parked.pages; page++) {
      const query = new URLSearchParams({ status, limit: String(PARKED_LIMIT) });
      if (cursor) query.set('cursor', cursor);
      const answer = await session.request(`/api/ops/parked-events?${query}`);
      items.push(...answer.items);
      cursor = answer.nextCursor;
      if (!cursor) break;
    }
    if (mine !== generation || status !== (parked.all ? 'all' : 'open')) return;
    renderParked(items, cursor);
    view.parkedRows.closest('section').dataset.shown = status;
    if (view.parkedProblem.dataset.code === 'LIST') showProblem(view.parkedProblem, null);
  } catch (problem) {
    if (mine !== generation || ends(problem)) return;
    const explained = explain(problem, 'The parked events could not be read');
    showProblem(view.parkedProblem, { code: 'LIST', text: `${explained.text} Trying again every 2 s.` });
  }
}

function renderParked(items, nextCursor) {
  const ids = new Set(items.map((i) => i.id));
  for (const [id, row] of parked.rows) {
    if (!ids.has(id)) {
      row.tr.remove();
      parked.rows.delete(id);
    }
  }
  for (const item of items) {
    const row = parked.rows.get(item.id) ?? parkedRow(item);
    updateParkedRow(row, item);
  }
  const wanted = items.map((i) => parked.rows.get(i.id).tr);
  if (wanted.some((tr, i) => view.parkedRows.children[i] !== tr)) view.parkedRows.append(...wanted);
  const which = parked.all ? 'parked events' : 'open parked events';
  say(view.parkedCaption, `${items.length} ${which}`);
  view.parkedEmpty.hidden = items.length > 0;
  say(view.parkedEmpty, parked.all ? 'No event was ever parked.' : 'No parked event waits: nothing to do.');
  view.parkedMore.hidden = !nextCursor;
}

function parkedRow(item) {
  const cells = {
    projection: el('th', { scope: 'row' }),
    position: el('td', { class: 'num' }),
    stream: el('td', { class: 'code' }),
    type: el('td'),
    error: el('td', { class: 'error-text' }),
    attempts: el('td', { class: 'num' }),
    status: el('td'),
    actions: el('td', { class: 'actions' }),
  };
  const where = `the event at position ${position(item.position)} of ${item.projection}`;
  const controls = {
    retry: button('Retry', where, { class: 'retry-button' }),
    skip: button('Skip', where, { class: 'skip-button danger' }),
  };
  const row = { tr: el('tr', { 'data-id': item.id }, ...Object.values(cells)), cells, controls, current: item };
  controls.retry.addEventListener('click', () => void resolveParked(row, 'retry'));
  controls.skip.addEventListener('click', () => void resolveParked(row, 'skip'));
  fill(cells.actions, el('div', { class: 'buttons' }, controls.retry, controls.skip));
  parked.rows.set(item.id, row);
  return row;
}

function updateParkedRow(row, item) {
  const { cells, controls, tr } = row;
  row.current = item;
  tr.dataset.status = item.status;
  say(cells.projection, item.projection);
  say(cells.position, position(item.position));
  say(cells.stream, item.streamId);
  say(cells.type, item.type);
  say(cells.error, item.error);
  say(cells.attempts, integer.format(item.attempts));
  fill(
    cells.status,
    badge(PARKED_STATUS, item.status),
    el(
      'div',
      { class: 'hint' },
      item.resolvedAt ? `resolved ${clock(item.resolvedAt)}` : `parked ${clock(item.parkedAt)}`,
    ),
  );
  const waiting = item.status === 'parked';
  controls.retry.hidden = !waiting;
  controls.skip.hidden = !waiting;
  if (!waiting && !cells.actions.querySelector('.hint')) {
    cells.actions.append(el('span', { class: 'hint' }, 'nothing to do'));
  } else if (waiting) {
    cells.actions.querySelector('.hint')?.remove();
  }
}

/** What a retry or a skip came to: the event as it now stands (the runner answers within 5 s). */
function parkedOutcome(item, action) {
  const what = `the ${item.type} event at position ${position(item.position)} of ${item.projection}`;
  switch (item.status) {
    case 'retried':
      return `Retried: ${what} is applied now.`;
    case 'skipped':
      return `Skipped: ${what} is left out for good.`;
    case 'rebuilt':
      return `A rebuild applied ${what}.`;
    case 'parked':
      return `Retried, but ${what} failed again (attempt ${item.attempts}): ${sentence(item.error)}`;
    case 'retrying':
      return `Retrying: the stopped projection applies ${what} again.`;
    default:
      return `Asked to ${action} ${what}: the runner has not taken it up yet; the list shows when it has.`;
  }
}

async function resolveParked(row, action) {
  const item = row.current;
  const where = `the event at position ${position(item.position)} of ${item.projection}`;
  if (
    action === 'skip' &&
    !window.confirm(`Skip ${where} (${item.type}, stream ${item.streamId})? ${item.projection} will never apply it.`)
  ) {
    say(view.parkedMessage, `Not skipped: ${where} still waits.`);
    return;
  }
  const control = row.controls[action];
  control.disabled = true;
  try {
    const now = await post(`/api/ops/parked-events/${enc(item.id)}/${action}`);
    showProblem(view.parkedProblem, null);
    say(view.parkedMessage, parkedOutcome(now, action));
  } catch (problem) {
    if (!ends(problem)) {
      say(view.parkedMessage, '');
      showProblem(view.parkedProblem, explain(problem, `Could not ${action} ${where}`));
    }
  } finally {
    control.disabled = false;
  }
  await refresh();
}

view.parkedAll.addEventListener('change', () => {
  parked.all = view.parkedAll.checked;
  parked.pages = 1;
  void refresh();
});
view.parkedMore.addEventListener('click', () => {
  parked.pages += 1;
  void refresh();
});

// ————— signing in and out —————

let shown = null;

function reset() {
  generation++;
  live = false;
  refused = false;
  clearTimeout(timer);
  timer = null;
  again = false;
  lastRead = null;
  for (const row of projectionRows.values()) row.tr.remove();
  projectionRows.clear();
  for (const row of parked.rows.values()) row.tr.remove();
  parked.rows.clear();
  parked.pages = 1;
  view.console.hidden = true;
  delete view.console.dataset.reads;
  for (const node of [view.status, view.actionMessage, view.parkedMessage]) say(node, '');
  for (const node of [view.problem, view.actionProblem, view.parkedProblem]) showProblem(node, null);
}

function onUser(user) {
  if (user?.id === shown?.id && user?.role === shown?.role) return;
  shown = user;
  reset();
  view.signedIn.hidden = !user;
  if (!user) return;
  say(view.status, 'Reading the projections…');
  live = true;
  void tick();
}

bindSignIn(
  session,
  {
    form: byId('sign-in-form'),
    error: view.signInError,
    signedOut: byId('signed-out'),
    account: byId('account'),
    who: byId('who'),
    signOut: byId('sign-out'),
  },
  onUser,
);
