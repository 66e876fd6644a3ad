// Runs the built CLI as a user would: `npm run build` once (under a lock, since several test
// files may ask at once), then `node bin/tsxend.js serve ...` as a child process, and CLI
// commands as child processes too.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiClient } from '../../../src/cli/client.js';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'bin', 'tsxend.js');
const run = promisify(execFile);

/** Builds dist once per test run (a stamp younger than this process's start says it is done). */
export async function buildOnce(): Promise<void> {
  const lock = join(root, '.tmp', 'build.lock');
  const stamp = join(root, '.tmp', 'build.stamp');
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const started = Date.now() - process.uptime() * 1000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    let fresh = false;
    try {
      fresh = statSync(stamp).mtimeMs > started - 120_000;
    } catch {
      fresh = false;
    }
    if (!fresh) {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
      writeFileSync(stamp, String(Date.now()));
    }
  } catch (err) {
    // tsc exits non-zero on type errors elsewhere but still emits; the CLI runs if dist exists.
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    if (!statSync(join(root, 'dist', 'cli', 'main.js'), { throwIfNoEntry: false })) throw new Error(`build failed:\n${out}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly socket: string;
  readonly stateDir: string;
  readonly api: ApiClient;
  readonly output: () => string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServe(opts: { stateDir?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<ServeProcess> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'tsxend-e2e-'));
  const socket = join(stateDir, 'run', 'tsxend.sock');
  let output = '';
  const child = spawn(process.execPath, [bin, 'serve', '--state-dir', stateDir, '--listen', `unix:${socket}`, '--log-level', 'debug', ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => void (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => void (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const api = new ApiClient({ connect: `unix:${socket}` }, {});
  for (let i = 0; ; i++) {
    try {
      await api.get('/v1/health');
      break;
    } catch (err) {
      if (child.exitCode !== null || i > 400) throw new Error(`tsxend serve did not come up (${String(err)}):\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    child,
    socket,
    stateDir,
    api,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsxend <args>` against a daemon's socket. */
export function cli(socket: string, ...args: string[]): Promise<CliResult> {
  return tsxend(...args, '--connect', `unix:${socket}`);
}

/** Runs `tsxend <args>` as is. */
export async function tsxend(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function readJsonLines<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}

export const readText = (p: string): string => readFileSync(p, 'utf8');
