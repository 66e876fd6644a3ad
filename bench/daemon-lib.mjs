// Helpers for the daemon benchmarks: start `tsxend serve` (built CLI) on a private socket and
// state directory, wait until it answers, read its RSS, stop it.
import { setTimeout } from 'node:timers';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** The Node flags the launcher's #! line gives the daemon (as the systemd unit and the container run it). */
export function launcherNodeFlags() {
  const first = readFileSync(join(root, 'bin', 'tsxend.js'), 'utf8').split('\n', 1)[0];
  return first.replace(/^#!\S*env -S node/, '').trim().split(/\s+/).filter(Boolean);
}

/** `nodeFlags`: Node's own flags for the daemon (default: the launcher's). */
export async function startServe(extraArgs = [], env = {}, nodeFlags = launcherNodeFlags()) {
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-bench-'));
  const socket = join(dir, 'run', 'tsxend.sock');
  const child = spawn(process.execPath, [...nodeFlags, join(root, 'bin', 'tsxend.js'), 'serve', '--state-dir', dir, '--listen', `unix:${socket}`, '--log-level', 'warn', ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const { ApiClient } = await import(join(root, 'dist', 'cli', 'client.js'));
  const api = new ApiClient({ connect: `unix:${socket}` }, {});
  for (let i = 0; ; i++) {
    try {
      await api.get('/v1/health');
      break;
    } catch (err) {
      if (i > 300 || child.exitCode !== null) throw new Error(`tsxend serve did not come up: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    dir,
    socket,
    api,
    pid: child.pid,
    rssMiB: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

export function xlConfig(name, i, memory = 64) {
  return `name = "${name}"\nmemory = ${memory}\nvcpus = 1\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/${name},xvda,w"]\nvif = ["mac=00:16:3e:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')},bridge=xenbr0"]\n`;
}

export function percentiles(values) {
  const v = [...values].sort((a, b) => a - b);
  const p = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { p50: p(0.5), p90: p(0.9), p99: p(0.99), max: v.at(-1) };
}

export { startCxenstored } from './xenstored-lib.mjs';
