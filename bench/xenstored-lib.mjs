// Starts Xen's real cxenstored for a benchmark without a hypervisor, as test/fixtures/xenstored.ts
// does for the tests: the LD_PRELOAD stub (test/fixtures/xsstub.c, compiled here with gcc) answers
// its hypercalls and reads the existing domains from a file the simulated hypervisor writes.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const XENSTORED = '/usr/lib/xen-4.17/bin/xenstored';
export const OXENSTORED = '/usr/lib/xen-4.17/bin/oxenstored';
const root = fileURLToPath(new URL('..', import.meta.url));

/** Resolves once something accepts connections on the Unix socket `path` (10 s at the most). */
export async function waitSocket(path) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(path);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${path}`);
}

/**
 * A private cxenstored in a fresh temporary directory (its socket at `<dir>/socket`). `stop()`
 * kills it and removes the directory, with whatever else the benchmark put there.
 */
export function startCxenstored(prefix = 'tsxend-bench-xs-') {
  return startXenstored('cxenstored', prefix);
}

/**
 * Xen's C (`cxenstored`) or OCaml (`oxenstored`) xenstored, private to the benchmark. oxenstored
 * has its socket path built in (/var/run/xenstored): it runs in a private mount namespace with
 * the temporary directory bound there, which needs root and `unshare -m`, as in the test fixture.
 */
export async function startXenstored(kind = 'cxenstored', prefix = `tsxend-bench-${kind}-`) {
  const bin = kind === 'oxenstored' ? OXENSTORED : XENSTORED;
  if (!existsSync(bin)) throw new Error(`${bin} missing: install xen-utils-4.17 (scripts/install-deps.sh)`);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const stub = join(dir, 'xsstub.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', stub, join(root, 'test', 'fixtures', 'xsstub.c'), '-ldl', '-lpthread']);
  const domainsFile = join(dir, 'domains');
  writeFileSync(domainsFile, '');
  writeFileSync(join(dir, 'xsd_port'), '1');
  writeFileSync(join(dir, 'xsd_kva'), Buffer.alloc(4096));
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const env = { ...process.env, LD_PRELOAD: stub, XS_STUB_DIR: dir, XS_STUB_DOMAINS: domainsFile, XENSTORED_RUNDIR: dir };
  let child;
  if (kind === 'oxenstored') {
    const conf = join(dir, 'oxenstored.conf');
    const base = readFileSync('/etc/xen/oxenstored.conf', 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(pid-file|test-eagain|xenstored-kva|xenstored-port|persistent|access-log-file|xenstored-log-file)\s*=/.test(l));
    base.push(`pid-file = ${dir}/oxenstored.pid`, 'test-eagain = false', `xenstored-kva = ${dir}/xsd_kva`, `xenstored-port = ${dir}/xsd_port`, 'persistent = false', `xenstored-log-file = ${dir}/oxenstored.log`, `access-log-file = ${dir}/access.log`);
    writeFileSync(conf, `${base.join('\n')}\n`);
    // unshare and sh exec in turn: the child's pid ends up oxenstored's own.
    const script = 'mkdir -p /var/run/xenstored && mount --bind "$1" /var/run/xenstored && exec "$2" --no-fork --config-file "$3"';
    child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', dir, bin, conf], { env, stdio: ['ignore', log, log] });
  } else {
    child = spawn(bin, ['-N', '-F', join(dir, 'xenstored.pid')], { env, stdio: ['ignore', log, log] });
  }
  closeSync(log);
  const socketPath = join(dir, 'socket');
  await waitSocket(socketPath);
  return {
    kind,
    dir,
    socketPath,
    domainsFile,
    pid: child.pid,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
