// The operations of the randomized differential test (differential.test.ts): plain data, so a
// failing sequence prints and shrinks. Paths are symbolic (segments under the run's base) and
// transaction ids are symbolic references resolved per daemon (each daemon's own START replies),
// so the very same sequence runs against cxenstored, oxenstored and the mock.

import fc from 'fast-check';

/** Dom0 socket connections per run; every op names one (or the guest, index CONNS, if any). */
export const CONNS = 3;
/** The unprivileged guest of runs that have one (its ring connection). */
export const GUEST_DOMID = 5;

/** How an op names its path. `abs`/`rel` lie under the run's base (base itself for no segs). */
export type PathSpec =
  | { readonly form: 'abs' | 'rel'; readonly segs: readonly string[] }
  | { readonly form: 'bad'; readonly segs: readonly string[]; readonly how: 'trailing' | 'double' | 'char' }
  /** Outside the base: only as a watch target ('/', the base's ancestors, `@` names). */
  | { readonly form: 'fixed'; readonly path: string };

/**
 * Which transaction an op runs in: none; the connection's newest live one (none if it has
 * none); its newest ended one (a stale id); another connection's live one; an id never issued.
 */
export type TxRef = 'none' | 'live' | 'ended' | 'other' | 'bogus';

export type NodeKind = 'read' | 'mkdir' | 'rm' | 'directory' | 'getperms';

export type Op =
  | { readonly kind: NodeKind; readonly conn: number; readonly tx: TxRef; readonly path: PathSpec }
  | { readonly kind: 'write'; readonly conn: number; readonly tx: TxRef; readonly path: PathSpec; readonly value: string }
  | { readonly kind: 'dirpart'; readonly conn: number; readonly tx: TxRef; readonly path: PathSpec; readonly offset: number }
  | { readonly kind: 'setperms'; readonly conn: number; readonly tx: TxRef; readonly path: PathSpec; readonly perms: readonly string[] }
  /** `tx`: WATCH and UNWATCH ignore the header's transaction, but the reply copies it. */
  | { readonly kind: 'watch' | 'unwatch'; readonly conn: number; readonly tx: TxRef; readonly path: PathSpec; readonly token: string }
  | { readonly kind: 'start'; readonly conn: number; readonly tx: TxRef }
  | { readonly kind: 'end'; readonly conn: number; readonly tx: TxRef; readonly commit: boolean }
  | { readonly kind: 'reset'; readonly conn: number }
  /** Closes the connection (its transactions and watches go) and opens a new one in its place. */
  | { readonly kind: 'reconnect'; readonly conn: number };

/** A transaction id no daemon hands out in a run (ids count up from 1 per connection). */
export const BOGUS_TX = 0x2a2a;

/**
 * The tree the paths span: `wide` (three names, depth ≤ 3: many siblings) or `deep` (two names,
 * depth ≤ 5: long chains, so removals and creations meet more ancestors). Seeds alternate.
 */
export type TreeShape = 'wide' | 'deep';

function segsArb(shape: TreeShape): fc.Arbitrary<string[]> {
  const seg = shape === 'wide' ? fc.constantFrom('a', 'b', 'c') : fc.constantFrom('a', 'b');
  const depths = shape === 'wide' ? [1, 4, 4, 2] : [1, 3, 3, 3, 2, 2];
  return fc.oneof(...depths.map((weight, d) => ({ weight, arbitrary: fc.array(seg, { minLength: d, maxLength: d }) })));
}

function pathArbs(shape: TreeShape): { nodePath: fc.Arbitrary<PathSpec>; watchPath: fc.Arbitrary<PathSpec> } {
  const segs = segsArb(shape);
  const nodePath: fc.Arbitrary<PathSpec> = fc.oneof(
    { weight: 40, arbitrary: segs.map((s): PathSpec => ({ form: 'abs', segs: s })) },
    { weight: 4, arbitrary: segs.map((s): PathSpec => ({ form: 'rel', segs: s })) },
    { weight: 1, arbitrary: fc.record({ form: fc.constant('bad' as const), segs, how: fc.constantFrom('trailing' as const, 'double' as const, 'char' as const) }) },
  );
  const watchPath: fc.Arbitrary<PathSpec> = fc.oneof(
    { weight: 12, arbitrary: nodePath },
    { weight: 2, arbitrary: fc.constantFrom('/', '/local/domain/0', '@releaseDomain', '@introduceDomain', '@other').map((p): PathSpec => ({ form: 'fixed', path: p })) },
  );
  return { nodePath, watchPath };
}

const nodeTx: fc.Arbitrary<TxRef> = fc.oneof(
  { weight: 10, arbitrary: fc.constant('none' as const) },
  { weight: 12, arbitrary: fc.constant('live' as const) },
  { weight: 1, arbitrary: fc.constantFrom('ended' as const, 'other' as const, 'bogus' as const) },
);

const watchTx: fc.Arbitrary<TxRef> = fc.oneof({ weight: 8, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('live' as const, 'bogus' as const) });

const dom0Conn = fc.nat({ max: CONNS - 1 });
const value = fc.constantFrom('', 'v', 'w', 'x\0y');
const token = fc.constantFrom('t1', 't2');
/** Owners: dom0, or domains that do not exist (C: ENOENT for the owner, ignored entries later). */
const dom0Perms = [['n0'], ['r0'], ['b0', 'r5'], ['n0', 'w3', 'r0'], ['n7'], ['w0', 'n7']];
/** With a guest (domain 5): what it may read, write, own. */
const guestPerms = [['n0', 'r5'], ['n0', 'b5'], ['n5'], ['r5', 'n0'], ['b0', 'w5'], ['n0', 'r3']];

export function opArbitrary(shape: TreeShape, guest = false): fc.Arbitrary<Op> {
  const { nodePath, watchPath } = pathArbs(shape);
  const conn = guest ? fc.nat({ max: CONNS }) : dom0Conn;
  const perms = fc.constantFrom(...dom0Perms, ...(guest ? guestPerms : []));
  const node = <K extends NodeKind>(kind: K) => fc.record({ kind: fc.constant(kind), conn, tx: nodeTx, path: nodePath });
  return fc.oneof(
    { weight: 16, arbitrary: fc.record({ kind: fc.constant('write' as const), conn, tx: nodeTx, path: nodePath, value }) },
    { weight: 10, arbitrary: node('read') },
    { weight: 5, arbitrary: node('mkdir') },
    { weight: 10, arbitrary: node('rm') },
    { weight: 6, arbitrary: node('directory') },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('dirpart' as const), conn, tx: nodeTx, path: nodePath, offset: fc.constantFrom(0, 1, 2, 3, 4, 6) }) },
    { weight: 3, arbitrary: node('getperms') },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('setperms' as const), conn, tx: nodeTx, path: nodePath, perms }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('watch' as const), conn, tx: watchTx, path: watchPath, token }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('unwatch' as const), conn, tx: watchTx, path: watchPath, token }) },
    { weight: 7, arbitrary: fc.record({ kind: fc.constant('start' as const), conn, tx: fc.oneof({ weight: 12, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('live' as const, 'bogus' as const) }) }) },
    { weight: 7, arbitrary: fc.record({ kind: fc.constant('end' as const), conn, tx: fc.oneof({ weight: 12, arbitrary: fc.constant('live' as const) }, { weight: 1, arbitrary: nodeTx }), commit: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), conn }) },
    // The guest's ring stays: only dom0's sockets reconnect.
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), conn: dom0Conn }) },
  );
}

function pathText(p: PathSpec): string {
  switch (p.form) {
    case 'fixed':
      return p.path;
    case 'abs':
      return `~/${p.segs.join('/')}`;
    case 'rel':
      return `rel:${p.segs.join('/')}`;
    case 'bad':
      return `bad(${p.how}):${p.segs.join('/')}`;
  }
}

/** One line per op, as printed in a failure's shrunk sequence. */
export function opText(op: Op): string {
  const head = `c${op.conn} ${op.kind}`;
  switch (op.kind) {
    case 'write':
      return `${head} ${pathText(op.path)} ${JSON.stringify(op.value)} tx=${op.tx}`;
    case 'dirpart':
      return `${head} ${pathText(op.path)} @${op.offset} tx=${op.tx}`;
    case 'setperms':
      return `${head} ${pathText(op.path)} ${op.perms.join(',')} tx=${op.tx}`;
    case 'watch':
    case 'unwatch':
      return `${head} ${pathText(op.path)} ${op.token} tx=${op.tx}`;
    case 'start':
      return `${head} tx=${op.tx}`;
    case 'end':
      return `${head} ${op.commit ? 'T' : 'F'} tx=${op.tx}`;
    case 'reset':
    case 'reconnect':
      return head;
    default:
      return `${head} ${pathText(op.path)} tx=${op.tx}`;
  }
}
