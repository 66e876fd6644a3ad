// tsxend doctor: checks what a dom0 needs before tsxend can create domains, and says how to
// fix each miss, one line per thing (xapi's "make libxl happy" lesson: name what is missing).

import { constants, existsSync } from 'node:fs';
import { access, lstat, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { defaultSocketPath, parseEndpoint, type ApiClient } from '../client.js';
import { EXIT } from '../command.js';
import { clientCommand } from '../daemon-cli.js';

type Status = 'ok' | 'warn' | 'fail';
interface Check {
  check: string;
  status: Status;
  detail: string;
  fix?: string;
}

const XENSTORED_SOCKETS = ['/run/xenstored/socket', '/var/run/xenstored/socket'];
const SCRIPTS_DIR = '/etc/xen/scripts';
const EXECUTABLE_SCRIPTS = ['block', 'vif-bridge', 'vif-route', 'vif-nat', 'vif-setup'];
const SOURCED_SCRIPTS = ['xen-hotplug-common.sh', 'vif-common.sh', 'block-common.sh', 'xen-script-common.sh'];

function canConnect(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const t = setTimeout(() => {
      s.destroy();
      resolve('no answer within 2 s');
    }, 2000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (err) => {
      clearTimeout(t);
      resolve(err.message);
    });
  });
}

async function checkXenstored(explicit: string | undefined): Promise<Check> {
  const candidates = explicit ? [explicit] : XENSTORED_SOCKETS;
  for (const path of candidates) {
    const why = await canConnect(path);
    if (why === undefined) return { check: 'xenstored', status: 'ok', detail: `reachable at ${path}` };
    if (explicit) return { check: 'xenstored', status: 'fail', detail: `${path}: ${why}`, fix: 'start it: systemctl start xenstored (or xencommons), or point --xenstore at its socket' };
  }
  return {
    check: 'xenstored',
    status: 'fail',
    detail: `no xenstored socket answers at ${candidates.join(' or ')}`,
    fix: "start it: systemctl start xenstored (Debian: xen-utils-common); to try tsxend without Xen run 'tsxend serve' (embedded xenstore)",
  };
}

async function checkScripts(dir: string): Promise<Check[]> {
  const out: Check[] = [];
  for (const name of EXECUTABLE_SCRIPTS) {
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      out.push({ check: `hotplug ${name}`, status: 'ok', detail: `${p} is executable` });
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const optional = name !== 'block' && name !== 'vif-bridge';
      out.push({
        check: `hotplug ${name}`,
        status: optional ? 'warn' : 'fail',
        detail: missing ? `${p} is missing` : `${p} is not executable`,
        fix: missing ? 'install the Xen hotplug scripts (Debian: apt install xen-utils-common)' : `chmod 755 ${p}`,
      });
    }
  }
  for (const name of SOURCED_SCRIPTS) {
    const p = join(dir, name);
    try {
      await access(p, constants.R_OK);
      out.push({ check: `hotplug ${name}`, status: 'ok', detail: `${p} is readable` });
    } catch {
      out.push({ check: `hotplug ${name}`, status: 'fail', detail: `${p} is missing or unreadable`, fix: 'install the Xen hotplug scripts (Debian: apt install xen-utils-common)' });
    }
  }
  return out;
}

async function checkStateDir(dir: string): Promise<Check> {
  const probe = join(dir, `.doctor-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(probe, 'probe');
    await rm(probe);
    const st = await stat(dir);
    if ((st.mode & 0o077) !== 0) return { check: 'state dir', status: 'warn', detail: `${dir} is writable but mode ${(st.mode & 0o777).toString(8)}`, fix: `chmod 700 ${dir} (it holds domain configs)` };
    return { check: 'state dir', status: 'ok', detail: `${dir} is writable` };
  } catch (err) {
    return { check: 'state dir', status: 'fail', detail: `${dir}: ${(err as Error).message}`, fix: `run as root, or pass --state-dir to a writable directory (systemd: StateDirectory=tsxend)` };
  }
}

async function checkApiSocket(path: string): Promise<Check> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return { check: 'API socket', status: 'warn', detail: `${path} does not exist: the daemon is not running here`, fix: "start it: systemctl start tsxend, or 'tsxend serve'" };
  }
  if (!st.isSocket()) return { check: 'API socket', status: 'fail', detail: `${path} is not a socket`, fix: `remove ${path}; the daemon creates it` };
  const mode = st.mode & 0o777;
  const me = process.getuid?.() ?? 0;
  const problems: string[] = [];
  if ((mode & 0o007) !== 0) problems.push(`mode ${mode.toString(8)} lets any local user drive the toolstack`);
  if (st.uid !== me && st.uid !== 0) problems.push(`owned by uid ${st.uid}, not root or you (${me})`);
  const why = await canConnect(path);
  if (why !== undefined) problems.push(`nothing answers on it (${why}): a stale socket the next start will replace`);
  if (problems.length > 0) return { check: 'API socket', status: 'fail', detail: `${path}: ${problems.join('; ')}`, fix: 'restart the daemon (it recreates the socket 0600), or chmod 600 the socket' };
  return { check: 'API socket', status: 'ok', detail: `${path}: mode ${mode.toString(8)}, uid ${st.uid}, answering` };
}

async function checkDevice(path: string, what: string): Promise<Check> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return { check: path, status: 'ok', detail: `${what} present` };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      check: path,
      status: 'fail',
      detail: missing ? `${path} is missing: this is not a Xen dom0 (or xenfs/privcmd are not loaded)` : `${path}: ${(err as Error).message}`,
      fix: missing ? 'boot the Xen hypervisor with this kernel as dom0, then: modprobe xen-privcmd xen-evtchn (or mount -t xenfs xenfs /proc/xen)' : 'run tsxend as root',
    };
  }
}

const PRIVCMD = '/dev/xen/privcmd';
const WORLD_PARTS = ['hypervisor', 'xenstore', 'backends', 'hotplug', 'vfb', 'guests', 'console'] as const;
type World = { kind: string } & Partial<Record<(typeof WORLD_PARTS)[number], string>>;

/**
 * Which world each part runs in: the running daemon's own answer (GET /v1/host), else what
 * `tsxend serve` would run on this host. A daemon running the simulation on a Xen host is
 * flagged: on a dom0 the simulation runs only when asked for by name.
 */
async function checkWorld(client: () => ApiClient, privcmd: string): Promise<{ check: Check; world: (World & { source: 'daemon' }) | { source: 'host'; kind: 'real' | 'simulated' } }> {
  const xen = existsSync(privcmd);
  let world: World | undefined;
  let answered = false;
  try {
    world = (await client().get<{ world?: World }>('/v1/host')).world;
    answered = true;
  } catch {
    world = undefined;
  }
  if (answered && !world) {
    return { check: { check: 'world', status: 'warn', detail: 'the daemon does not say which world its parts run in (a tsxend older than this one)', fix: 'upgrade and restart the daemon' }, world: { source: 'host', kind: existsSync(privcmd) ? 'real' : 'simulated' } };
  }
  if (world) {
    const parts = WORLD_PARTS.map((p) => `${p}=${world[p] ?? '?'}`).join(', ');
    const detail = `the daemon runs the ${world.kind} world: ${parts}`;
    const check: Check =
      xen && world.kind !== 'real'
        ? { check: 'world', status: 'warn', detail: `${detail}, on a host with Xen (${privcmd})`, fix: 'restart it with --hypervisor xen --xenstore socket:/run/xenstored/socket' }
        : { check: 'world', status: 'ok', detail };
    return { check, world: { source: 'daemon', ...world } };
  }
  const kind = xen ? 'real' : 'simulated';
  const detail = xen
    ? `no daemon answers; on this host (${privcmd}) 'tsxend serve --hypervisor xen --xenstore socket:/run/xenstored/socket' runs the real world: kernel backends, hotplug scripts, qemu-xenpv, real guests, xenconsoled's ptys (the embedded, simulated default is refused here)`
    : `no daemon answers; without ${privcmd}, 'tsxend serve' runs the simulated world (hypervisor, backends, scripts, framebuffer, guests and consoles of src/sim)`;
  return { check: { check: 'world', status: 'ok', detail }, world: { source: 'host', kind } };
}

export const command = clientCommand({
  summary: 'check what a dom0 needs (xenstored, hotplug scripts, state dir, API socket, /dev/xen) and how to fix each miss, and say which world (real or simulated) each part runs in',
  usage: 'doctor [--hypervisor xen] [--xenstore PATH] [--state-dir DIR] [--scripts-dir DIR] [--json]',
  help: '  --hypervisor xen   also check what real Xen needs (libxenctrl and friends, control domain)',
  options: { xenstore: { type: 'string' }, 'state-dir': { type: 'string' }, 'scripts-dir': { type: 'string' }, hypervisor: { type: 'string' } },
  positionals: 0,
  async run({ values, json, client }, io) {
    const env = io.env;
    const stateDir =
      (typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined) ??
      env.TSXEND_STATE_DIR ??
      (process.getuid?.() === 0 ? '/var/lib/tsxend' : join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'tsxend'));
    const connectSpec = typeof values.connect === 'string' ? values.connect : env.TSXEND_CONNECT;
    const endpoint = connectSpec === undefined ? { kind: 'unix' as const, path: defaultSocketPath(env) } : parseEndpoint(connectSpec);
    const xs = typeof values.xenstore === 'string' ? values.xenstore.replace(/^socket:/, '') : env.XENSTORED_PATH;
    const checks: Check[] = [
      await checkXenstored(xs),
      ...(await checkScripts(typeof values['scripts-dir'] === 'string' ? values['scripts-dir'] : SCRIPTS_DIR)),
      await checkStateDir(stateDir),
      ...(endpoint.kind === 'unix' ? [await checkApiSocket(endpoint.path)] : []),
      await checkDevice('/dev/xen/privcmd', 'hypercall device'),
      await checkDevice('/dev/xen/evtchn', 'event channel device'),
    ];
    if (values.hypervisor === 'xen') {
      // The real-Xen checks belong to the hypervisor layer (libraries, FFI, control domain).
      const { xenDoctorChecks } = await import('../../hypervisor/select.js');
      for (const c of await xenDoctorChecks()) if (!checks.some((x) => x.check === c.check)) checks.push(c);
    }
    const world = await checkWorld(client, PRIVCMD);
    checks.push(world.check);
    const failed = checks.filter((c) => c.status === 'fail').length;
    if (json) io.stdout(JSON.stringify({ ok: failed === 0, checks, world: world.world }, null, 2) + '\n');
    else {
      for (const c of checks) {
        io.stdout(`${c.status.toUpperCase().padEnd(5)}${c.check}: ${c.detail}\n${c.fix && c.status !== 'ok' ? `     fix: ${c.fix}\n` : ''}`);
      }
      io.stdout(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
    }
    return failed === 0 ? EXIT.ok : EXIT.failure;
  },
});
