// `tsxend xs`: xenstore-utils in one command, on the project's pipelined client. Output and
// value escaping match the C tools (xenstore-read/-write/-ls/-list/-rm/-chmod/-watch), so
// scripts can switch; --json gives machines the same data structured.

import { isError, TsxError } from '../../errors.js';
import { formatLs, lsJson, sanitiseValue, unsanitiseValue, type LsNode } from '../../xenstore/format.js';
import {
  E_XS_BAD_PATH,
  E_XS_DISCONNECTED,
  E_XS_UNAVAILABLE,
  ENOENT,
  openXenstore,
  parseTarget,
  parsePerm,
  type Perm,
  type Perms,
  type XenstoreClient,
} from '../../xenstore/index.js';
import { EXIT, type CliCommand, type CliIo } from '../command.js';

const USAGE = `usage: tsxend xs [--xenstore TARGET] [--json] <command> [options] ...

Talks to xenstored like xenstore-utils. TARGET is socket:PATH or xenbus:PATH (default:
$XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket).

  read [-p] [-R] KEY...          print values (escaped like xenstore-read; -R raw bytes)
  write [-R] KEY VALUE...        write values (\\t \\n \\xNN \\NNN unescaped unless -R)
  ls [-f] [-p] [PATH]            the tree under PATH (default /), like xenstore-ls
  list [-p] KEY...               the children of each KEY
  exists KEY...                  exit 0 when every KEY exists, 4 otherwise
  rm [-t] KEY...                 remove subtrees (-t: also empty parents above)
  mkdir KEY...                   create empty nodes
  perms KEY...                   print permission lists (owner first)
  chmod [-r] [-u] KEY PERM...    set permissions, e.g. n0 r5 (-r subtree, -u parents too)
  watch [-n N] KEY               print each changed path; stop after N events

--json prints JSON (one document; for watch, one line per event).
Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 xenstored unreachable, 4 no such node.
`;

class UsageError extends Error {}

interface Ctx {
  xs: XenstoreClient;
  io: CliIo;
  json: boolean;
}

/** Splits leading single-letter flags (`-p`, `-fp`, `-n 3`) from operands. */
function flags(argv: string[], allowed: string, withValue = ''): { set: Set<string>; values: Map<string, string>; rest: string[] } {
  const set = new Set<string>();
  const values = new Map<string, string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!/^-[A-Za-z]+$/.test(a)) break;
    for (const f of a.slice(1)) {
      if (withValue.includes(f)) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`-${f} needs a value`);
        values.set(f, v);
      } else if (allowed.includes(f)) set.add(f);
      else if (f !== 's') throw new UsageError(`unknown option -${f}`); // -s (socket only) is implied
    }
  }
  return { set, values, rest: argv.slice(i) };
}

function need(rest: string[], what: string): void {
  if (rest.length === 0) throw new UsageError(`missing ${what}`);
}

function childPath(parent: string, name: string): string {
  return `${parent}${parent.endsWith('/') ? '' : '/'}${name}`;
}

const QUIET_BELOW_TOP = (err: unknown) => isError(err, ENOENT) || (err instanceof TsxError && err.details['errno'] === 'EACCES');

/** Runs at most `max` calls at once: a big tree is fetched pipelined, but not all at once. */
function limiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active >= max) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const LS_IN_FLIGHT = 64;

/** Fetches the tree under `path`; reads go out pipelined, LS_IN_FLIGHT at a time. */
async function fetchChildren(
  xs: XenstoreClient,
  path: string,
  perms: boolean,
  depth: number,
  warn: (m: string) => void,
  limit = limiter(LS_IN_FLIGHT),
): Promise<LsNode[]> {
  let names: string[];
  try {
    names = await limit(() => xs.directory(path));
  } catch (err) {
    // A node vanishing (or hidden) while we recurse is not an error, as in xenstore-ls.
    if (depth > 0 && QUIET_BELOW_TOP(err)) return [];
    throw err;
  }
  return Promise.all(
    names.map(async (name): Promise<LsNode> => {
      const full = childPath(path, name);
      const [value, p, children] = await Promise.all([
        limit(() => xs.readBytes(full)).catch(() => undefined),
        perms
          ? limit(() => xs.getPerms(full)).catch(() => {
              warn(`could not access permissions for ${full}`);
              return undefined;
            })
          : undefined,
        fetchChildren(xs, full, perms, depth + 1, warn, limit),
      ]);
      return { name, path: full, value, perms: p, children };
    }),
  );
}

async function cmdRead(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 'pR');
  need(rest, 'KEY');
  const values = await Promise.all(rest.map((k) => ctx.xs.readBytes(k)));
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify(Object.fromEntries(rest.map((k, i) => [k, values[i]!.toString('utf8')])))}\n`);
    return EXIT.ok;
  }
  rest.forEach((k, i) => {
    const v = values[i]!;
    const prefix = set.has('p') ? `${k}: ` : '';
    ctx.io.stdout(`${prefix}${set.has('R') ? v.toString('latin1') : sanitiseValue(v)}\n`);
  });
  return EXIT.ok;
}

async function cmdWrite(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 'R');
  if (rest.length === 0 || rest.length % 2 !== 0) throw new UsageError('write needs KEY VALUE pairs');
  const writes: Promise<void>[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const value = set.has('R') ? Buffer.from(rest[i + 1]!, 'utf8') : unsanitiseValue(rest[i + 1]!);
    writes.push(ctx.xs.write(rest[i]!, value));
  }
  await Promise.all(writes);
  return EXIT.ok;
}

async function cmdLs(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 'fp');
  if (rest.length > 1) throw new UsageError('ls takes at most one PATH');
  const path = rest[0] ?? '/';
  const nodes = await fetchChildren(ctx.xs, path, set.has('p'), 0, (m) => ctx.io.stderr(`tsxend xs: ${m}\n`));
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify({ path, children: nodes.map(lsJson) })}\n`);
    return EXIT.ok;
  }
  // Like xenstore-ls: the terminal's width, else 80 columns.
  const width = process.stdout.isTTY ? process.stdout.columns : 80;
  ctx.io.stdout(formatLs(nodes, { fullPaths: set.has('f'), perms: set.has('p'), width }));
  return EXIT.ok;
}

async function cmdList(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 'p');
  need(rest, 'KEY');
  const lists = await Promise.all(rest.map((k) => ctx.xs.directory(k)));
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify(Object.fromEntries(rest.map((k, i) => [k, lists[i]])))}\n`);
    return EXIT.ok;
  }
  rest.forEach((k, i) => {
    for (const name of lists[i]!) ctx.io.stdout(`${set.has('p') ? childPath(k, name) : name}\n`);
  });
  return EXIT.ok;
}

async function cmdExists(ctx: Ctx, argv: string[]): Promise<number> {
  const { rest } = flags(argv, 'p');
  need(rest, 'KEY');
  const found = await Promise.all(rest.map(async (k) => (await ctx.xs.tryRead(k)) !== undefined));
  if (ctx.json) ctx.io.stdout(`${JSON.stringify(Object.fromEntries(rest.map((k, i) => [k, found[i]])))}\n`);
  return found.every(Boolean) ? EXIT.ok : EXIT.notFound;
}

function parent(path: string): string | undefined {
  const i = path.lastIndexOf('/');
  if (i <= 0) return undefined;
  return path.slice(0, i);
}

async function cmdRm(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 't');
  need(rest, 'KEY');
  for (const key of rest) {
    await ctx.xs.rm(key);
    if (!set.has('t')) continue;
    // -t: climb while the parent has no children left, as xenstore-rm -t does.
    for (let p = parent(key); p !== undefined; p = parent(p)) {
      const children = await ctx.xs.tryDirectory(p);
      if (children === undefined || children.length > 0) break;
      await ctx.xs.rm(p);
    }
  }
  return EXIT.ok;
}

async function cmdMkdir(ctx: Ctx, argv: string[]): Promise<number> {
  const { rest } = flags(argv, '');
  need(rest, 'KEY');
  await Promise.all(rest.map((k) => ctx.xs.mkdir(k)));
  return EXIT.ok;
}

async function cmdPerms(ctx: Ctx, argv: string[]): Promise<number> {
  const { rest } = flags(argv, '');
  need(rest, 'KEY');
  const lists = await Promise.all(rest.map((k) => ctx.xs.getPerms(k)));
  const text = (p: Perms) => p.map((e) => `${e.access}${e.domid}`);
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify(Object.fromEntries(rest.map((k, i) => [k, lists[i]])))}\n`);
    return EXIT.ok;
  }
  rest.forEach((k, i) => ctx.io.stdout(`${rest.length > 1 ? `${k}: ` : ''}${text(lists[i]!).join(' ')}\n`));
  return EXIT.ok;
}

async function subtree(xs: XenstoreClient, path: string): Promise<string[]> {
  const names = (await xs.tryDirectory(path)) ?? [];
  const below = await Promise.all(names.map((n) => subtree(xs, childPath(path, n))));
  return [path, ...below.flat()];
}

async function cmdChmod(ctx: Ctx, argv: string[]): Promise<number> {
  const { set, rest } = flags(argv, 'ru');
  const [key, ...specs] = rest;
  if (key === undefined || specs.length === 0) throw new UsageError('chmod needs KEY and at least one PERM');
  const list: Perm[] = specs.map((s) => {
    const p = parsePerm(s);
    if (!p) throw new UsageError(`invalid permission ${JSON.stringify(s)}: expected n|r|w|b followed by a domid`);
    return p;
  });
  const perms = list as unknown as Perms;
  const targets = set.has('r') ? await subtree(ctx.xs, key) : [key];
  if (set.has('u')) for (let p = parent(key); p !== undefined; p = parent(p)) targets.push(p);
  await Promise.all(targets.map((t) => ctx.xs.setPerms(t, perms)));
  return EXIT.ok;
}

async function cmdWatch(ctx: Ctx, argv: string[]): Promise<number> {
  const { values, rest } = flags(argv, '', 'n');
  if (rest.length !== 1) throw new UsageError('watch needs exactly one KEY');
  const limitText = values.get('n');
  const limit = limitText === undefined ? Infinity : Number(limitText);
  if (!Number.isInteger(limit) && limit !== Infinity) throw new UsageError('-n needs a whole number');
  if (limit <= 0) return EXIT.ok;
  const w = await ctx.xs.watch(rest[0]!);
  const stop = () => void w.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // xenstored going away ends the watch (as xenstore-watch does) instead of waiting forever.
  let lost = false;
  const off = ctx.xs.onConnectionEvent((e) => {
    if (e.type !== 'disconnected') return;
    lost = true;
    stop();
  });
  let seen = 0;
  try {
    for await (const ev of w) {
      ctx.io.stdout(ctx.json ? `${JSON.stringify(ev)}\n` : `${ev.path}\n`);
      if (++seen >= limit) break;
    }
  } finally {
    off();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await w.close();
  }
  if (lost) {
    ctx.io.stderr(`tsxend xs watch: connection to xenstored lost while watching ${w.path}\n`);
    return EXIT.unavailable;
  }
  return EXIT.ok;
}

const COMMANDS: Record<string, (ctx: Ctx, argv: string[]) => Promise<number>> = {
  read: cmdRead,
  write: cmdWrite,
  ls: cmdLs,
  list: cmdList,
  exists: cmdExists,
  rm: cmdRm,
  mkdir: cmdMkdir,
  perms: cmdPerms,
  chmod: cmdChmod,
  watch: cmdWatch,
};

/** Maps a failure to an exit code and a message that names the path. */
function failure(err: unknown): { code: number; message: string } {
  if (err instanceof TsxError) {
    const errno = typeof err.details['errno'] === 'string' ? err.details['errno'] : undefined;
    if (isError(err, E_XS_UNAVAILABLE) || isError(err, E_XS_DISCONNECTED)) return { code: EXIT.unavailable, message: err.message };
    if (isError(err, ENOENT)) return { code: EXIT.notFound, message: `${err.message} (no such node)` };
    if (isError(err, E_XS_BAD_PATH)) return { code: EXIT.usage, message: err.message };
    return { code: EXIT.failure, message: errno === 'EACCES' ? `${err.message} (permission denied)` : err.message };
  }
  return { code: EXIT.failure, message: err instanceof Error ? err.message : String(err) };
}

export const command: CliCommand = {
  summary: 'read, write, list and watch xenstore (like xenstore-utils)',
  completion: { flags: ['--xenstore', '--json', '--help'], args: ['read', 'write', 'ls', 'list', 'exists', 'rm', 'mkdir', 'perms', 'chmod', 'watch'] },
  async run(argv, io) {
    let target: string | undefined;
    let json = false;
    let i = 0;
    for (; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--help' || a === '-h') {
        io.stdout(USAGE);
        return EXIT.ok;
      }
      if (a === '--json') json = true;
      else if (a === '--xenstore') target = argv[++i];
      else if (a.startsWith('--xenstore=')) target = a.slice('--xenstore='.length);
      else break;
    }
    const [sub, ...rest] = argv.slice(i);
    // --json may also follow the subcommand.
    if (rest.includes('--json')) json = true;
    const subArgv = rest.filter((a) => a !== '--json');
    const handler = sub === undefined ? undefined : COMMANDS[sub];
    if (!handler) {
      io.stderr(`tsxend xs: ${sub === undefined ? 'missing command' : `unknown command '${sub}'`}\n${USAGE}`);
      return EXIT.usage;
    }
    let xs: XenstoreClient;
    try {
      const t = parseTarget(target, io.env);
      if (t.kind === 'embedded') throw new UsageError('the embedded xenstore lives inside tsxend serve: give socket:PATH');
      xs = await openXenstore(t, { reconnect: false });
    } catch (err) {
      if (err instanceof UsageError) {
        io.stderr(`tsxend xs: ${err.message}\n`);
        return EXIT.usage;
      }
      const f = failure(err);
      io.stderr(`tsxend xs: ${f.message}\n`);
      return f.code === EXIT.usage ? EXIT.usage : EXIT.unavailable;
    }
    try {
      return await handler({ xs, io, json }, subArgv);
    } catch (err) {
      if (err instanceof UsageError) {
        io.stderr(`tsxend xs ${sub}: ${err.message}\n${USAGE}`);
        return EXIT.usage;
      }
      const f = failure(err);
      io.stderr(`tsxend xs ${sub}: ${f.message}\n`);
      return f.code;
    } finally {
      await xs.close();
    }
  },
};
