// Xen's device model as the framebuffer backend on a real dom0: QEMU with the `xenpv` machine
// (Debian's qemu-system-xen), started per domain as libxl 4.17 starts it for a PV guest with a
// vfb. It serves the domain's vfb and vkbd backends (and writes their start-up nodes itself),
// and says it is up in /local/domain/0/device-model/<domid>/state.
//
// Its control sockets are libxl's (/var/run/xen/qmp-libxl-<domid>, qmp-libxenstat-<domid>), so
// xentop and xl's QMP tools find them. The VNC password never appears on its command line
// (readable by every user): VNC starts with password=on and the password is set over QMP, as
// libxl does.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { TsxError } from '../../errors.js';
import type { XenstoreClient } from '../../xenstore/types.js';
import { E_BACKEND_DAEMON_EXITED } from '../errors.js';
import type { VfbCommand, VfbDaemonArgs } from './supervisor.js';

/** Debian's qemu-system-xen; Xen's own build installs it as /usr/lib/xen/bin/qemu-system-i386. */
export const DEFAULT_DEVICE_MODEL = '/usr/libexec/xen-qemu-system-i386';
const QMP_DIR = '/var/run/xen';
export const qmpSocket = (domid: number, who: 'libxl' | 'libxenstat' = 'libxl'): string => `${QMP_DIR}/qmp-${who}-${domid}`;
const dmPath = (domid: number): string => `/local/domain/0/device-model/${domid}`;

/** `-vnc` as libxl writes it: LISTEN:DISPLAY (DISPLAY 0 unless given), to=99 to take the next free one. */
function vncArg(a: VfbDaemonArgs): string {
  const v = a.vfb;
  if (!v.vnc) return 'none';
  const listen = v.vnclisten.includes(':') ? v.vnclisten : `${v.vnclisten}:${v.vncdisplay ?? 0}`;
  return `${listen}${v.vncunused ? ',to=99' : ''}${v.vncpasswd ? ',password=on' : ''}`;
}

export function deviceModelArgs(a: VfbDaemonArgs): string[] {
  const chardev = (id: string, who: 'libxl' | 'libxenstat') => ['-chardev', `socket,id=${id},path=${qmpSocket(a.domid, who)},server=on,wait=off`, '-mon', `chardev=${id},mode=control`];
  return [
    '-xen-domid', String(a.domid),
    '-no-shutdown',
    ...chardev('libxl-cmd', 'libxl'),
    ...chardev('libxenstat-cmd', 'libxenstat'),
    '-nodefaults', '-no-user-config', '-xen-attach',
    '-name', a.name,
    '-vnc', vncArg(a),
    ...(a.vfb.keymap ? ['-k', a.vfb.keymap] : []),
    '-display', 'none',
    '-machine', 'xenpv',
  ];
}

/** One QMP exchange: the greeting, qmp_capabilities, then each command in turn. */
export async function qmp(path: string, commands: readonly { execute: string; arguments?: Record<string, unknown> }[], timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const queue = [{ execute: 'qmp_capabilities' }, ...commands];
    const results: unknown[] = [];
    let buf = '';
    let greeted = false;
    const timer = setTimeout(() => fail(new Error(`QMP ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error) => (clearTimeout(timer), sock.destroy(), reject(e));
    const next = () => {
      const c = queue.shift();
      if (!c) return clearTimeout(timer), sock.end(), resolve(results.slice(1));
      sock.write(JSON.stringify(c) + '\n');
    };
    sock.on('error', fail);
    sock.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        if (msg.event) continue;
        if (!greeted) {
          greeted = msg.QMP !== undefined;
          next();
        } else if (msg.error) fail(new Error(`QMP ${path}: ${msg.error.desc ?? 'error'}`));
        else {
          results.push(msg.return);
          next();
        }
      }
    });
  });
}

async function untilExists(path: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new TsxError(E_BACKEND_DAEMON_EXITED, `the device model did not open its control socket ${path} within ${timeoutMs} ms`, { details: { class: 'vfb', path } });
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function qemuXenpvCommand(binary = DEFAULT_DEVICE_MODEL): VfbCommand {
  return {
    kind: 'qemu-xenpv',
    argv: [binary],
    args: deviceModelArgs,
    env: { XEN_QEMU_CONSOLE_LIMIT: '1048576' },
    async prepare(xs: XenstoreClient, a: VfbDaemonArgs) {
      if (!existsSync(binary)) {
        throw new TsxError(E_BACKEND_DAEMON_EXITED, `a vfb needs Xen's device model, and ${binary} is missing (apt install qemu-system-xen, or --device-model PATH)`, { details: { class: 'vfb', binary } });
      }
      mkdirSync(QMP_DIR, { recursive: true });
      // QEMU registers its backends under this directory; dom0-only, as libxl leaves it.
      await xs.write(dmPath(a.domid), '');
      await xs.setPerms(dmPath(a.domid), [{ domid: 0, access: 'n' }]);
    },
    async configure(a: VfbDaemonArgs) {
      if (!a.vfb.vncpasswd) return;
      await untilExists(qmpSocket(a.domid), 30_000);
      await qmp(qmpSocket(a.domid), [{ execute: 'change-vnc-password', arguments: { password: a.vfb.vncpasswd } }]);
    },
    async cleanup(xs: XenstoreClient, domid: number) {
      await xs.rm(dmPath(domid)).catch(() => undefined);
      for (const who of ['libxl', 'libxenstat'] as const) rmSync(qmpSocket(domid, who), { force: true });
    },
  };
}
