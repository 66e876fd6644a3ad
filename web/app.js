// The tsxend web console: the domains live from the event stream, create from a pasted or
// uploaded config, pause/unpause/shutdown/destroy, and the event log. Preact + htm (one small
// standalone module served by the daemon), no build step. It is only a client of the HTTP API
// (docs/api.md): a list as of a seq, then the websocket from that seq, resumed with ?since
// after a drop. A TCP listener's token is kept in sessionStorage (this tab only) and sent as a
// header, or, for the websocket, as a subprotocol (browsers cannot set its headers): never in a URL.

import { html, render, useEffect, useReducer, useRef, useState } from './htm-preact.js';

const TOKEN_KEY = 'tsxend-token';
const MAX_EVENTS = 200;
/** Events before the list's seq shown in the log on load (the daemon's ring holds more). */
const HISTORY = 50;

const token = () => sessionStorage.getItem(TOKEN_KEY);

/** base64url of the token, for the websocket subprotocol (as Kubernetes carries bearer tokens). */
function tokenProtocol(t) {
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(t)));
  return `base64url.bearer.tsxend.${b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

async function api(method, path, { body, contentType, headers = {} } = {}) {
  const t = token();
  const res = await fetch(path, {
    method,
    headers: { accept: 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}), ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text && (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

// ---- the live model: domains by uuid, kept current from the event stream --------------------

function reducer(state, action) {
  switch (action.type) {
    case 'list':
      return { ...state, seq: action.seq, domains: Object.fromEntries(action.domains.map((d) => [d.uuid, d])) };
    case 'domain':
      return { ...state, domains: { ...state.domains, [action.domain.uuid]: action.domain } };
    case 'gone': {
      const { [action.uuid]: _gone, ...rest } = state.domains;
      return { ...state, domains: rest };
    }
    case 'event':
      return { ...state, seq: Math.max(state.seq, action.event.seq), events: [action.event, ...state.events].slice(0, MAX_EVENTS) };
    case 'live':
      return { ...state, live: action.live };
    default:
      return state;
  }
}

function useLiveDomains(onEvent) {
  const [state, dispatch] = useReducer(reducer, { seq: 0, domains: {}, events: [], live: false });
  const seqRef = useRef(0);
  seqRef.current = state.seq;
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;

  useEffect(() => {
    let ws;
    let stopped = false;
    let retry = 500;
    const pending = new Map();
    // One re-read per domain however many of its events arrive together.
    const refresh = (uuid) => {
      if (pending.has(uuid)) return;
      pending.set(uuid, setTimeout(async () => {
        pending.delete(uuid);
        try {
          dispatch({ type: 'domain', domain: await api('GET', `/v1/domains/${encodeURIComponent(uuid)}`) });
        } catch (err) {
          if (err.status === 404) dispatch({ type: 'gone', uuid });
        }
      }, 30));
    };
    const connect = (since) => {
      const t = token();
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      ws = new WebSocket(`${scheme}://${location.host}/v1/events?since=${since}`, t ? ['tsxend', tokenProtocol(t)] : ['tsxend']);
      window.tsxendDebug = { closeStream: () => ws.close() };
      ws.onopen = () => {
        retry = 500;
        dispatch({ type: 'live', live: true });
      };
      ws.onmessage = (m) => {
        const e = JSON.parse(m.data);
        if (e.type === 'resync-required') {
          dispatch({ type: 'list', seq: e.seq, domains: e.data.domains });
          return;
        }
        dispatch({ type: 'event', event: e });
        onEventRef.current?.(e);
        if (e.uuid) {
          if (e.type === 'domain.destroyed' || e.type === 'domain.rolled-back' || e.type === 'domain.undefined') dispatch({ type: 'gone', uuid: e.uuid });
          else refresh(e.uuid);
        }
      };
      ws.onclose = () => {
        dispatch({ type: 'live', live: false });
        if (stopped) return;
        // Resume where the stream stopped: the daemon replays what was missed (or says resync).
        setTimeout(() => !stopped && connect(seqRef.current), retry);
        retry = Math.min(retry * 2, 5000);
      };
    };
    (async () => {
      const list = await api('GET', '/v1/domains');
      dispatch({ type: 'list', seq: list.seq, domains: list.domains });
      seqRef.current = list.seq;
      // A little history for the event log; replayed events only re-read domains, so the list stays right.
      connect(Math.max(0, list.seq - HISTORY));
    })().catch(() => dispatch({ type: 'live', live: false }));
    return () => {
      stopped = true;
      ws?.close();
    };
  }, []);
  return state;
}

// ---- pieces ------------------------------------------------------------------------------------

const State = ({ s }) => html`<span class=${`state ${s}`}>${s}</span>`;

function Devices({ devices }) {
  if (devices.length === 0) return html`<span class="empty">none</span>`;
  return html`<ul class="devices" aria-label="devices">
    ${devices.map((d) => html`<li class=${d.state} key=${`${d.class}/${d.devid}`} title=${d.error ? `${d.error.code}: ${d.error.message}` : d.backendPath}>
      ${d.class} ${d.devid} <span class="dstate">${d.state}</span></li>`)}
  </ul>`;
}

function DomainActions({ d, onError }) {
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const act = async (label, method, path, body) => {
    setBusy(true);
    try {
      await api(method, path, body === undefined ? {} : { body });
    } catch (err) {
      onError(`${label} ${d.name}: ${err.body?.code ?? ''} ${err.message}`);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const ref = encodeURIComponent(d.uuid);
  const live = d.state === 'running' || d.state === 'paused';
  return html`<div class="actions">
    ${d.state === 'paused'
      ? html`<button disabled=${busy} onClick=${() => act('unpause', 'POST', `/v1/domains/${ref}/unpause`)} aria-label=${`Unpause ${d.name}`}>Unpause</button>`
      : html`<button disabled=${busy || d.state !== 'running'} onClick=${() => act('pause', 'POST', `/v1/domains/${ref}/pause`)} aria-label=${`Pause ${d.name}`}>Pause</button>`}
    <button disabled=${busy || !live} onClick=${() => act('shutdown', 'POST', `/v1/domains/${ref}/shutdown?wait=false`, { mode: 'poweroff' })} aria-label=${`Shut down ${d.name}`}>Shutdown</button>
    ${confirming
      ? html`<button class="danger" disabled=${busy} onClick=${() => act('destroy', 'DELETE', `/v1/domains/${ref}?wait=false`)} aria-label=${`Really destroy ${d.name}`}>Really destroy?</button>`
      : html`<button class="danger" disabled=${busy || d.domid === undefined} onClick=${() => setConfirming(true)} aria-label=${`Destroy ${d.name}`}>Destroy</button>`}
  </div>`;
}

function DomainTable({ domains, onError }) {
  const list = Object.values(domains).sort((a, b) => a.name.localeCompare(b.name));
  return html`<table>
    <caption>${list.length} domain${list.length === 1 ? '' : 's'}, live from the event stream</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">State</th><th scope="col">Memory (MiB)</th><th scope="col">vCPUs</th><th scope="col">Devices</th><th scope="col">Actions</th></tr></thead>
    <tbody>
      ${list.length === 0 ? html`<tr><td colspan="7" class="empty">No domains yet: create one from a config.</td></tr>` : null}
      ${list.map((d) => html`<tr key=${d.uuid} data-domain=${d.name}>
        <th scope="row">${d.name}</th>
        <td class="num">${d.domid ?? '-'}</td>
        <td><${State} s=${d.state} />${d.reason ? html`<div class="hint">${d.reason}</div>` : null}</td>
        <td class="num">${d.config.memory}</td>
        <td class="num">${d.config.vcpus}</td>
        <td><${Devices} devices=${d.devices} /></td>
        <td><${DomainActions} d=${d} onError=${onError} /></td>
      </tr>`)}
    </tbody>
  </table>`;
}

/** A problem as `tsxend config check` shows it: file:line:col, the line, a caret under the column. */
export function showProblem(p, text) {
  const where = [p.file ?? '<input>', p.line, p.col].filter((x) => x !== undefined).join(':');
  const head = `${where}: ${p.message}`;
  const line = p.line === undefined ? undefined : text.split('\n')[p.line - 1];
  if (line === undefined) return head;
  const shown = line.replace(/\r$/, '').replace(/\t/g, ' ');
  const gutter = String(p.line).length;
  return `${head}\n ${p.line} | ${shown}\n ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, Math.min((p.col ?? 1) - 1, shown.length)))}^`;
}

const mediaType = (text) => (/^\s*\{/.test(text) ? 'application/json' : /^\s*(#[^\n]*\n\s*)*\(/.test(text) ? 'application/x-sxp' : 'text/plain');

function eventText(e) {
  const dev = e.devClass ? ` ${e.devClass} ${e.devid ?? ''}` : '';
  return `${e.type}${dev}${e.step ? ` ${e.step}` : ''}${e.outcome ? ` [${e.outcome}]` : ''}`;
}

function CreateForm({ progress, setWatch }) {
  const [text, setText] = useState('');
  const [file, setFile] = useState('domain.cfg');
  const [paused, setPaused] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(undefined);
  const load = async (ev) => {
    const f = ev.target.files?.[0];
    if (!f) return;
    setFile(f.name);
    setText(await f.text());
  };
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setResult(undefined);
    setWatch(undefined); // the last create's progress goes
    const submitted = text;
    try {
      const qs = new URLSearchParams({ wait: 'false', ...(paused ? { paused: 'true' } : {}) });
      const res = await api('POST', `/v1/domains?${qs}`, { body: submitted, contentType: mediaType(submitted), headers: { 'x-tsxend-filename': file || 'domain.cfg' } });
      setWatch({ taskId: res.task.id, uuid: res.uuid });
      let task = res.task;
      while (task.state === 'running') {
        await new Promise((r) => setTimeout(r, 200));
        task = await api('GET', `/v1/tasks/${encodeURIComponent(task.id)}`);
      }
      if (task.state === 'succeeded') setResult({ ok: `created ${res.uuid ? (await api('GET', `/v1/domains/${res.uuid}`)).name : ''}` });
      else setResult({ error: { code: task.error?.code ?? task.state, message: task.error?.message ?? `create ${task.state}` } });
    } catch (err) {
      setResult({ error: { code: err.body?.code ?? `HTTP ${err.status ?? ''}`, message: err.message, problems: err.body?.problems ?? [] }, text: submitted });
    } finally {
      setBusy(false);
    }
  };
  return html`<form onSubmit=${submit} aria-describedby="create-hint">
    <p id="create-hint" class="hint">xl.cfg / xm, xend SXP or the JSON model, as <code>tsxend create</code> takes.</p>
    <label for="cfg-text">Domain config</label>
    <textarea id="cfg-text" spellcheck="false" value=${text} onInput=${(e) => setText(e.target.value)} placeholder=${'name = "web1"\nmemory = 256\nkernel = "/boot/vmlinuz"\ndisk = [\'phy:/dev/vg/web1,xvda,w\']\nvif = [\'bridge=xenbr0\']'}></textarea>
    <div class="row">
      <label class="inline" for="cfg-file">Upload a file <input id="cfg-file" type="file" onChange=${load} /></label>
    </div>
    <div class="row">
      <label class="inline" for="cfg-name">File name <input id="cfg-name" type="text" value=${file} onInput=${(e) => setFile(e.target.value)} class="narrow" /></label>
      <label class="inline"><input type="checkbox" checked=${paused} onChange=${(e) => setPaused(e.target.checked)} /> leave paused</label>
      <button class="primary" type="submit" disabled=${busy || text.trim() === ''}>Create</button>
    </div>
    <div aria-live="polite">
      ${progress.length > 0 ? html`<ol class="progress" aria-label="create progress">${progress.map((e) => html`<li key=${e.seq}>${eventText(e)}</li>`)}</ol>` : null}
      ${result?.ok ? html`<p class="state running" role="status">${result.ok}</p>` : null}
      ${result?.error
        ? html`<div role="alert"><p class="error-title">${result.error.code}: ${result.error.problems?.length ? `${result.error.problems.length} problem${result.error.problems.length === 1 ? '' : 's'} in ${file}` : result.error.message}</p>
            ${result.error.problems?.length ? html`<pre class="problems">${result.error.problems.map((p) => showProblem(p, result.text)).join('\n')}</pre>` : null}</div>`
        : null}
    </div>
  </form>`;
}

function EventLog({ events }) {
  return html`<div class="events" tabindex="0" aria-label="Event log entries">
    <table>
      <caption>Newest first, the last ${MAX_EVENTS}</caption>
      <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Domain</th><th scope="col">Event</th></tr></thead>
      <tbody>${events.map((e) => html`<tr key=${e.seq}><td>${e.seq}</td><td>${e.time.slice(11, 19)}</td><td>${e.name ?? (e.domid !== undefined ? `dom${e.domid}` : '')}</td><td>${eventText(e)}</td></tr>`)}</tbody>
    </table>
  </div>`;
}

function Console({ onLogout }) {
  const [watch, setWatch] = useState(undefined);
  const [progress, setProgress] = useState([]);
  const [notice, setNotice] = useState(undefined);
  const watchRef = useRef(undefined);
  watchRef.current = watch;
  // The stream can bring a create's first events before its POST answers with the task id:
  // the latest are kept, and a new watch starts from those that are its own.
  const recentRef = useRef([]);
  const mine = (e, w) => e.taskId === w.taskId || (w.uuid && e.uuid === w.uuid);
  const state = useLiveDomains((e) => {
    recentRef.current.push(e);
    if (recentRef.current.length > 200) recentRef.current.shift();
    const w = watchRef.current;
    if (w && mine(e, w)) setProgress((p) => [...p, e]);
  });
  const [host, setHost] = useState(undefined);
  useEffect(() => void api('GET', '/v1/host').then(setHost, () => undefined), []);
  return html`
    <header>
      <h1>tsxend</h1>
      <span class="host">${host ? `${host.hypervisor ?? ''} · ${host.nrCpus ?? host.cpus ?? ''} CPUs · tsxend ${host.tsxendVersion ?? host.version ?? ''}` : ''}</span>
      <span class="spacer"></span>
      <span class=${`live ${state.live ? 'on' : 'off'}`} role="status">${state.live ? `live · seq ${state.seq}` : 'reconnecting…'}</span>
      ${token() ? html`<button onClick=${onLogout}>Log out</button>` : null}
    </header>
    <main>
      <section class="wide" aria-labelledby="h-domains">
        <h2 id="h-domains">Domains</h2>
        ${notice ? html`<p role="alert" class="error-title">${notice} <button onClick=${() => setNotice(undefined)}>Dismiss</button></p>` : null}
        <${DomainTable} domains=${state.domains} onError=${setNotice} />
      </section>
      <section aria-labelledby="h-create">
        <h2 id="h-create">Create a domain</h2>
        <${CreateForm} progress=${progress} setWatch=${(w) => {
          watchRef.current = w;
          setProgress(w ? recentRef.current.filter((e) => mine(e, w)) : []);
          setWatch(w);
        }} />
      </section>
      <section aria-labelledby="h-events">
        <h2 id="h-events">Event log</h2>
        <${EventLog} events=${state.events} />
      </section>
    </main>`;
}

function Login({ onLogin, error }) {
  const [value, setValue] = useState('');
  return html`<section class="login" aria-labelledby="h-login">
    <h1 id="h-login">tsxend</h1>
    <form onSubmit=${(e) => { e.preventDefault(); onLogin(value.trim()); }}>
      <input type="text" name="username" autocomplete="username" value="tsxend" hidden aria-hidden="true" />
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="current-password" value=${value} onInput=${(e) => setValue(e.target.value)} required />
      <p class="hint">One of the tokens in the daemon's <code>--token-file</code>. It stays in this tab's session storage and is sent only to this daemon.</p>
      ${error ? html`<p role="alert" class="error-title">${error}</p>` : null}
      <div class="row"><button class="primary" type="submit">Sign in</button></div>
    </form>
  </section>`;
}

function App() {
  const [phase, setPhase] = useState('checking');
  const [error, setError] = useState(undefined);
  const check = async () => {
    try {
      await api('GET', '/v1/health');
      setPhase('in');
    } catch (err) {
      if (err.status === 401) setPhase('login');
      else if (err.status === 503) setPhase('in'); // xenstore down: still show what is known
      else setError(err.message);
    }
  };
  useEffect(() => void check(), []);
  const login = async (t) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    try {
      await api('GET', '/v1/health');
      setError(undefined);
      setPhase('in');
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      setError(err.status === 401 ? 'That token is not accepted.' : err.message);
    }
  };
  const logout = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setPhase('login');
  };
  if (phase === 'login') return html`<${Login} onLogin=${login} error=${error} />`;
  if (phase === 'in') return html`<${Console} onLogout=${logout} />`;
  return html`<p class="hint" role="status">${error ?? 'Connecting…'}</p>`;
}

render(html`<${App} />`, document.getElementById('app'));
