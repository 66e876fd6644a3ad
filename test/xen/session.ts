// What the real-Xen test files share: the dom0 session the global setup booted, the tsxend
// daemon serving there (reached over HTTPS through QEMU's forwarded loopback port), and the
// guests' own reports on their consoles.

import { execFile } from 'node:child_process';
import { inject } from 'vitest';
import { REPO, XenVm } from '../fixtures/xenvm.js';

export interface XenSession {
  /** Why real Xen could not be had (then nothing else is set). */
  readonly why?: string;
  readonly dir?: string;
  readonly port?: number;
  readonly kernel?: string;
  readonly bootMs?: number;
  readyMs?: number;
}

/** `tsxend serve` in dom0: the real hypervisor and xenstored, TCG-slow timeouts, HTTPS + token. */
export const DAEMON_FLAGS = (dir: string): string =>
  [
    '--hypervisor xen --xenstore socket:/run/xenstored/socket',
    '--listen tcp:10.0.2.15:8443 --listen unix:/run/tsxend/tsxend.sock',
    `--token-file ${dir}/token --tls-cert ${dir}/tls.crt --tls-key ${dir}/tls.key`,
    '--state-dir /var/lib/tsxend --runtime-dir /run/tsxend',
    // Under TCG a hotplug script takes 5-40 s and a create a minute or more; a stuck script is
    // still killed and reported at these bounds.
    '--hotplug-timeout 300 --create-timeout 600 --log-level debug',
  ].join(' ');

export interface Xen {
  readonly vm: XenVm;
  readonly session: Required<Pick<XenSession, 'dir' | 'port' | 'kernel'>>;
  /** The tsxend CLI here, connected to the daemon in dom0. */
  cli(args: readonly string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Like cli, but a non-zero exit is an error. */
  ok(args: readonly string[], timeoutMs?: number): Promise<string>;
}

/** What the CLI here needs to reach the daemon in dom0: HTTPS on the forwarded port, the token, the CA. */
export const cliEnv = (s: { dir: string; port: number }): Record<string, string> => ({
  TSXEND_CONNECT: `https://127.0.0.1:${s.port}`,
  TSXEND_TOKEN_FILE: `${s.dir}/token`,
  TSXEND_CA_FILE: `${s.dir}/tls.crt`,
});

export function cliIn(s: { dir: string; port: number }) {
  return (args: readonly string[], timeoutMs = 900_000) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [`${REPO}bin/tsxend.js`, ...args], {
        cwd: REPO,
        timeout: timeoutMs,
        env: { ...process.env, ...cliEnv(s) },
      }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
}

export async function waitDaemon(s: XenSession, timeoutMs: number): Promise<void> {
  const cli = cliIn(s as { dir: string; port: number });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await cli(['info', '--json'], 30_000);
    if (r.code === 0) return;
    if (Date.now() > end) throw new Error(`tsxend in dom0 did not answer within ${timeoutMs} ms: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** The session of this run, or the reason there is none. */
export function xenSession(): { why: string } | Xen {
  const s = inject('xen');
  if (s.why !== undefined || s.dir === undefined || s.port === undefined || s.kernel === undefined) return { why: s.why ?? 'no session' };
  const session = { dir: s.dir, port: s.port, kernel: s.kernel };
  const cli = cliIn(session);
  return {
    vm: new XenVm(s.dir),
    session,
    cli,
    async ok(args, timeoutMs) {
      const r = await cli(args, timeoutMs);
      if (r.code !== 0) throw new Error(`tsxend ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    },
  };
}

/** The facts a guest reported ("TSXREPORT key value..."), in order, until "TSXREPORT end". */
export function guestReport(log: string): string[][] {
  const out: string[][] = [];
  for (const line of log.split(/\r?\n/)) {
    const m = /TSXREPORT (.*)$/.exec(line);
    if (!m) continue;
    const words = m[1]!.trim().split(/\s+/);
    if (words[0] === 'end') break;
    out.push(words);
  }
  return out;
}

/** A guest config in xl syntax for the tests' initramfs; `extra` adds guest command-line knobs. */
export function guestConfig(x: Xen, name: string, lines: readonly string[], extra = ''): string {
  return [
    `name = "${name}"`,
    `kernel = "${x.session.kernel}"`,
    `ramdisk = "${x.session.dir}/guest-initrd.gz"`,
    `extra = "console=hvc0 ${extra}"`,
    'memory = 128',
    'vcpus = 1',
    ...lines,
  ].join('\n') + '\n';
}

export interface GuestTick {
  readonly n: number;
  readonly cpus: string;
  readonly memKb: number;
  readonly blk: string[];
  readonly net: string[];
}

/** The guest's ticks ("TSXCOUNT n cpus=… mem=… blk=… net=…"), oldest first. */
export function guestTicks(log: string): GuestTick[] {
  const out: GuestTick[] = [];
  for (const m of log.matchAll(/TSXCOUNT (\d+) cpus=(\S*) mem=(\d*) blk=(\S*) net=(\S*)/g)) {
    const list = (s: string) => (s === '' ? [] : s.split(','));
    out.push({ n: Number(m[1]), cpus: m[2]!, memKb: Number(m[3]), blk: list(m[4]!), net: list(m[5]!) });
  }
  return out;
}

/** Waits until a tick the guest prints after `after` ticks satisfies `ok`; answers that tick. */
export async function waitTick(vm: XenVm, name: string, ok: (t: GuestTick) => boolean, opts: { after?: number; timeoutMs?: number; what: string }): Promise<GuestTick> {
  const end = Date.now() + (opts.timeoutMs ?? 180_000);
  for (;;) {
    const ticks = guestTicks(vm.console(name)).slice(opts.after ?? 0);
    const hit = ticks.find(ok);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`guest ${name}: ${opts.what} not seen within ${opts.timeoutMs ?? 180_000} ms; last tick: ${JSON.stringify(ticks.at(-1))}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
