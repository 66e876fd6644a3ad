// Global setup of the real-Xen tests (vitest.xen.config.ts): boots one dom0 under QEMU for the
// whole run, builds the tests' guest initramfs, and starts `tsxend serve` there on the real
// hypervisor, reachable from here over HTTPS with a token (QEMU forwards one loopback port to
// dom0; nothing else leaves the VM). Test files get the session through inject('xen').

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { REPO, XenVm, xenvmUnavailable } from '../fixtures/xenvm.js';
import { DAEMON_FLAGS, type XenSession } from './session.js';

declare module 'vitest' {
  export interface ProvidedContext {
    xen: XenSession;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const why = xenvmUnavailable();
  if (why !== undefined) {
    project.provide('xen', { why });
    return undefined;
  }
  const t0 = Date.now();
  const port = await freePort();
  const vm = await XenVm.boot(`127.0.0.1:${port}-:8443`, 3 * 3600);
  const stop = () => vm.stop();
  try {
    const d = vm.dir;
    // The API's TLS certificate (for 127.0.0.1, where the forwarded port lands) and token.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=tsxend-xenvm',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', `${d}/tls.key`, '-out', `${d}/tls.crt`], { stdio: 'ignore' });
    writeFileSync(`${d}/token`, `xenvm-${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });
    // The guest's initramfs, with the frontend drivers the Debian kernel builds as modules.
    const env = Object.fromEntries(readFileSync(`${d}/env`, 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    execFileSync(`${REPO}scripts/xenvm/guest-initrd.sh`, [`${d}/guest-initrd.gz`, `${REPO}test/xen/guest/init.sh`, 'xen-blkfront', 'xen-netfront', 'xen-tpmfront'], {
      env: { ...process.env, MODULES_DIR: env['XENVM_MODULES'] },
    });
    vm.detach(`exec node bin/tsxend.js serve ${DAEMON_FLAGS(d)} > "$XENVM_RUN/daemon.log" 2>&1`);
    const session: XenSession = { dir: d, port, kernel: env['XENVM_KERNEL']!, bootMs: Date.now() - t0 };
    const { waitDaemon } = await import('./session.js');
    await waitDaemon(session, 300_000);
    session.readyMs = Date.now() - t0;
    process.stderr.write(`[xen setup] dom0 up and tsxend serving after ${(session.readyMs / 1000).toFixed(1)} s (session ${d})\n`);
    project.provide('xen', session);
    return stop;
  } catch (err) {
    stop();
    throw err;
  }
}
