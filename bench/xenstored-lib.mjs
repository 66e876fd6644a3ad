// Starts Xen's real cxenstored for a benchmark without a hypervisor, as test/fixtures/xenstored.ts
// does for the tests: the LD_PRELOAD stub (test/fixtures/xsstub.c, compiled here with gcc) answers
// its hypercalls and reads the existing domains from a file the simulated hypervisor writes.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const XENSTORED = '/usr/lib/xen-4.17/bin/xenstored';
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
export async function startCxenstored(prefix = 'tsxend-bench-xs-') {
  if (!existsSync(XENSTORED)) throw new Error(`${XENSTORED} missing: install xen-utils-4.17 (scripts/install-deps.sh)`);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const stub = join(dir, 'xsstub.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', stub, join(root, 'test', 'fixtures', 'xsstub.c'), '-ldl', '-lpthread']);
  const domainsFile = join(dir, 'domains');
  writeFileSync(domainsFile, '');
  writeFileSync(join(dir, 'xsd_port'), '1');
  writeFileSync(join(dir, 'xsd_kva'), Buffer.alloc(4096));
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const child = spawn(XENSTORED, ['-N', '-F', join(dir, 'xenstored.pid')], {
    env: { ...process.env, LD_PRELOAD: stub, XS_STUB_DIR: dir, XS_STUB_DOMAINS: domainsFile, XENSTORED_RUNDIR: dir },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const socketPath = join(dir, 'socket');
  await waitSocket(socketPath);
  return {
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
