import { clientCommand, output } from '../daemon-cli.js';

interface Host {
  hypervisor: string;
  /** Which world each part runs in (real or simulated). */
  world?: { kind: string } & Record<string, string>;
  version: string;
  nrCpus: number;
  totalMemoryKiB: number;
  freeMemoryKiB: number;
  /** The pool of prepared shells (--prepared-shells). */
  preparedShells?: { target: number; ready: number; preparing: number; type: string; maxVcpus: number; memoryMiB: number };
  tsxendVersion: string;
  nodeVersion: string;
}

export const command = clientCommand({
  summary: 'host information (like xm info)',
  usage: 'info [--json]',
  positionals: 0,
  async run({ client, json }, io) {
    const api = client();
    const [host, health] = await Promise.all([api.get<Host>('/v1/host'), api.get<Record<string, unknown>>('/v1/health').catch(() => undefined)]);
    output(io, json, { ...host, ...(health ? { health } : {}) }, () =>
      [
        ['hypervisor', host.hypervisor],
        ['xen_version', host.version],
        ['nr_cpus', host.nrCpus],
        ['total_memory', `${Math.floor(host.totalMemoryKiB / 1024)} MiB`],
        ['free_memory', `${Math.floor(host.freeMemoryKiB / 1024)} MiB`],
        ...(host.world
          ? [['world', host.world.kind], ...['hypervisor', 'xenstore', 'backends', 'hotplug', 'vfb', 'guests', 'console'].map((p) => [`world_${p}`, host.world?.[p] ?? '?'])]
          : []),
        ...(host.preparedShells && host.preparedShells.target > 0
          ? [['prepared_shells', `${host.preparedShells.ready}/${host.preparedShells.target} ready, ${host.preparedShells.preparing} preparing (${host.preparedShells.type}, ${host.preparedShells.maxVcpus} vcpus, ${host.preparedShells.memoryMiB} MiB)`]]
          : []),
        ['tsxend_version', host.tsxendVersion],
        ['node_version', host.nodeVersion],
        ...(health ? [['xenstore', String(health.xenstore)], ['domains', String(health.domains)], ['event_seq', String(health.seq)]] : []),
      ]
        .map(([k, v]) => `${String(k).padEnd(16)}: ${String(v)}\n`)
        .join(''),
    );
    return 0;
  },
});
