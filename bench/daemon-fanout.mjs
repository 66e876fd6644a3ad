// Event fan-out latency: one daemon API (dist/daemon/app.js, the real websocket route) and N
// websocket subscribers in a separate process; each event carries its emit time and every
// subscriber records how long it took to arrive. Target: p99 <= 10 ms at 1,000 subscribers.
//
//   npm run build && node bench/daemon-fanout.mjs [--subscribers 1000] [--events 200] [--interval-ms 20]
import { setTimeout } from 'node:timers';
import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({ options: { subscribers: { type: 'string', default: '1000' }, events: { type: 'string', default: '200' }, 'interval-ms': { type: 'string', default: '20' }, processes: { type: 'string', default: '4' }, child: { type: 'string' } } });
const now = () => performance.timeOrigin + performance.now();

if (values.child) {
  // Subscriber process: open N sockets, measure arrival latency, report percentiles.
  const { default: WebSocket } = await import('ws');
  const n = Number(values.subscribers);
  const lat = [];
  let open = 0;
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws+unix://${values.child}:/v1/events`);
    ws.on('message', (data) => {
      const ev = JSON.parse(data.toString());
      lat.push(now() - ev.data.sentAt);
    });
    ws.once('open', () => {
      if (++open === n) process.send({ ready: true });
    });
    sockets.push(ws);
  }
  process.on('message', (m) => {
    if (m.done) {
      process.send({ lat });
      for (const s of sockets) s.terminate();
      setTimeout(() => process.exit(0), 100);
    }
  });
} else {
  const { buildApp } = await import('../dist/daemon/app.js');
  const { Metrics } = await import('../dist/daemon/metrics.js');
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
  const sock = join(mkdtempSync(join(tmpdir(), 'tsxend-fanout-')), 'api.sock');
  await app.listen({ path: sock });
  // Subscribers live in other processes (as real clients would), split over a few of them.
  const nproc = Number(values.processes);
  const per = Math.ceil(Number(values.subscribers) / nproc);
  const children = Array.from({ length: nproc }, () => fork(new URL(import.meta.url).pathname, ['--child', sock, '--subscribers', String(per)]));
  await Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
  const events = Number(values.events);
  const handOff = []; // emit → the frame is handed to every subscriber's socket (daemon side)
  for (let i = 0; i < events; i++) {
    const ev = { seq: ++seq, time: new Date().toISOString(), type: 'device.connected', domid: 1, name: 'bench', devClass: 'vbd', devid: 51712, data: { sentAt: now() } };
    const t0 = now();
    for (const l of listeners) l(ev);
    handOff.push(now() - t0);
    await new Promise((r) => setTimeout(r, Number(values['interval-ms'])));
  }
  await new Promise((r) => setTimeout(r, 500));
  const results = await Promise.all(children.map((c) => new Promise((r) => { c.once('message', r); c.send({ done: true }); })));
  const lat = results.flatMap((r) => r.lat).sort((a, b) => a - b);
  const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2);
  handOff.sort((a, b) => a - b);
  const h = (q) => handOff[Math.min(handOff.length - 1, Math.floor(q * handOff.length))].toFixed(2);
  console.log(JSON.stringify({ subscribers: per * nproc, processes: nproc, events, deliveries: lat.length, p50_ms: p(0.5), p90_ms: p(0.9), p99_ms: p(0.99), max_ms: lat.at(-1).toFixed(2), handoff_p50_ms: h(0.5), handoff_p99_ms: h(0.99) }));
  await app.close();
}
