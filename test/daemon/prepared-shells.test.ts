// `tsxend serve --prepared-shells`: GET /v1/host accounts the pool (checked against
// docs/openapi.json), the shells are no domains in GET /v1/domains, a create that fits runs in
// one, and the shells are recorded in the state directory across a stop and the next start.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.js';
import { command as info } from '../../src/cli/commands/info.js';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/server.js';
import { configInput, environmentFactory } from '../../src/daemon/wiring.js';
import type { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { http } from './helpers/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-shells-d-'));
const socket = join(dir, 'run', 'tsxend.sock');
const stateDir = join(dir, 'state');
let daemon: RunningDaemon | undefined;

async function serve(): Promise<{ daemon: RunningDaemon; shells: DomainOrchestrator['shells'] }> {
  const options = resolveServeOptions(['--state-dir', stateDir, '--listen', `unix:${socket}`, '--log-level', 'warn', '--log-file', join(dir, 'tsxend.log'), '--prepared-shells', '2,memory=128'], { HOME: dir });
  daemon = await startDaemon(options, { environment: environmentFactory, config: configInput, env: {} });
  // The daemon's orchestrator is the lifecycle's: its pool is what a bench waits on.
  return { daemon, shells: (daemon.orchestrator as DomainOrchestrator).shells };
}

const shellFiles = (): string[] => readdirSync(join(stateDir, 'shells')).filter((n) => n.endsWith('.json'));

afterAll(async () => {
  await daemon?.stop('test over');
  rmSync(dir, { recursive: true, force: true });
});

describe('the daemon with prepared shells', () => {
  it('accounts the pool in GET /v1/host, lists no shell as a domain, and a fitting create runs in one', async () => {
    const { shells } = await serve();
    await shells.whenFull();
    const host = await http(socket, 'GET', '/v1/host');
    expect(host.status).toBe(200);
    expect((host.json as Record<string, unknown>)['preparedShells']).toEqual({ target: 2, ready: 2, preparing: 0, memoryKiB: 0, type: 'pv', maxVcpus: 1, memoryMiB: 128 });
    expect(((await http(socket, 'GET', '/v1/domains')).json as { domains: unknown[] }).domains).toEqual([]);
    expect(shellFiles()).toHaveLength(2);
    let out = '';
    const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), env: { TSXEND_CONNECT: `unix:${socket}` } };
    expect(await info.run([], io)).toBe(0);
    expect(out).toMatch(/^prepared_shells +: 2\/2 ready, 0 preparing \(pv, 1 vcpus, 128 MiB\)$/m);
    const [first] = shells.readyDomids();
    const created = await http(socket, 'POST', '/v1/domains', 'name = "web"\nmemory = 64\nkernel = "/boot/vmlinuz"\n', 'text/plain');
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'web', domid: first, state: 'running' });
    await shells.whenFull();
    expect(((await http(socket, 'GET', '/v1/host')).json as { preparedShells: unknown }).preparedShells).toMatchObject({ target: 2, ready: 2, preparing: 0 });
    expect(((await http(socket, 'GET', '/v1/domains')).json as { domains: { name: string }[] }).domains.map((d) => d.name)).toEqual(['web']);
  });

  it('a stop leaves the shells recorded; the next start (a new embedded world: their domains are gone) drops those records and prepares new shells', async () => {
    await daemon?.stop('restart');
    expect(shellFiles()).toHaveLength(2);
    const before = new Set(shellFiles());
    const { shells } = await serve();
    await shells.whenFull();
    const now = shellFiles();
    expect(now).toHaveLength(2);
    expect(now.filter((f) => before.has(f))).toEqual([]);
  });
});
