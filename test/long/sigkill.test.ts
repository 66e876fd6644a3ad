// The daemon SIGKILLed at many points of a create and of a destroy, against the real cxenstored.
// A proxy between tsxend and xenstored counts request frames and kills the daemon just before
// the N-th one (test/helpers/kill-proxy.ts), so kill points are reproducible positions.
// After each kill the daemon restarts on the same state directory and must show every domain
// whole (six devices, backend and frontend Connected) or not at all, with the hypervisor holding
// no domain it does not list; then everything is destroyed and the WHOLE store, `losetup -a`
// and the processes referring to this test's sockets must be as before.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XendConfig } from '../../src/config/model.js';
import type { DomainView } from '../../src/lifecycle/api.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { buildOnce, startServe, type ServeProcess } from '../daemon/helpers/serve-process.js';
import { dumpTree, sixDeviceConfig } from '../lifecycle/helpers.js';
import { startKillProxy, type KillProxy } from '../helpers/kill-proxy.js';

const run = promisify(execFile);
const POINTS = Number(process.env['TSXEND_SIGKILL_POINTS'] ?? 50);
const LOOP_POINTS = Number(process.env['TSXEND_SIGKILL_LOOP_POINTS'] ?? 15);

/** The phases of the daemon's domain records ('done' when none is under way). */
function phasesIn(stateDir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(stateDir, 'domains')).filter((f) => f.endsWith('.json'))) {
    try {
      out.push((JSON.parse(readFileSync(join(stateDir, 'domains', n), 'utf8')) as { phase?: string }).phase ?? 'done');
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** What the killed daemon left for its successor: its records' phases and the hypervisor's domains. */
function leftFor(stateDir: string, domainsFile: string): string {
  const phases = phasesIn(stateDir);
  const domains = readFileSync(domainsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  return `record ${phases.join('+') || 'none'}, ${domains} hypervisor domain(s)`;
}

/** Processes (other than `except`) whose command line or environment names `needle`. */
function processesNaming(needle: string, except: number[]): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || except.includes(Number(p)) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let env = '';
      try {
        env = readFileSync(`/proc/${p}/environ`, 'utf8');
      } catch {
        env = '';
      }
      if (cmd.includes(needle) || env.includes(needle)) out.push(`${p}: ${cmd.trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function losetup(): Promise<string> {
  return run('losetup', ['-a']).then(
    (r) => r.stdout.split('\n').sort().join('\n'),
    (err: Error) => `losetup failed: ${err.message}`,
  );
}

/** n positions spread evenly over an operation, 0 (its first frame) to 1 (its last). */
function fractions(n: number): number[] {
  return Array.from({ length: n }, (_, k) => k / Math.max(1, n - 1));
}

/** A kill point: before the n-th xenstore frame, or when the domain records first match. */
type KillPoint = { frame: number } | { label: string; records: (phases: string[]) => boolean };

interface Outcome {
  point: string;
  fired: boolean;
  /** Frames the operation sent (all of them when no kill fired). */
  seen: number;
  found: string;
  restartMs: number;
  whole: number;
  gone: number;
  problems: string[];
}

/**
 * The suite, with the simulated hotplug scripts, or (realBlock) with Debian's real `block`
 * script for the disks, on image files: loop devices really appear, and must all go.
 */
function killSuite(title: string, count: number, realBlock: boolean): void {
  describeReal('cxenstored', title, () => {
    let xs: RealXenstored;
    let proxy: KillProxy;
    let direct: XenstoreClient;
    let d: ServeProcess;
    let baseline: string[];
    let baseLoops: string;
    let serial = 0;
    const images = mkdtempSync(join(tmpdir(), 'tsxend-sigkill-img-'));
    /** The six-device config; with realBlock its disks are image files the block script loops. */
    const config = (): XendConfig => {
      const c = sixDeviceConfig(`k${++serial}`);
      if (!realBlock) return c;
      const devices: XendConfig['devices'] = {};
      for (const [u, e] of Object.entries(c.devices)) {
        if (e.class !== 'vbd') {
          devices[u] = e;
          continue;
        }
        const target = join(images, `${c.name}-${e.config.vdev}.img`);
        writeFileSync(target, Buffer.alloc(1024 * 1024));
        devices[u] = { ...e, config: { ...e.config, target } };
      }
      return { ...c, devices };
    };

    const serve = (stateDir?: string) =>
      startServe({
        ...(stateDir === undefined ? {} : { stateDir }),
        args: ['--xenstore', `socket:${proxy.path}`],
        env: { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile, ...(realBlock ? { TSXEND_SIM_REAL_SCRIPTS: 'block' } : {}) },
      });
    const req = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const { request } = await import('node:http');
      return new Promise((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const r = request({ socketPath: d.socket, method, path, headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
          let out = '';
          res.on('data', (c: Buffer) => (out += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: out === '' ? undefined : (JSON.parse(out) as unknown) }));
        });
        r.on('error', reject);
        if (text !== undefined) r.write(text);
        r.end();
      });
    };
    const list = async (): Promise<DomainView[]> => ((await req('GET', '/v1/domains')).json as { domains: DomainView[] }).domains;
    const create = async (): Promise<{ status: number; json: unknown }> => req('POST', '/v1/domains?wait=true', config());
    const hvDomids = (): number[] =>
      readFileSync(xs.domainsFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => Number(l.split(' ')[0]));

    /** Every listed domain whole, none the hypervisor has unlisted; answers problems and counts. */
    const checkWhole = async (): Promise<{ whole: number; problems: string[] }> => {
      const problems: string[] = [];
      const doms = await list();
      let whole = 0;
      for (const v of doms) {
        const bad: string[] = [];
        if (v.state !== 'running') bad.push(`state ${v.state}${v.reason ? ` (${v.reason})` : ''}`);
        if (v.devices.length !== 6) bad.push(`${v.devices.length} devices`);
        for (const dev of v.devices) {
          const [be, fe] = await Promise.all([direct.tryRead(`${dev.backendPath}/state`), direct.tryRead(`${dev.frontendPath}/state`)]);
          if (dev.state !== 'connected' || be !== '4' || fe !== '4') bad.push(`${dev.class}/${dev.devid} ${dev.state} be=${be} fe=${fe}`);
        }
        if (bad.length > 0) problems.push(`${v.name} not whole: ${bad.join('; ')}`);
        else whole++;
      }
      const listed = new Set(doms.map((v) => v.domid));
      for (const domid of hvDomids()) if (!listed.has(domid)) problems.push(`hypervisor domain ${domid} is not listed`);
      return { whole, problems };
    };

    /** Destroys everything, then compares the whole store, loop devices and processes. */
    const cleanAndCompare = async (): Promise<string[]> => {
      const problems: string[] = [];
      for (const v of await list()) {
        const r = await req('DELETE', `/v1/domains/${v.uuid}?wait=true&force=true`);
        if (r.status !== 200) problems.push(`destroy of ${v.name}: ${r.status} ${JSON.stringify(r.json)}`);
      }
      // Backend daemons exit once their devices are gone: give them a moment.
      let procs: string[] = [];
      for (let i = 0; i < 100; i++) {
        procs = processesNaming(proxy.path, [d.child.pid ?? -1]);
        if (procs.length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      problems.push(...procs.map((p) => `process left: ${p}`));
      const tree = await dumpTree(direct);
      const added = tree.filter((l) => !baseline.includes(l));
      const removed = baseline.filter((l) => !tree.includes(l));
      // Counted, with the shallowest paths named: a leak is a subtree, not hundreds of lines.
      const roots = (ls: string[]) => ls.map((l) => l.slice(0, l.indexOf(' = '))).filter((p, _, all) => !all.some((q) => q !== p && p.startsWith(`${q}/`)));
      if (added.length > 0) problems.push(`${added.length} leaked nodes under ${roots(added).join(', ')}`);
      if (removed.length > 0) problems.push(`${removed.length} lost nodes: ${roots(removed).join(', ')}`);
      if (hvDomids().length > 0) problems.push(`hypervisor still has ${hvDomids().join(', ')}`);
      const loops = await losetup();
      if (loops !== baseLoops) {
        // The whole list is diffed; a change is ours when it names this test's images (the
        // only files tsxend loops here). Others' (a test running alongside) are only reported.
        const [now, was] = [loops.split('\n'), baseLoops.split('\n')];
        const changed = [...now.filter((l) => !was.includes(l)).map((l) => `+${l}`), ...was.filter((l) => !now.includes(l)).map((l) => `-${l}`)];
        const ours = changed.filter((l) => l.includes(images));
        if (ours.length > 0) problems.push(`loop devices changed: ${ours.join('; ')}`);
        if (ours.length < changed.length) console.log(`loop devices of other processes changed meanwhile: ${changed.filter((l) => !l.includes(images)).join('; ')}`);
        baseLoops = now.filter((l) => !l.includes(images)).join('\n');
      }
      return problems;
    };

    /** Runs `op` with the daemon killed at `at`; restarts it and checks. */
    const killAt = async (at: KillPoint, op: () => Promise<unknown>): Promise<Outcome> => {
      const pid = d.child.pid as number;
      const exited = new Promise((r) => (d.child.exitCode !== null ? r(null) : d.child.once('exit', r)));
      let recordKill = false;
      let watcher: ReturnType<typeof watch> | undefined;
      if ('frame' in at) proxy.arm(at.frame, pid, exited);
      else {
        watcher = watch(join(d.stateDir, 'domains'), () => {
          if (recordKill || !at.records(phasesIn(d.stateDir))) return;
          recordKill = true;
          process.kill(pid, 'SIGKILL');
        });
      }
      await op().catch(() => undefined);
      watcher?.close();
      const fired = proxy.fired || recordKill;
      const seen = proxy.frames;
      proxy.count();
      let found = 'not killed';
      let restartMs = 0;
      if (fired) {
        await exited;
        found = leftFor(d.stateDir, xs.domainsFile);
        const t = Date.now();
        d = await serve(d.stateDir);
        restartMs = Date.now() - t;
      }
      const { whole, problems } = await checkWhole();
      const gone = Math.max(0, 1 - whole);
      problems.push(...(await cleanAndCompare()));
      return { point: 'frame' in at ? `frame ${at.frame}` : at.label, fired, seen, found, restartMs, whole, gone, problems };
    };

    let createFrames = 0;
    let destroyFrames = 0;

    beforeAll(async () => {
      await buildOnce();
      xs = await startXenstored('cxenstored');
      proxy = await startKillProxy(join(xs.dir, 'proxy.sock'), xs.socketPath);
      direct = await openXenstore({ kind: 'socket', path: xs.socketPath });
      d = await serve();
      baseline = await dumpTree(direct);
      baseLoops = await losetup();
      // Creates and destroys without a kill: how many frames each sends. The count varies with
      // the simulators' timing; the smallest of three bounds the kill points, so each one fires.
      // Each after a restart, as in the runs with kills.
      createFrames = Infinity;
      destroyFrames = Infinity;
      for (let i = 0; i < 3; i++) {
        await d.stop('SIGKILL');
        d = await serve(d.stateDir);
        proxy.count();
        const c = await create();
        expect(c.status, JSON.stringify(c.json)).toBe(201);
        createFrames = Math.min(createFrames, proxy.frames);
        // With the real script the check below means something: the disks are loop devices now.
        if (realBlock) expect((await losetup()).split('\n').filter((l) => l.includes(images))).toHaveLength(2);
        proxy.count();
        const r = await req('DELETE', `/v1/domains/${(c.json as DomainView).uuid}?wait=true`);
        expect(r.status).toBe(200);
        destroyFrames = Math.min(destroyFrames, proxy.frames);
        expect(await cleanAndCompare()).toEqual([]);
      }
    }, 180_000);
    afterAll(async () => {
      await d?.stop('SIGKILL');
      await direct?.close();
      await proxy?.close();
      await xs?.stop();
      rmSync(images, { recursive: true, force: true });
    });

    const report = (what: string, outs: Outcome[], frames: number) => {
      const fired = outs.filter((o) => o.fired);
      const found = new Map<string, number>();
      for (const o of fired) found.set(o.found, (found.get(o.found) ?? 0) + 1);
      const restart = fired.reduce((a, o) => a + o.restartMs, 0) / Math.max(1, fired.length);
      const leaks = outs.reduce((a, o) => a + o.problems.length, 0);
      console.log(
        `${what}: ${frames} frames, ${outs.length} kill points, ${fired.length} fired at ${new Set(fired.map((o) => o.point)).size} distinct points (restarts, ${Math.round(restart)} ms each on average); ` +
          `whole ${outs.reduce((a, o) => a + o.whole, 0)}, gone ${outs.reduce((a, o) => a + o.gone, 0)}; problems ${leaks}; ` +
          `the killed daemon left: ${[...found].map(([k, v]) => `${v}× ${k}`).join('; ')}; not fired: ${outs.filter((o) => !o.fired).map((o) => o.point).join(', ') || 'none'}`,
      );
      for (const o of outs) if (o.problems.length > 0) console.log(`${what} ${o.point} (${o.found}): ${o.problems.join(' | ')}`);
      return fired;
    };

    /**
     * Kills `op` at each record point and at `count` frame positions. The number of frames an
     * operation sends varies from run to run; a position that did not fire (the operation sent
     * fewer frames than estimated) is retried, up to twice, with the estimate lowered to what
     * it did send.
     */
    const runPoints = async (frames: number, records: KillPoint[], op: () => Promise<() => Promise<unknown>>): Promise<Outcome[]> => {
      const outs: Outcome[] = [];
      let estimate = frames;
      const first = records.slice(0, 1);
      const last = records.slice(1);
      for (const k of first) outs.push(await killAt(k, await op()));
      for (const q of fractions(count)) {
        for (let attempt = 0; ; attempt++) {
          const o = await killAt({ frame: 1 + Math.round((estimate - 1) * q) }, await op());
          if (o.fired || attempt === 2) {
            outs.push(o);
            break;
          }
          estimate = Math.min(estimate, o.seen);
        }
      }
      for (const k of last) outs.push(await killAt(k, await op()));
      return outs;
    };

    it(`kills the daemon at ${count} points of a create: every domain whole or gone, nothing left behind`, { timeout: 900_000 }, async () => {
      const outs = await runPoints(
        createFrames,
        [
          { label: 'first record save (creating)', records: (p) => p.includes('creating') },
          { label: 'final record save (done)', records: (p) => p.includes('done') },
        ],
        async () => create,
      );
      const fired = report('create', outs, createFrames);
      expect(outs.filter((o) => o.problems.length > 0).map((o) => `${o.point}: ${o.problems.join(' | ')}`)).toEqual([]);
      expect(new Set(fired.map((o) => o.point)).size).toBeGreaterThanOrEqual(count);
    });

    it(`kills the daemon at ${count} points of a destroy: every domain whole or gone, nothing left behind`, { timeout: 900_000 }, async () => {
      const outs = await runPoints(
        destroyFrames,
        [
          { label: 'record save (destroying)', records: (p) => p.includes('destroying') },
          { label: 'record removed', records: (p) => p.length === 0 },
        ],
        async () => {
          const c = await create();
          expect(c.status, JSON.stringify(c.json)).toBe(201);
          const uuid = (c.json as DomainView).uuid;
          return () => req('DELETE', `/v1/domains/${uuid}?wait=true`);
        },
      );
      const fired = report('destroy', outs, destroyFrames);
      expect(outs.filter((o) => o.problems.length > 0).map((o) => `${o.point}: ${o.problems.join(' | ')}`)).toEqual([]);
      expect(new Set(fired.map((o) => o.point)).size).toBeGreaterThanOrEqual(count);
    });
  });
}

killSuite('tsxend serve SIGKILLed during create and destroy', POINTS, false);
killSuite('tsxend serve SIGKILLed during create and destroy, real block script (loop devices)', LOOP_POINTS, true);
