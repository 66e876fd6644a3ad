// Event fan-out latency: one daemon API (dist/daemon/app.js, the real websocket route) and N
// websocket subscribers in separate processes; each event carries its emit time and every
// subscriber records when it arrived. Target: p99 <= 10 ms at 1,000 subscribers.
//
//   npm run build && node bench/daemon-fanout.mjs [--subscribers 1000] [--events 200] [--interval-ms 20] [--processes 2] [--warmup 20] [--json]
//
// Each run first sends --warmup events that are not counted (the first events after start-up
// pay for JIT compilation and start-up garbage on both sides, which a running daemon has paid).
// Then the same subscribers, events and machine against the floor: a plain `ws` server in the
// same process writing the same frame to each raw socket (one socket write each, nothing of
// tsxend), so a figure can be told apart from what any Node daemon pays on this box.
// --json prints one JSON object ({delivery, handOff, floor: {delivery, handOff}}, in ms) on
// stdout; the human output goes to stderr.
import { setTimeout } from 'node:timers';
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    'interval-ms': { type: 'string', default: '20' },
    warmup: { type: 'string', default: '20' },
    processes: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (values.child) {
  // Subscriber process. A message's arrival time is taken first thing in its handler and kept
  // in a preallocated array; nothing else is kept but each socket's last message (checked after
  // the run), so neither parsing nor garbage of this process's own delays the messages after it.
  // A socket's k-th message is the run's k-th event: the stream is ordered and nothing is lost
  // (the counts and each last message's seq are checked).
  const { default: WebSocket } = await import('ws');
  const n = Number(values.subscribers);
  let sockets = [];
  let events = 0;
  let arrivals;
  let counts;
  let last;
  const open = (url, j) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.on('message', (data) => {
        const t = now();
        const k = counts[j]++;
        if (k < events) arrivals[j * events + k] = t;
        last[j] = data;
      });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  process.on('message', async (m) => {
    try {
      if (m.connect) {
        events = m.events;
        arrivals = new Float64Array(n * events);
        counts = new Uint32Array(n);
        last = new Array(n);
        // A few at a time: a burst of 500 connects overflows the listen backlog.
        for (let i = 0; i < n; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => open(m.connect, i + k)))));
        process.send({ ready: true });
      } else if (m.reset) {
        counts.fill(0);
        last.fill(undefined);
        process.send({ reset: true });
      } else if (m.collect) {
        const lat = [];
        for (let j = 0; j < n; j++) {
          const lastSeq = last[j] && JSON.parse(last[j].toString()).seq;
          if (counts[j] !== events || lastSeq !== m.lastSeq) throw new Error(`subscriber ${j}: ${counts[j]} messages, the last seq ${lastSeq}; expected ${events}, ${m.lastSeq}`);
          for (let k = 0; k < events; k++) lat.push(arrivals[j * events + k] - m.sentAt[k]);
        }
        for (const s of sockets) s.terminate();
        sockets = [];
        process.send({ lat });
      } else if (m.exit) process.exit(0);
    } catch (err) {
      process.send({ error: String(err) });
    }
  });
} else {
  const log = values.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
  const { buildApp } = await import('../dist/daemon/app.js');
  const { Metrics } = await import('../dist/daemon/metrics.js');
  const { WebSocketServer, Sender } = (await import('ws')).default;
  // The smallest orchestrator that has an event feed: the route under test is the real one.
  const listeners = new Set();
  let seq = 0;
  const feed = {
    get currentSeq() {
      return seq;
    },
    replay: () => [],
    subscribe(l) {
      listeners.add(l);
      return { close: () => listeners.delete(l) };
    },
  };
  const orch = { events: feed, listDomains: () => ({ seq, domains: [] }), getDomain: () => { throw new Error('none'); } };
  const app = await buildApp({ orchestrator: orch, config: {}, metrics: new Metrics(orch, { defaultMetrics: false }), version: 'bench', maxEventBufferBytes: 8 * 1024 * 1024 });
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-fanout-'));
  const sock = join(dir, 'api.sock');
  await app.listen({ path: sock });

  // The floor: a plain ws server; each event framed once and written to each raw socket.
  const floorSock = join(dir, 'floor.sock');
  const floorServer = createServer();
  const rawSockets = [];
  new WebSocketServer({ server: floorServer }).on('connection', (_ws, req) => rawSockets.push(req.socket));
  await new Promise((r) => floorServer.listen(floorSock, r));
  const floorSend = (ev) => {
    const payload = Buffer.from(JSON.stringify(ev));
    const frame = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false }));
    for (const s of rawSockets) s.write(frame);
  };

  // Subscribers live in other processes (as real clients would), split over a few of them.
  const nproc = Number(values.processes);
  const per = Math.ceil(Number(values.subscribers) / nproc);
  const children = Array.from({ length: nproc }, () => fork(new URL(import.meta.url).pathname, ['--child', '--subscribers', String(per)], { execArgv: [] }));
  for (const c of children)
    c.on('exit', (code) => {
      if (code !== 0) {
        console.error(`a subscriber process exited with ${code}`);
        process.exit(1);
      }
    });
  const ask = (msg) =>
    Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            c.once('message', (m) => {
              if (m.error) {
                console.error(`subscriber process: ${m.error}`);
                process.exit(1);
              }
              resolve(m);
            });
            c.send(msg);
          }),
      ),
    );

  const events = Number(values.events);
  const figures = (ms) => {
    const v = Float64Array.from(ms).sort();
    const p = (q) => Number(v[Math.min(v.length - 1, Math.floor(q * v.length))].toFixed(2));
    return { p50: p(0.5), p90: p(0.9), p99: p(0.99), max: Number(v.at(-1).toFixed(2)) };
  };
  /** One run: subscribers connect to url, events are emitted by send; delivery and hand-off. */
  const run = async (url, send) => {
    await ask({ connect: url, events });
    const handOff = []; // emit → the frame is handed to every subscriber's socket (daemon side)
    const sentAt = [];
    const emit = () => {
      const ev = { seq: ++seq, time: new Date().toISOString(), type: 'device.connected', domid: 1, name: 'bench', devClass: 'vbd', devid: 51712, data: { sentAt: now() } };
      const t0 = now();
      send(ev);
      return [ev.data.sentAt, now() - t0];
    };
    for (let i = 0; i < Number(values.warmup); i++) {
      emit();
      await sleep(Number(values['interval-ms']));
    }
    await sleep(500);
    await ask({ reset: true });
    for (let i = 0; i < events; i++) {
      const [t, h] = emit();
      sentAt.push(t);
      handOff.push(h);
      await sleep(Number(values['interval-ms']));
    }
    await sleep(500);
    const lat = (await ask({ collect: true, sentAt, lastSeq: seq })).flatMap((r) => r.lat);
    if (lat.length !== events * per * nproc) throw new Error(`${lat.length} deliveries, expected ${events * per * nproc}`);
    return { delivery: figures(lat), handOff: figures(handOff) };
  };

  const load = Number(loadavg()[0].toFixed(2)); // the machine's, before this run adds its own
  const daemon = await run(`ws+unix://${sock}:/v1/events`, (ev) => {
    for (const l of listeners) l(ev);
  });
  const floor = await run(`ws+unix://${floorSock}:/`, floorSend);
  const result = { subscribers: per * nproc, processes: nproc, events, deliveries: events * per * nproc, loadAvg: load, ...daemon, floor };

  const row = (name, r) => `${name.padEnd(32)} ${['p50', 'p90', 'p99', 'max'].map((k) => `${k} ${r[k].toFixed(2).padStart(6)} ms`).join('  ')}`;
  log(`${result.subscribers} subscribers in ${nproc} processes, ${events} events, load average ${result.loadAvg}`);
  log(row('delivery (emit → arrival)', daemon.delivery));
  log(row('hand-off (emit → all sockets)', daemon.handOff));
  log(row('floor: delivery (plain ws)', floor.delivery));
  log(row('floor: hand-off (bare writes)', floor.handOff));
  if (values.json) console.log(JSON.stringify(result));
  for (const c of children) {
    c.removeAllListeners('exit');
    c.send({ exit: true });
  }
  await app.close();
  floorServer.close();
  for (const s of rawSockets) s.destroy();
}
