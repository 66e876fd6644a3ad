// Runs the real daemon composition (startDaemon: listeners, auth, state dir, signals aside)
// in-process around a FakeOrchestrator, on a private Unix socket.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { resolveServeOptions } from '../../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../../src/daemon/server.js';
import { REDACT_PATHS, type DaemonLogger } from '../../../src/daemon/logger.js';
import { FakeOrchestrator, fakeConfigInput } from './fake-orchestrator.js';

export interface TestDaemon {
  daemon: RunningDaemon;
  orch: FakeOrchestrator;
  dir: string;
  socket: string;
  logs: string[];
  environmentClosed: () => number;
}

export function memoryLogger(logs: string[]): DaemonLogger {
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  return { logger, reopen: () => undefined, setLevel: (l) => void (logger.level = l), flush: () => undefined };
}

export async function startTestDaemon(opts: { orch?: FakeOrchestrator; args?: string[]; dir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestDaemon> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tsxend-d-'));
  const socket = join(dir, 'run', 'tsxend.sock');
  const orch = opts.orch ?? new FakeOrchestrator();
  const logs: string[] = [];
  let closed = 0;
  const options = resolveServeOptions(['--state-dir', dir, '--listen', `unix:${socket}`, ...(opts.args ?? [])], { HOME: dir });
  const daemon = await startDaemon(options, {
    environment: async () => ({ orchestrator: orch, close: async () => void closed++ }),
    config: fakeConfigInput,
    env: opts.env ?? {},
    logger: memoryLogger(logs),
  });
  return { daemon, orch, dir, socket, logs, environmentClosed: () => closed };
}
