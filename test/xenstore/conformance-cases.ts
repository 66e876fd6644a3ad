// Operation sequences that run, unchanged, against real cxenstored and against the mock. Each
// case writes a transcript: every request, the exact reply bytes (header + payload), and the
// set of watch events that arrived with it. conformance.test.ts compares the two transcripts.
//
// Cases stay clear of what is known to be non-deterministic in cxenstored 4.17: malformed
// READ/DIRECTORY/GET_PERMS/MKDIR/RM payloads (stale errno), DIRECTORY_PART's `gen` value (its
// structure is compared, the number replaced by `G`), and anything needing a real hypervisor
// (INTRODUCE of a live domain).

import { args, frame, RawClient, type RawMessage, T, wv } from './mock-raw-client.js';

export interface Target {
  open(): Promise<RawClient>;
  /** An unprivileged connection as domain `domid` (introduced first; it must exist: setDomains). */
  guest(domid: number): Promise<RawClient>;
  /** Domains that exist besides dom0 (the simulated hypervisor / the LD_PRELOAD stub). */
  setDomains(domids: number[]): Promise<void>;
}

const hex = (b: Buffer): string => b.toString('hex');
const normalizeGen = (m: RawMessage): string => {
  if (m.type !== T.DIRECTORY_PART) return hex(m.bytes);
  const nul = m.payload.indexOf(0);
  return `${hex(m.bytes.subarray(0, 12))}|len-minus-gen:${m.payload.length - nul}|G|${hex(m.payload.subarray(nul))}`;
};

export class Conn {
  constructor(
    private readonly name: string,
    private readonly c: RawClient,
    private readonly log: string[],
  ) {}

  private record(events: RawMessage[]): void {
    if (events.length) this.log.push(`  events ${events.map((e) => e.payload.toString('latin1').replace(/\0/g, '|')).sort().join(' ; ')}`);
  }

  /** One request; answers the reply payload as latin1 (for tx ids). */
  async req(type: number, payload: Buffer | string, txId = 0, reqId = 0x1234): Promise<string> {
    const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const r = await this.c.request(type, p, { txId, reqId });
    this.log.push(`${this.name} > ${type} tx=${txId} ${JSON.stringify(p.toString('latin1'))}`);
    this.record(r.events);
    this.log.push(`  < ${normalizeGen(r.reply)}`);
    return r.reply.payload.toString('latin1');
  }

  /** Events that arrive after the last reply (a new watch's first event). */
  async drain(ms = 60): Promise<void> {
    const got = await this.c.drain(ms);
    this.log.push(`${this.name} drained`);
    this.record(got);
    if (got.some((m) => m.type !== T.WATCH_EVENT)) this.log.push('  unexpected non-event message');
  }

  /** Raw bytes; records whatever comes back and whether the connection closed. */
  async raw(bytes: Buffer, ms = 200): Promise<void> {
    this.c.write(bytes);
    const got: RawMessage[] = [];
    for (;;) {
      const m = await this.c.next(ms);
      if (!m) break;
      got.push(m);
    }
    this.log.push(`${this.name} raw ${hex(bytes).slice(0, 80)}`);
    for (const m of got) this.log.push(`  < ${hex(m.bytes)}`);
    this.log.push(`  closed=${this.c.ended}`);
  }

  /** A fact the case computed from replies (e.g. whether two generations are equal). */
  note(fact: string): void {
    this.log.push(`${this.name} note ${fact}`);
  }

  async start(): Promise<number> {
    return Number.parseInt(await this.req(T.TRANSACTION_START, '\0'), 10);
  }

  close(): void {
    this.c.close();
  }
}

export interface CaseContext {
  conn(name: string): Promise<Conn>;
  /** Domain `domid`'s connection (a guest's ring on a real daemon): one per domain and daemon run. */
  guest(name: string, domid: number): Promise<Conn>;
  setDomains(domids: number[]): Promise<void>;
}

export type Case = (x: CaseContext, base: string) => Promise<void>;

/** Runs a case against a target and answers its transcript. */
export async function transcript(target: Target, fn: Case, base: string): Promise<string[]> {
  const log: string[] = [];
  const conns: Conn[] = [];
  try {
    await fn(
      {
        conn: async (name) => {
          const c = new Conn(name, await target.open(), log);
          conns.push(c);
          return c;
        },
        guest: async (name, domid) => {
          const c = new Conn(name, await target.guest(domid), log);
          conns.push(c);
          return c;
        },
        setDomains: (d) => target.setDomains(d),
      },
      base,
    );
  } finally {
    for (const c of conns) c.close();
  }
  return log;
}

const W = (c: Conn, p: string, v = '', tx = 0): Promise<string> => c.req(T.WRITE, wv(p, v), tx);

/** Each case works under its own `base` path so that cases can share one daemon. */
export const CASES: Record<string, Case> = {
  'writes, reads, implicit parents, creation order and values with NULs': async (x, b) => {
    const c = await x.conn('a');
    await W(c, `${b}/a/b/c`, 'v');
    for (const n of ['zeta', 'B', 'a', '_x', '-y', '1', 'a-b', 'aa', 'Z', '10', '2', 'ab']) await W(c, `${b}/o/${n}`);
    await c.req(T.RM, args(`${b}/o/B`));
    await W(c, `${b}/o/B`);
    await c.req(T.DIRECTORY, args(`${b}/o`));
    await c.req(T.READ, args(`${b}/a/b`));
    await c.req(T.WRITE, Buffer.concat([args(`${b}/bin`), Buffer.from([0x61, 0, 0x62, 0, 0xff])]));
    await c.req(T.READ, args(`${b}/bin`));
    await c.req(T.WRITE, `${b}/novalue\0`);
    await c.req(T.READ, args(`${b}/novalue`));
    await c.req(T.DIRECTORY, args(`${b}/bin`));
    await c.req(T.READ, args(`${b}/missing`));
    await c.req(T.DIRECTORY, args(`${b}/missing`));
    await c.req(T.GET_PERMS, args(`${b}/missing`));
    await c.req(T.READ, args('/tool/xenstored'));
    await c.req(T.GET_PERMS, args('/tool'));
  },

  'MKDIR and RM semantics, including RM / and missing parents': async (x, b) => {
    const c = await x.conn('a');
    await W(c, `${b}/m`, 'keep');
    await c.req(T.WATCH, args(`${b}/m`, 'w'));
    await c.drain();
    await c.req(T.MKDIR, args(`${b}/m`));
    await c.req(T.READ, args(`${b}/m`));
    await c.req(T.MKDIR, args(`${b}/m/n/o`));
    await c.req(T.MKDIR, args('/'));
    await c.req(T.RM, args(`${b}/m/n`));
    await c.req(T.RM, args(`${b}/m/n`));
    await c.req(T.RM, args(`${b}/m/n/o`));
    await c.req(T.RM, args('/'));
    await c.req(T.RM, args(`${b}/m`));
    await c.req(T.DIRECTORY, args(b));
  },

  'path rules: characters, slashes, @ names, relative names and the length limit': async (x, b) => {
    const c = await x.conn('a');
    for (const p of [`${b}/a b`, `${b}/a.b`, `${b}/a:b`, `${b}/a@b`, `${b}/A-Z_0`, `${b}//x`, `${b}/`, '', '@foo', `${b}/\u00e9`]) await W(c, p, 'v');
    await c.req(T.READ, args('@foo'));
    await c.req(T.DIRECTORY, args('@releaseDomain'));
    await c.req(T.GET_PERMS, args('@releaseDomain'));
    const rel = b.replace(/^\//, '').replace(/\//g, '-');
    await W(c, `${rel}/x`, '1');
    await c.req(T.READ, args(`/local/domain/0/${rel}/x`));
    await c.req(T.RM, args(`/local/domain/0/${rel}`));
    await W(c, `${b}/` + 'q'.repeat(2048 - b.length - 1));
    await W(c, `${b}/` + 'q'.repeat(2049 - b.length - 1));
    await W(c, '/local/domain/0/' + 'q'.repeat(2048));
    await W(c, '/local/domain/0/' + 'q'.repeat(2049));
    await W(c, '/local/domain/12345/' + 'q'.repeat(2048));
    await W(c, '/local/domain/123456/' + 'q'.repeat(2040));
    await c.req(T.RM, args('/local'));
  },

  'reply headers echo req_id and tx_id; ENOSYS types; zero-length payloads': async (x, b) => {
    const c = await x.conn('a');
    await c.req(T.READ, args('/tool'), 0, 0xffffffff);
    await c.req(T.READ, args('/tool'), 999, 3);
    for (const t of [15, 16, 20, 23, 24, 25, 26, 27, 99, 65535]) await c.req(t, args('/'));
    await c.req(T.TRANSACTION_START, '');
    await c.req(T.WRITE, '');
    await c.req(T.DIRECTORY, args(b));
  },

  'malformed arguments where cxenstored answers deterministically': async (x) => {
    const c = await x.conn('a');
    for (const t of [T.TRANSACTION_END, T.GET_DOMAIN_PATH, T.IS_DOMAIN_INTRODUCED, T.RELEASE, T.RESUME]) {
      await c.req(t, '5');
      await c.req(t, '5\0\0');
      await c.req(t, '');
    }
    await c.req(T.WRITE, '/p');
    await c.req(T.SET_PERMS, args('/tool'));
    await c.req(T.SET_PERMS, '/tool');
    await c.req(T.WATCH, args('/a'));
    await c.req(T.WATCH, args('/a', 't', 'x'));
    await c.req(T.UNWATCH, args('/a'));
    await c.req(T.INTRODUCE, args('5', '1'));
    await c.req(T.SET_TARGET, args('5'));
    await c.req(T.DIRECTORY_PART, args('/tool'));
    await c.req(T.DIRECTORY_PART, args('/tool', '0', '1'));
  },

  'GET_DOMAIN_PATH and IS_DOMAIN_INTRODUCED parse their argument with atoi': async (x) => {
    const c = await x.conn('a');
    for (const a of ['5', 'abc', '', '12x', '-1', '4294967295', '65536', ' 7', '+3', '0x10']) await c.req(T.GET_DOMAIN_PATH, args(a));
    for (const a of ['0', '32752', 'abc', '5', '']) await c.req(T.IS_DOMAIN_INTRODUCED, args(a));
  },

  'domain messages without a hypervisor: RELEASE, RESUME, SET_TARGET, INTRODUCE errors': async (x, b) => {
    const c = await x.conn('a');
    await x.setDomains([41]);
    await c.req(T.RELEASE, args('0'));
    await c.req(T.RELEASE, args('40'));
    await W(c, `${b}/p`);
    await c.req(T.SET_PERMS, args(`${b}/p`, 'n41'));
    await c.req(T.RELEASE, args('41'));
    await c.req(T.RESUME, args('0'));
    await c.req(T.RESUME, args('40'));
    await c.req(T.RESUME, args('41'));
    await c.req(T.SET_TARGET, args('40', '0'));
    await c.req(T.SET_TARGET, args('41', '0'));
    await c.req(T.INTRODUCE, args('41', '1', '0'));
    await c.req(T.IS_DOMAIN_INTRODUCED, args('41'));
    await x.setDomains([]);
  },

  'permissions: parsing, printing, owner existence, inheritance, dom0 bypass': async (x, b) => {
    const c = await x.conn('a');
    await x.setDomains([51, 52]);
    await W(c, `${b}/p`);
    await c.req(T.SET_PERMS, args(`${b}/p`, 'b0', 'r0x33', 'w064'));
    await c.req(T.GET_PERMS, args(`${b}/p`));
    for (const bad of ['x1', 'r', 'r1x', 'r0x', 'r-1']) await c.req(T.SET_PERMS, args(`${b}/p`, bad));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'n9'));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'r9', 'b0'));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'b0', 'w2', 'n3'));
    await c.req(T.GET_PERMS, args(`${b}/p`));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'n51', 'r52', 'w0'));
    await c.req(T.GET_PERMS, args(`${b}/p`));
    await c.req(T.SET_PERMS, `${b}/p\0n0\0r1`);
    await c.req(T.GET_PERMS, args(`${b}/p`));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'n0', 'r1', 'w2'));
    await W(c, `${b}/p/child/gc`);
    await c.req(T.GET_PERMS, args(`${b}/p/child`));
    await c.req(T.GET_PERMS, args(`${b}/p/child/gc`));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'r51'));
    await W(c, `${b}/p`, 'dom0 may');
    await c.req(T.READ, args(`${b}/p`));
    await c.req(T.SET_PERMS, args(`${b}/missing`, 'n0'));
    await c.req(T.SET_PERMS, args(`${b}/bad path`, 'n0'));
    await c.req(T.SET_PERMS, args(`${b}/bad path`, 'n9'));
    await c.req(T.SET_PERMS, args('@releaseDomain', 'n0', 'r51'));
    await c.req(T.SET_PERMS, args('@introduceDomain', 'n0'));
    await c.req(T.SET_PERMS, args(`${b}/p`, 'n0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6'));
    await c.req(T.GET_PERMS, args(`${b}/p`));
    await x.setDomains([]);
  },

  'watches: first event, duplicates, unwatch, ancestors, relative paths, tokens': async (x, b) => {
    const c = await x.conn('a');
    await c.req(T.WATCH, args(`${b}/none/deeper`, 'tok1'));
    await c.drain();
    await c.req(T.WATCH, args(`${b}/none/deeper`, 'tok1'));
    await c.req(T.WATCH, args(`${b}/none/deeper`, 'tok2'));
    await c.drain();
    await c.req(T.UNWATCH, args(`${b}/nope`, 't'));
    await c.req(T.UNWATCH, args(`${b}/none/deeper`, 'tok2'));
    await c.req(T.WATCH, args(`${b}/w/a`, 'anc'));
    await c.drain();
    await c.req(T.WATCH, args(`${b}/w/a/b/c/d`, 'below'));
    await c.drain();
    await W(c, `${b}/w/a/b/c`, 'v');
    const rel = `${b.replace(/^\//, '').replace(/\//g, '-')}`;
    await c.req(T.WATCH, args(rel, 'r'));
    await c.drain();
    await c.req(T.WATCH, args(`/local/domain/0/${rel}`, 'r'));
    await W(c, `/local/domain/0/${rel}/x`);
    await c.req(T.UNWATCH, args(`/local/domain/0/${rel}`, 'r'));
    await c.req(T.RM, args(`/local/domain/0/${rel}`));
    await c.req(T.WATCH, args(`${b}/tk`, ''));
    await c.drain();
    await c.req(T.WATCH, args(`${b}/tk`, 'tok with space!/@\u00ff'));
    await c.drain();
    await c.req(T.WATCH, args(`${b}/wt`, 'x'), 77);
    await c.drain();
    await c.req(T.UNWATCH, args(`${b}/wt`, 'x'), 77);
    await c.req(T.WATCH, args(`${b}/bad path`, 'x'));
    await c.req(T.UNWATCH, args(`${b}/bad path`, 'x'));
    await W(c, `${b}/tk`, 'v');
    await c.req(T.SET_PERMS, args(`${b}/tk`, 'n0'));
    await c.req(T.RESET_WATCHES, '\0');
    await W(c, `${b}/tk`, 'v2');
  },

  'watch events across connections, identical-event dropping, events before replies': async (x, b) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await o.req(T.WATCH, args(b, 'other'));
    await o.drain();
    await c.req(T.WATCH, args(`${b}/dd`, 'same'));
    await c.drain();
    await c.req(T.WATCH, args(`${b}/dd/x`, 'same'));
    await c.drain();
    await W(c, `${b}/dd/x`);
    await W(c, `${b}/dd/x`, '2');
    await o.drain();
  },

  'RM fires exact watches on existing descendants, deepest first, then the root': async (x, b) => {
    const c = await x.conn('a');
    for (const p of ['/r/a/b', '/r/a/c', '/r/d']) await W(c, b + p);
    for (const [p, t] of [['/r', 'above'], ['/r/a/c', 'c'], ['/r/a', 'a'], ['/r/a/b', 'b'], ['/r/a/none', 'missing'], ['/r/d', 'd']] as const) {
      await c.req(T.WATCH, args(b + p, t));
      await c.drain();
    }
    await c.req(T.RM, args(`${b}/r/a`));
  },

  'special watches: any @ name, first events, SET_PERMS targets': async (x) => {
    const c = await x.conn('a');
    for (const n of ['@whatever', '@releaseDomain/5', '@introduceDomain', '@releaseDomain', '@a b']) {
      await c.req(T.WATCH, args(n, 's'));
      await c.drain();
    }
    await c.req(T.WATCH, args('@' + 'x'.repeat(2048), 's'));
    await c.drain();
    await c.req(T.WATCH, args('@' + 'x'.repeat(2047), 's'));
    await c.drain();
    await c.req(T.UNWATCH, args('@whatever', 's'));
    await c.req(T.RESET_WATCHES, '');
  },

  'transactions: ids, nesting, unknown ids, END semantics': async (x, b) => {
    const c = await x.conn('a');
    const t1 = await c.start();
    await c.req(T.TRANSACTION_END, args('F'), t1);
    await c.start();
    const t3 = await c.start();
    await c.req(T.TRANSACTION_START, '\0', t3);
    await c.req(T.TRANSACTION_START, '\0', 999);
    await c.req(T.TRANSACTION_START, 'junk\0');
    await c.req(T.READ, args('/tool'), 999);
    await c.req(T.WATCH, args(`${b}/tw`, 't'), 999);
    await c.drain();
    await c.req(T.TRANSACTION_END, args('T'));
    for (const bad of [args('X'), args('TT'), 'T', '']) await c.req(T.TRANSACTION_END, bad, t3);
    await c.req(T.TRANSACTION_END, args('F'), t3);
    await c.req(T.TRANSACTION_END, args('F'), t3);
    await c.req(T.READ, args('/tool'), t3);
    await c.req(T.RESET_WATCHES, '\0', 999);
    const t6 = await c.start();
    await c.req(T.RESET_WATCHES, '\0', t6);
    await c.req(T.READ, args('/tool'), t6);
    await c.start();
  },

  'transactions: no snapshot, own copy, every op inside, held events': async (x, b) => {
    const c = await x.conn('a');
    await c.req(T.WATCH, args(b, 'all'));
    await c.drain();
    await W(c, `${b}/x/a`, '1');
    const tx = await c.start();
    await W(c, `${b}/x/a`, '2');
    await W(c, `${b}/x/new`, 'n');
    await c.req(T.READ, args(`${b}/x/a`), tx);
    await c.req(T.READ, args(`${b}/x/new`), tx);
    await W(c, `${b}/x/b`, 'later', tx);
    await W(c, `${b}/x/c`, '', tx);
    await c.req(T.READ, args(`${b}/x/b`), tx);
    await c.req(T.READ, args(`${b}/x/b`));
    await c.req(T.MKDIR, args(`${b}/t/m`), tx);
    await W(c, `${b}/t/m/v`, 'x', tx);
    await c.req(T.DIRECTORY, args(`${b}/t/m`), tx);
    await c.req(T.DIRECTORY_PART, args(`${b}/t/m`, '0'), tx);
    await c.req(T.SET_PERMS, args(`${b}/t/m/v`, 'n0', 'r0'), tx);
    await c.req(T.GET_PERMS, args(`${b}/t/m/v`), tx);
    await c.req(T.GET_DOMAIN_PATH, args('3'), tx);
    await c.req(T.IS_DOMAIN_INTRODUCED, args('0'), tx);
    await c.req(T.RM, args(`${b}/t/m/v`), tx);
    await c.req(T.READ, args(`${b}/t/m/v`), tx);
    await c.req(T.RM, args(`${b}/x/a`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await c.req(T.DIRECTORY, args(`${b}/x`));
    const t2 = await c.start();
    await W(c, `${b}/f/a`, '', t2);
    await c.req(T.TRANSACTION_END, args('F'), t2);
    await c.req(T.READ, args(`${b}/f/a`));
  },

  'transactions: the cxenstored conflict rule, case by case': async (x, b) => {
    const c = await x.conn('a');
    type Op = [number, Buffer];
    const Wo = (p: string, v = ''): Op => [T.WRITE, wv(`${b}${p}`, v)];
    const R = (p: string): Op => [T.READ, args(`${b}${p}`)];
    const RM = (p: string): Op => [T.RM, args(`${b}${p}`)];
    const MK = (p: string): Op => [T.MKDIR, args(`${b}${p}`)];
    const DIR = (p: string): Op => [T.DIRECTORY, args(`${b}${p}`)];
    const DP = (p: string): Op => [T.DIRECTORY_PART, args(`${b}${p}`, '0')];
    const GP = (p: string): Op => [T.GET_PERMS, args(`${b}${p}`)];
    const SP = (p: string, ...perms: string[]): Op => [T.SET_PERMS, args(`${b}${p}`, ...perms)];
    const scenarios: [Op[], Op[]][] = [
      [[R('/x/a')], [Wo('/x/a', '9')]],
      [[R('/x/a'), Wo('/x/b')], [Wo('/x/a', '1')]],
      [[R('/x/new')], [Wo('/x/new')]],
      [[Wo('/x/b')], [Wo('/x/c')]],
      [[Wo('/x/a', '2')], [Wo('/x/a', '3')]],
      [[Wo('/x/a', '2')], [Wo('/x/s/t', 'u')]],
      [[DIR('/x')], [Wo('/x/n')]],
      [[DP('/x')], [Wo('/x/n')]],
      [[RM('/x/s')], [Wo('/x/s/u')]],
      [[MK('/x/m/n')], [Wo('/y/z')]],
      [[MK('/x/a')], [Wo('/x/zz')]],
      [[MK('/x/a')], [Wo('/x/a', 'q')]],
      [[RM('/x/s')], [Wo('/x/s/t', 't')]],
      [[RM('/x/s')], [Wo('/x/zz')]],
      [[RM('/x/nope')], [Wo('/x/zz')]],
      [[RM('/x/nope')], [Wo('/x/a', 'q')]],
      [[Wo('/x/a', '2')], [Wo('/x/zz')]],
      [[R('/x/q/r')], [Wo('/x/zz')]],
      [[R('/x/q/r')], [Wo('/x/a', '5')]],
      [[SP('/x/a', 'n0')], [Wo('/x/a', '5')]],
      [[SP('/x/a', 'n0')], [Wo('/x/zz')]],
      [[R('/x/a')], [SP('/x/a', 'n0')]],
      [[GP('/x/a')], [Wo('/x/a', '5')]],
      [[R('/x/a')], [Wo('/x/a/ch')]],
      [[R('/x/s')], [Wo('/x/s/t', 'changed')]],
      [[Wo('/x/s/t/deep')], [RM('/x/s')]],
      [[], [Wo('/x/a', '1')]],
      [[Wo('/x/new2'), RM('/x/new2')], [Wo('/x/a', '1')]],
    ];
    let i = 0;
    for (const [inside, outside] of scenarios) {
      const base = `/sc${i++}`;
      const fix = (op: Op): Op => [op[0], Buffer.from(op[1].toString('latin1').replace(b, b + base), 'latin1')];
      await W(c, `${b}${base}/x/a`, '1');
      await W(c, `${b}${base}/x/s/t`, 't');
      const tx = await c.start();
      for (const op of inside) await c.req(...fix(op), tx);
      for (const op of outside) await c.req(...fix(op));
      await c.req(T.TRANSACTION_END, args('T'), tx);
    }
  },

  'transactions: events delivered at commit, none on abort or EAGAIN': async (x, b) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await o.req(T.WATCH, args(b, 'o'));
    await o.drain();
    await c.req(T.WATCH, args(b, 'all'));
    await c.drain();
    for (const p of ['/r/a/b', '/r/a/c']) await W(c, b + p);
    await c.req(T.WATCH, args(`${b}/r/a/b`, 'exact'));
    await c.drain();
    const tx = await c.start();
    await W(c, `${b}/e/b`, '', tx);
    await W(c, `${b}/e/a`, '', tx);
    await c.req(T.SET_PERMS, args(`${b}/e/a`, 'n0'), tx);
    await c.req(T.RM, args(`${b}/r/a`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await o.drain();
    const t2 = await c.start();
    await W(c, `${b}/f/a`, '', t2);
    await c.req(T.TRANSACTION_END, args('F'), t2);
    const t3 = await c.start();
    await W(c, `${b}/g/b`, '', t3);
    await W(c, `${b}/g/c`);
    await c.req(T.TRANSACTION_END, args('T'), t3);
    await o.drain();
  },

  'transactions: nodes created and deleted inside one transaction': async (x, b) => {
    const c = await x.conn('a');
    await c.req(T.WATCH, args(b, 'all'));
    await c.drain();
    const scen: [string[], string[]][] = [
      [['R /x/n', 'W /x/n', 'RM /x/n'], ['W /x/n']],
      [['W /x/n2', 'RM /x/n2', 'W /x/n2'], []],
      [['W /x/n3', 'RM /x/n3'], ['W /x/zz']],
      [['W /x/n4/deep', 'RM /x/n4'], []],
      [['W /x/n5/deep', 'RM /x/n5/deep'], ['W /x/n5']],
      [['RM /x/a', 'W /x/a'], []],
      [['RM /x/a', 'W /x/a'], ['W /x/a']],
      [['W /x/n6', 'RM /x/n6'], ['W /x/n6']],
    ];
    let i = 0;
    for (const [inside, outside] of scen) {
      const base = `${b}/s${i++}`;
      const op = (s: string): [number, Buffer] => {
        const [verb, p] = s.split(' ') as [string, string];
        const full = base + p;
        return verb === 'W' ? [T.WRITE, wv(full)] : verb === 'R' ? [T.READ, args(full)] : [T.RM, args(full)];
      };
      await W(c, `${base}/x/a`, '1');
      const tx = await c.start();
      for (const s of inside) await c.req(...op(s), tx);
      for (const s of outside) await c.req(...op(s));
      await c.req(T.TRANSACTION_END, args('T'), tx);
      await c.req(T.DIRECTORY, args(`${base}/x`));
    }
  },

  // The cases below are the differences the randomized differential test (differential.test.ts)
  // found between the mock and cxenstored 4.17, each kept here as a fixed case.

  'transactions: RM of a node another connection removed after the transaction read it is EIO': async (x, b) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await o.req(T.WATCH, args(b, 'o'));
    await o.drain();
    await W(c, `${b}/e/n/k`, 'v');
    const tx = await c.start();
    await c.req(T.READ, args(`${b}/e/n`), tx);
    await c.req(T.RM, args(`${b}/e/n`));
    // The transaction still has its copy of /e/n, but the parent no longer lists it.
    await c.req(T.RM, args(`${b}/e/n`), tx);
    await c.req(T.READ, args(`${b}/e/n`), tx);
    await c.req(T.DIRECTORY, args(`${b}/e`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await o.drain();
  },

  'transactions: RM under a stale copy of the parent is EIO; the node is gone inside': async (x, b) => {
    const c = await x.conn('a');
    await W(c, `${b}/p/a`);
    const tx = await c.start();
    await c.req(T.READ, args(`${b}/p/q/r`), tx);
    await W(c, `${b}/p/x`, 'outside');
    await c.req(T.RM, args(`${b}/p/x`), tx);
    await c.req(T.READ, args(`${b}/p/x`), tx);
    await c.req(T.DIRECTORY, args(`${b}/p`), tx);
    await c.req(T.TRANSACTION_END, args('F'), tx);
    await c.req(T.READ, args(`${b}/p/x`));
  },

  'transactions: an RM walk stops at a child removed outside (EIO), keeping what it deleted': async (x, b) => {
    const c = await x.conn('a');
    for (const p of ['/w/c1/d', '/w/c2', '/w/c3']) await W(c, b + p, p);
    const tx = await c.start();
    await c.req(T.READ, args(`${b}/w`), tx);
    await c.req(T.RM, args(`${b}/w/c2`));
    await c.req(T.RM, args(`${b}/w`), tx);
    await c.req(T.DIRECTORY, args(`${b}/w`), tx);
    await c.req(T.READ, args(`${b}/w/c1`), tx);
    await c.req(T.READ, args(`${b}/w/c3`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await c.req(T.DIRECTORY, args(`${b}/w`));
  },

  'transactions: a stale copy of a parent can list a child twice': async (x, b) => {
    const c = await x.conn('a');
    await W(c, `${b}/d/b`);
    const tx = await c.start();
    await c.req(T.GET_PERMS, args(`${b}/d/a`), tx);
    await c.req(T.RM, args(`${b}/d/b`));
    await W(c, `${b}/d/b/a`, '', tx);
    await c.req(T.DIRECTORY, args(`${b}/d`), tx);
    await c.req(T.DIRECTORY_PART, args(`${b}/d`, '2'), tx);
    await c.req(T.RM, args(`${b}/d/b`), tx);
    await c.req(T.DIRECTORY, args(`${b}/d`), tx);
    await c.req(T.RM, args(`${b}/d`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
  },

  'transactions: commit events of a written node whose ancestor the transaction removed': async (x, b) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await W(c, `${b}/k/b/a/c`);
    const tx = await c.start();
    await W(c, `${b}/k/b/a/c`, '', tx);
    for (const [p, t] of [['/k/b', 'anc'], ['/k/b/a/c', 'self'], ['/k/b/a', 'mid']] as const) {
      await o.req(T.WATCH, args(b + p, t));
      await o.drain();
    }
    await c.req(T.RM, args(`${b}/k`), tx);
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await o.drain();
  },

  'transactions: commit events of nodes deleted and created again in one transaction': async (x, b) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await W(c, `${b}/r/x`);
    const tx = await c.start();
    await W(c, `${b}/r/a/a`, '', tx);
    await c.req(T.RM, args(`${b}/r`), tx);
    await W(c, `${b}/r/a/a`, '', tx);
    for (const [p, t] of [['/r/a', 'a'], ['/r', 'r'], ['/r/x', 'x'], ['/r/a/a', 'aa']] as const) {
      await o.req(T.WATCH, args(b + p, t));
      await o.drain();
    }
    await c.req(T.TRANSACTION_END, args('T'), tx);
    await o.drain();
  },

  'transactions: every write inside takes a new generation (DIRECTORY_PART)': async (x, b) => {
    const c = await x.conn('a');
    const gen = async (tx = 0): Promise<string> => (await c.req(T.DIRECTORY_PART, args(`${b}/g`, '0'), tx)).split('\0')[0]!;
    await W(c, `${b}/g/x`);
    const outside0 = await gen();
    const tx = await c.start();
    const read = await gen(tx);
    await W(c, `${b}/g/y`, '', tx);
    const written1 = await gen(tx);
    await W(c, `${b}/g/z`, '', tx);
    const written2 = await gen(tx);
    const outside1 = await gen();
    await c.req(T.TRANSACTION_END, args('T'), tx);
    const committed = await gen();
    c.note(`read=outside ${read === outside0}, write changes ${written1 !== read}, again ${written2 !== written1}, outside unchanged ${outside1 === outside0}, commit changes ${committed !== written2 && committed !== outside0}`);
  },

  'a guest: first events it may not read, ENOENT under a parent it may only write, what it sees of changes': async (x, b) => {
    const d = await x.conn('d0');
    await x.setDomains([5]);
    const g = await x.guest('g', 5);
    await W(d, `${b}/w`);
    await d.req(T.SET_PERMS, args(`${b}/w`, 'n0', 'w5'));
    // Write access to the nearest parent is enough to learn that the node is missing.
    await g.req(T.RM, args(`${b}/w/a/b`));
    await g.req(T.WRITE, wv(`${b}/w/a/b`, 'g'));
    await g.req(T.READ, args(`${b}/w/a/b`));
    await g.req(T.READ, args(`${b}/w/q`));
    // A watch's first event, on nodes the guest may not read or that do not exist.
    await g.req(T.WATCH, args(`${b}/hidden`, 'h'));
    await g.drain();
    await g.req(T.WATCH, args(b, 'base'));
    await g.drain();
    // Visible by the new permissions of a SET_PERMS, not by the old ones.
    await W(d, `${b}/hidden/c`);
    await d.req(T.SET_PERMS, args(`${b}/hidden/c`, 'n0', 'r5'));
    await g.drain();
    // A node the guest may not read whose parent it may: seen when removed outside a
    // transaction (C holds the node and asks its parent), not when a commit removes it.
    await W(d, `${b}/k/n`);
    await d.req(T.SET_PERMS, args(`${b}/k`, 'n0', 'r5'));
    await g.req(T.WATCH, args(`${b}/k`, 'k'));
    await g.drain();
    await d.req(T.RM, args(`${b}/k/n`));
    await g.drain();
    await W(d, `${b}/k/n`);
    await d.req(T.SET_PERMS, args(`${b}/k/n`, 'n0'));
    await g.drain();
    const tx = await d.start();
    await d.req(T.RM, args(`${b}/k/n`), tx);
    await d.req(T.TRANSACTION_END, args('T'), tx);
    await g.drain();
    await x.setDomains([]);
  },

  'DIRECTORY of a big node is E2BIG; DIRECTORY_PART chunks it by byte offsets': async (x, b) => {
    const c = await x.conn('a');
    for (let i = 0; i < 300; i++) await c.req(T.WRITE, args(`${b}/many/child-number-${String(i).padStart(4, '0')}`));
    await c.req(T.DIRECTORY, args(`${b}/many`));
    for (const off of ['0', '4086', '4000', '5', '5400', '5399', '999999', '-1', 'abc']) await c.req(T.DIRECTORY_PART, args(`${b}/many`, off));
    await c.req(T.DIRECTORY_PART, args('/tool/xenstored', '0'));
    await c.req(T.DIRECTORY_PART, args('/tool', '0'));
    await c.req(T.DIRECTORY_PART, args(`${b}/nope`, '0'));
    await c.req(T.WRITE, Buffer.concat([args(`${b}/big`), Buffer.alloc(4096 - b.length - 5, 0x41)]));
    await c.req(T.READ, args(`${b}/big`));
    await c.req(T.RM, args(`${b}/many`));
  },

  'CONTROL: help, check, print and refused commands': async (x) => {
    const c = await x.conn('a');
    await c.req(T.CONTROL, args('help'));
    await c.req(T.CONTROL, args('check'));
    await c.req(T.CONTROL, args('print', 'hello from the conformance suite'));
    await c.req(T.CONTROL, args('print'));
    await c.req(T.CONTROL, args('nonsense'));
    await c.req(T.CONTROL, args(''));
    await c.req(T.CONTROL, 'help');
    await c.req(T.CONTROL, args('help', 'x'));
    await c.req(T.CONTROL, args('check', 'x'));
  },

  'a header announcing more than 4096 bytes closes the connection silently': async (x) => {
    const c = await x.conn('a');
    const o = await x.conn('b');
    await c.raw(Buffer.concat([frame(T.READ, args('/tool'), 1), frame(T.WRITE, Buffer.alloc(0), 2, 0, 4097)]));
    await o.req(T.READ, args('/tool'));
    const d = await x.conn('c');
    await d.raw(frame(T.WRITE, Buffer.concat([args('/x'), Buffer.alloc(4092)]), 3));
  },
};
