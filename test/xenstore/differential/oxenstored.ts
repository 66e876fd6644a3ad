// oxenstored against cxenstored on the differential sequences. The mock follows cxenstored
// (checked strictly by the caller); this module sorts every way oxenstored answers otherwise
// into the documented differences of docs/xenstore-mock.md ("Differences from oxenstored").
// A difference that only changes a reply or an event leaves both stores alike and the run
// goes on; one after which the stores differ (transaction isolation and conflicts, a SET_PERMS
// only oxenstored accepted) ends the comparison with oxenstored for the rest of that run.

import { T } from '../mock-raw-client.js';
import type { Model, Request } from './model.js';
import type { Op } from './ops.js';
import type { Step } from './session.js';

/** The documented differences; the keys are what docs/xenstore-mock.md lists. */
export const OX_DIFFERENCES = {
  'directory-order': 'DIRECTORY lists children in byte order, not creation order',
  'directory-part': 'DIRECTORY_PART is not implemented (ENOSYS)',
  'unknown-tx': 'a transaction id the connection does not have answers EIO, not ENOENT',
  'tx-id-skips': 'transaction ids skip those oxenstored took itself to replay a conflicting commit',
  'watch-reply-tx': 'the reply to WATCH and UNWATCH carries transaction id 0, not the request\'s',
  'reply-before-events': 'a request\'s own events come after its reply, not before',
  'rm-events': 'RM fires every watch at, above or under the removed node, root first; cxenstored only exact watches on existing descendants, deepest first',
  'duplicate-events': 'an event identical to one still queued is sent again (cxenstored drops it)',
  'event-order': 'one change that fires several watches of a connection sends their events in another order',
  'transactions': 'transactions see a snapshot taken at START and conflict by replay, not by the generations of the nodes they read',
  'setperms-owner': 'SET_PERMS accepts an owner that is not an existing domain (cxenstored: ENOENT)',
} as const;

export type OxDifference = keyof typeof OX_DIFFERENCES;

export interface OxVerdict {
  readonly found: OxDifference[];
  /** The stores now differ: stop comparing this run with oxenstored. */
  readonly stop: boolean;
  /** A difference none of the documented ones explains. */
  readonly unexplained?: string;
}

const sortedNames = (payload: string): string => payload.split('\0').filter((n) => n !== '').sort().join('|');

function events(s: Step, conn: number): string[] {
  const own = s.after.find(([j]) => j === conn)?.[1] ?? [];
  return [...s.before, ...own];
}

function otherEvents(s: Step, conn: number): string {
  return JSON.stringify(s.after.filter(([j]) => j !== conn));
}

/** Compares oxenstored's step with cxenstored's; answers what differs and whether to go on. */
export function compareOx(op: Op, c: Step, o: Step, run: { model: Model; req: Request }): OxVerdict {
  const found: OxDifference[] = [];
  // Whether a slot's id names a live transaction of this connection depends on the ids each
  // daemon handed out (per connection, from 1): count every slot reference as inside one.
  const txOp = run.req.tx.kind === 'slot' || op.kind === 'end';
  if (c.raw.type !== o.raw.type || c.raw.payload !== o.raw.payload || c.raw.txId !== o.raw.txId) {
    const cErr = c.raw.type === T.ERROR ? c.raw.payload : undefined;
    const oErr = o.raw.type === T.ERROR ? o.raw.payload : undefined;
    if ((op.kind === 'watch' || op.kind === 'unwatch') && c.raw.type === o.raw.type && c.raw.payload === o.raw.payload && o.raw.txId === 0) found.push('watch-reply-tx');
    else if (op.kind === 'directory' && c.raw.type === o.raw.type && sortedNames(c.raw.payload) === sortedNames(o.raw.payload)) found.push('directory-order');
    else if (op.kind === 'dirpart' && oErr === 'ENOSYS\0') found.push('directory-part');
    else if (op.kind === 'start' && c.raw.type === T.TRANSACTION_START && o.raw.type === T.TRANSACTION_START && Number(o.raw.payload.slice(0, -1)) > Number(c.raw.payload.slice(0, -1))) found.push('tx-id-skips');
    else if (cErr === 'ENOENT\0' && oErr === 'EIO\0' && run.req.tx.kind !== 'zero') found.push('unknown-tx');
    else if (txOp) return { found: ['transactions'], stop: true };
    // cxenstored checks that the owner exists before it looks at the path.
    else if (op.kind === 'setperms' && cErr === 'ENOENT\0' && op.perms[0]!.endsWith('7')) return { found: ['setperms-owner'], stop: o.raw.type === T.SET_PERMS };
    else return { found, stop: true, unexplained: `reply: cxenstored ${c.reply} / oxenstored ${o.reply}` };
  }
  const ce = events(c, op.conn);
  const oe = events(o, op.conn);
  if (c.before.join() !== o.before.join()) found.push('reply-before-events');
  const sameOthers = otherEvents(c, op.conn) === otherEvents(o, op.conn);
  if (ce.join() !== oe.join() || !sameOthers) {
    if (op.kind === 'rm' || (op.kind === 'end' && op.commit)) {
      if (op.kind === 'rm' && !txOp) found.push('rm-events');
      else return { found: [...found, 'transactions'], stop: true };
    } else if (sortedEqual(c, o, op.conn, false)) found.push('event-order');
    else if (sortedEqual(c, o, op.conn, true)) found.push('duplicate-events');
    else return { found, stop: true, unexplained: `events: cxenstored ${JSON.stringify(c.before)} ${JSON.stringify(c.after)} / oxenstored ${JSON.stringify(o.after)}` };
  }
  return { found, stop: false };
}

/** Per connection, the same events in some order (`dedup`: once repeats are dropped too). */
function sortedEqual(c: Step, o: Step, conn: number, dedup: boolean): boolean {
  const norm = (s: Step): string =>
    JSON.stringify(
      s.after.map(([j, ev]) => {
        const all = j === conn ? [...s.before, ...ev] : [...ev];
        return [j, (dedup ? [...new Set(all)] : all).sort()];
      }),
    );
  return norm(c) === norm(o);
}
