// One small function per request type, each a port of the cxenstored 4.17 do_* function it is
// named after (reference §1.10, §2). A handler answers the success payload, or an errno name
// that becomes an XS_ERROR reply. Deep failures (quotas) arrive as XsFail and are turned into
// the same kind of reply by the dispatcher (core.ts).

import type { NodeSpace } from './access.js';
import { atoiU32 } from './cnum.js';
import type { MockConnection } from './connection.js';
import type { MockCore } from './core.js';
import { canonicalize, isValidNodeName, PATH_MAX } from './names.js';
import { formatPerms, parsePerms, PERM_IGNORE, PERM_OWNER, PERM_READ, PERM_WRITE, permFor } from './permissions.js';
import { childList, editable, parentOf } from './store.js';
import { Transaction } from './transactions.js';
import { checkNodeSize, createNode, deleteTree, getNode } from './tree.js';
import { keepValue } from './value-slabs.js';

export type Result = Buffer | string;
export type Handler = (core: MockCore, conn: MockConnection, space: NodeSpace, p: Buffer) => Result;

export const OK = Buffer.from('OK\0', 'latin1');
const T = Buffer.from('T\0', 'latin1');
const F = Buffer.from('F\0', 'latin1');

// ---- argument parsing (C's onearg(), get_strings(), xs_count_strings()) ----

/** The single argument of a payload that is exactly one NUL-terminated string. */
function oneArg(p: Buffer): string | undefined {
  const n = p.length;
  if (n === 0 || p.indexOf(0) !== n - 1) return undefined;
  return p.toString('latin1', 0, n - 1);
}

/** Up to `max` leading NUL-terminated strings. */
function getStrings(p: Buffer, max: number): string[] {
  const out: string[] = [];
  let off = 0;
  while (out.length < max) {
    const nul = p.indexOf(0, off);
    if (nul < 0) break;
    out.push(p.toString('latin1', off, nul));
    off = nul + 1;
  }
  return out;
}

function countNuls(p: Buffer): number {
  let n = 0;
  for (let i = p.indexOf(0); i >= 0; i = p.indexOf(0, i + 1)) n++;
  return n;
}

/** Canonical, valid node name of argument `name`, or undefined (EINVAL). */
function nodeName(conn: MockConnection, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  // Clients name the same few nodes again and again: the cached string skips the check and,
  // hashed once, makes the store's map lookups cheap (a fresh `home/name` is hashed each time).
  const known = conn.nodeNames.get(name);
  if (known !== undefined) return known;
  const path = canonicalize(name, conn.home);
  if (!isValidNodeName(path, false)) return undefined;
  if (conn.nodeNames.size >= NODE_NAMES_CACHED) conn.nodeNames.clear();
  conn.nodeNames.set(name, path);
  return path;
}

/** Names a connection's cache holds before it starts again (bounds its memory). */
const NODE_NAMES_CACHED = 1024;

// ---- node operations ----

const doRead: Handler = (_core, conn, space, p) => {
  const path = nodeName(conn, oneArg(p));
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_READ);
  return typeof node === 'string' ? node : node.value;
};

const doDirectory: Handler = (_core, conn, space, p) => {
  const path = nodeName(conn, oneArg(p));
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_READ);
  return typeof node === 'string' ? node : childList(node);
};

const doDirectoryPart: Handler = (_core, conn, space, p) => {
  if (countNuls(p) !== 2) return 'EINVAL';
  const [name, offStr] = getStrings(p, 2);
  const path = nodeName(conn, name);
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_READ);
  if (typeof node === 'string') return node;
  const off = atoiU32(offStr ?? '');
  const gen = Buffer.from(`${node.gen}\0`, 'latin1');
  const list = childList(node);
  const childlen = list.length;
  // Offset behind the list: just the generation and the end marker.
  if (off >= childlen) return Buffer.concat([gen, Buffer.of(0)]);
  const maxlen = 4096 - gen.length - 1;
  let len = 0;
  let child = off;
  for (;;) {
    const nul = list.indexOf(0, child);
    // Every name ends in a NUL; without one the list is broken: stop rather than loop.
    if (nul < 0) break;
    const slen = nul - child;
    if (!(len + slen < maxlen)) break;
    len += slen + 1;
    child += slen + 1;
    if (off + len === childlen) break;
  }
  const end = off + len === childlen;
  const out = Buffer.allocUnsafe(gen.length + len + (end ? 1 : 0));
  gen.copy(out, 0);
  list.copy(out, gen.length, off, off + len);
  if (end) out[gen.length + len] = 0;
  return out;
};

const doGetPerms: Handler = (_core, conn, space, p) => {
  const path = nodeName(conn, oneArg(p));
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_READ);
  return typeof node === 'string' ? node : formatPerms(node.perms);
};

const doWrite: Handler = (_core, conn, space, p) => {
  const nul = p.indexOf(0);
  if (nul < 0) return 'EINVAL';
  const path = nodeName(conn, p.toString('latin1', 0, nul));
  if (path === undefined) return 'EINVAL';
  // Copy: the payload is a view of the input buffer.
  const value = keepValue(p, nul + 1, p.length);
  const node = getNode(space, conn, path, PERM_WRITE);
  let perms;
  if (typeof node === 'string') {
    if (node !== 'ENOENT') return node;
    perms = createNode(space, conn, path, value).perms;
  } else {
    const e = editable(node);
    e.value = value;
    checkNodeSize(conn, e);
    space.put(path, e);
    perms = e.perms;
  }
  space.fire(path, false, perms);
  return OK;
};

const doMkdir: Handler = (_core, conn, space, p) => {
  const path = nodeName(conn, oneArg(p));
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_WRITE);
  if (typeof node !== 'string') return OK; // exists: no change, no event
  if (node !== 'ENOENT') return node;
  const created = createNode(space, conn, path, Buffer.alloc(0));
  space.fire(path, false, created.perms);
  return OK;
};

const doRm: Handler = (_core, conn, space, p) => {
  const path = nodeName(conn, oneArg(p));
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_WRITE);
  if (typeof node === 'string') {
    // Didn't exist already? Fine, if the parent exists.
    if (node === 'ENOENT' && space.lookup(parentOf(path))) return OK;
    return node;
  }
  if (path === '/') return 'EINVAL';
  return deleteTree(space, path, node) ?? OK;
};

const doSetPerms: Handler = (core, conn, space, p) => {
  const strings = countNuls(p);
  if (strings < 2) return 'EINVAL';
  const num = strings - 1;
  if (!conn.privileged && num > conn.limits.permsPerNode) return 'ENOSPC';
  const first = p.indexOf(0);
  const parsed = parsePerms(p, first + 1, num);
  if (!parsed) return 'EINVAL';
  // C's domain_alloc_permrefs(): entries for domains that do not exist grant nothing, and an
  // owner that does not exist is refused.
  for (let i = 0; i < parsed.length; i++) {
    const e = parsed[i]!;
    if (!core.domains.knownOrExisting(e.id)) parsed[i] = { id: e.id, perms: e.perms | PERM_IGNORE };
  }
  if (parsed[0]!.perms & PERM_IGNORE) return 'ENOENT';
  const name = p.toString('latin1', 0, first);
  if (name.charCodeAt(0) === 0x40) {
    const current = core.specialPerms.get(name);
    if (!current) return 'EINVAL';
    if ((permFor(conn, current) & (PERM_WRITE | PERM_OWNER)) !== (PERM_WRITE | PERM_OWNER)) return 'EACCES';
    core.specialPerms.set(name, parsed);
    return OK;
  }
  const path = nodeName(conn, name);
  if (path === undefined) return 'EINVAL';
  const node = getNode(space, conn, path, PERM_WRITE | PERM_OWNER);
  if (typeof node === 'string') return node;
  // Unprivileged domains may not change the owner.
  if (!conn.privileged && parsed[0]!.id !== node.perms[0]!.id) return 'EPERM';
  const old = node.perms;
  const e = editable(node);
  e.perms = parsed;
  checkNodeSize(conn, e);
  space.put(path, e);
  space.fire(path, false, old);
  return OK;
};

// ---- watches ----

/** check_watch_path(): the watched name and whether it was relative, or undefined (EINVAL). */
function watchName(conn: MockConnection, name: string): { node: string; relative: boolean } | undefined {
  if (name.charCodeAt(0) === 0x40) return name.length > PATH_MAX ? undefined : { node: name, relative: false };
  const node = canonicalize(name, conn.home);
  return isValidNodeName(node, false) ? { node, relative: node !== name } : undefined;
}

const doWatch: Handler = (core, conn, _space, p) => {
  if (countNuls(p) !== 2) return 'EINVAL';
  const [name, token] = getStrings(p, 2) as [string, string];
  const w = watchName(conn, name);
  if (!w) return 'EINVAL';
  if (core.watches.find(conn, w.node, token)) return 'EEXIST';
  if (!conn.privileged && core.watchCount(conn.domid) > conn.limits.watches) return 'E2BIG';
  const watch = core.addWatch(conn, w.node, token, w.relative);
  // The reply goes first, then the initial event ("we fire once up front").
  core.afterReply = () => core.initialEvent(watch);
  return OK;
};

const doUnwatch: Handler = (core, conn, _space, p) => {
  if (countNuls(p) !== 2) return 'EINVAL';
  const [name, token] = getStrings(p, 2) as [string, string];
  const node = canonicalize(name, conn.home);
  const w = core.watches.find(conn, node, token);
  if (!w) return 'ENOENT';
  core.removeWatch(w);
  return OK;
};

const doResetWatches: Handler = (core, conn) => {
  for (const w of [...conn.watches]) core.removeWatch(w);
  conn.transactions.clear();
  conn.current = undefined;
  return OK;
};

// ---- transactions ----

const doTransactionStart: Handler = (core, conn) => {
  if (conn.current) return 'EBUSY';
  if (!conn.privileged && conn.transactions.size > conn.limits.transactions) return 'ENOSPC';
  let id: number;
  do {
    id = conn.nextTxId;
    conn.nextTxId = (conn.nextTxId + 1) >>> 0;
  } while (id === 0 || conn.transactions.has(id));
  conn.transactions.set(id, new Transaction(id, core.store, conn.privileged ? 0 : conn.limits.transactionNodes));
  return Buffer.from(`${id}\0`, 'latin1');
};

const doTransactionEnd: Handler = (core, conn, _space, p) => {
  const arg = oneArg(p);
  if (arg !== 'T' && arg !== 'F') return 'EINVAL';
  const tx = conn.current;
  if (!tx) return 'ENOENT';
  conn.transactions.delete(tx.id);
  conn.current = undefined;
  if (arg === 'T' && !tx.commit(core.fireFn)) return 'EAGAIN';
  return OK;
};

// ---- domains ----

const doIntroduce: Handler = (core, _conn, _space, p) => {
  const v = getStrings(p, 3);
  if (v.length < 3) return 'EINVAL';
  const domid = atoiU32(v[0]!);
  // C reads the port into an unsigned int: only 0 fails `port <= 0`.
  if (atoiU32(v[2]!) === 0) return 'EINVAL';
  const wasIntroduced = core.domains.record(domid)?.introduced === true;
  if (!core.domains.introduce(domid)) return 'EINVAL';
  // Re-introducing (resume) resets the domain's connection: watches and transactions go.
  if (wasIntroduced && domid !== 0) core.resetDomainConnections(domid);
  return OK;
};

const doRelease: Handler = (core, _conn, _space, p) => {
  const arg = oneArg(p);
  if (arg === undefined) return 'EINVAL';
  const domid = atoiU32(arg);
  if (domid === 0) return 'EINVAL';
  const rec = core.domains.connected(domid);
  if (typeof rec === 'string') return rec;
  core.domains.release(domid);
  return OK;
};

const doResume: Handler = (core, _conn, _space, p) => {
  const arg = oneArg(p);
  if (arg === undefined) return 'EINVAL';
  const domid = atoiU32(arg);
  if (domid === 0) return 'EINVAL';
  const rec = core.domains.connected(domid);
  if (typeof rec === 'string') return rec;
  rec.shutdownReported = false;
  return OK;
};

const doSetTarget: Handler = (core, _conn, _space, p) => {
  const v = getStrings(p, 2);
  if (v.length < 2) return 'EINVAL';
  const rec = core.domains.connected(atoiU32(v[0]!));
  if (typeof rec === 'string') return rec;
  const target = core.domains.connected(atoiU32(v[1]!));
  if (typeof target === 'string') return target;
  rec.target = target.domid;
  return OK;
};

const doGetDomainPath: Handler = (_core, _conn, _space, p) => {
  const arg = oneArg(p);
  if (arg === undefined) return 'EINVAL';
  return Buffer.from(`/local/domain/${atoiU32(arg)}\0`, 'latin1');
};

const doIsDomainIntroduced: Handler = (core, _conn, _space, p) => {
  const arg = oneArg(p);
  if (arg === undefined) return 'EINVAL';
  return core.domains.isIntroduced(atoiU32(arg)) ? T : F;
};

// ---- control ----

/** cxenstored 4.17's `CONTROL help` text, byte for byte. */
const HELP = Buffer.from(
  'check\t\nlog\ton|off\nlive-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds.\n' +
    'logfile\t<file>\nmemreport\t[<file>]\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n\0',
  'latin1',
);

const doControl: Handler = (core, _conn, _space, p) => {
  const nul = p.indexOf(0);
  if (nul < 0) return 'EINVAL';
  const cmd = p.toString('latin1', 0, nul);
  const args = countNuls(p) - 1;
  switch (cmd) {
    case 'help':
      return args === 0 ? HELP : 'EINVAL';
    case 'check':
      return args === 0 ? OK : 'EINVAL';
    case 'print': {
      if (args !== 1) return 'EINVAL';
      core.log?.info({ control: getStrings(p, 2)[1] }, 'control: print');
      return OK;
    }
    default:
      return 'EINVAL';
  }
};

export interface OpSpec {
  readonly fn: Handler;
  /** Only privileged connections (dom0, sockets); others get EACCES. */
  readonly priv?: boolean;
  /** Ignores the header's tx_id (no transaction lookup). */
  readonly notid?: boolean;
}

/** Indexed by message type; holes answer ENOSYS (15, 16, 20 and everything from 23 on). */
export const OPS: readonly (OpSpec | undefined)[] = [
  { fn: doControl, priv: true }, // 0 CONTROL
  { fn: doDirectory }, // 1
  { fn: doRead }, // 2
  { fn: doGetPerms }, // 3
  { fn: doWatch, notid: true }, // 4
  { fn: doUnwatch, notid: true }, // 5
  { fn: doTransactionStart }, // 6
  { fn: doTransactionEnd }, // 7
  { fn: doIntroduce, priv: true }, // 8
  { fn: doRelease, priv: true }, // 9
  { fn: doGetDomainPath }, // 10
  { fn: doWrite }, // 11
  { fn: doMkdir }, // 12
  { fn: doRm }, // 13
  { fn: doSetPerms }, // 14
  undefined, // 15 WATCH_EVENT
  undefined, // 16 ERROR
  { fn: doIsDomainIntroduced, priv: true }, // 17
  { fn: doResume, priv: true }, // 18
  { fn: doSetTarget, priv: true }, // 19
  undefined, // 20 (RESTRICT, removed)
  { fn: doResetWatches }, // 21
  { fn: doDirectoryPart }, // 22
];
