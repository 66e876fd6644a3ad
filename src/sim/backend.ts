// A simulated dom0 kernel backend (blkback, netback, tpmback, console backends): the other side
// of the XenbusState handshake when no real kernel drivers exist. It follows what the Linux
// drivers do: Initialising → InitWait once the device appears; Connected once the frontend is
// Initialised (blkback also needs the hotplug script's `physical-device`, netback its
// `hotplug-status=connected`); Closing (written by the toolstack) → Closed.

import type { Watch, XenstoreClient } from '../xenstore/types.js';

export interface Simulator {
  stop(): Promise<void>;
}

const DEVICE = /^\/local\/domain\/(\d+)\/backend\/([a-z0-9_]+)\/(\d+)\/(\d+)(?:\/|$)/;

export function startBackendSimulator(xs: XenstoreClient, options: { backendDomid?: number; kinds?: readonly string[] } = {}): Promise<Simulator> {
  const bdom = options.backendDomid ?? 0;
  const kinds = new Set(options.kinds ?? ['vbd', 'qdisk', 'vbd3', 'vif', 'vtpm', 'console', 'vinput', 'vkbd']);
  const backendRoot = `/local/domain/${bdom}/backend`;
  return (async () => {
    // Frontend state changes wake the backend too (it watches its peer's `state`, as drivers do).
    const frontends = await xs.watch('/local/domain');
    return watchAndStep(
      xs,
      backendRoot,
      async (path) => {
        // A watch's own event (registration, also after a xenstored restart, when events were
        // missed): re-examine every device, as a driver probing its bus does.
        if (path === backendRoot || path === '/local/domain') {
          for (const kind of ((await xs.tryDirectory(backendRoot)) ?? []).filter((k) => kinds.has(k))) {
            for (const domid of (await xs.tryDirectory(`${backendRoot}/${kind}`)) ?? []) {
              for (const devid of (await xs.tryDirectory(`${backendRoot}/${kind}/${domid}`)) ?? []) {
                await stepBackend(xs, kind, `${backendRoot}/${kind}/${domid}/${devid}`).catch(() => undefined);
              }
            }
          }
          return;
        }
        let m = DEVICE.exec(path);
        if (!m) {
          const fe = FRONTEND_STATE.exec(path);
          if (!fe) return;
          const be = await xs.tryRead(`${fe[1]!}/backend`);
          m = be === undefined ? null : DEVICE.exec(`${be}/`);
        }
        if (!m || !kinds.has(m[2]!)) return;
        await stepBackend(xs, m[2]!, m[0].replace(/\/$/, ''));
      },
      [frontends],
    );
  })();
}

const FRONTEND_STATE = /^(\/local\/domain\/\d+\/device\/[a-z0-9_]+\/\d+)\/state$/;

async function stepBackend(xs: XenstoreClient, kind: string, be: string): Promise<void> {
  const [state, fe, hotplug, physical] = await Promise.all([
    xs.tryRead(`${be}/state`),
    xs.tryRead(`${be}/frontend`),
    xs.tryRead(`${be}/hotplug-status`),
    xs.tryRead(`${be}/physical-device`),
  ]);
  if (state === undefined || fe === undefined) return;
  if (kind === 'vkbd') {
    // A qemu vkbd is served by the framebuffer daemon when the domain has a vfb.
    const vfb = be.replace('/backend/vkbd/', '/backend/vfb/');
    if ((await xs.tryRead(`${vfb}/frontend`)) !== undefined) return;
  }
  if (state === '1') {
    await switchState(xs, be, '1', '2');
    return;
  }
  if (state === '5') {
    await switchState(xs, be, '5', '6');
    return;
  }
  if (state === '2') {
    const feState = await xs.tryRead(`${fe}/state`);
    if (feState !== '3' && feState !== '4') return;
    if (kind === 'vif' && hotplug !== 'connected') return;
    if (kind === 'vbd' && physical === undefined) return;
    await switchState(xs, be, '2', '4');
  }
}

/**
 * xenbus_switch_state, atomically: moves a device from the state the driver saw to the next one
 * only if it is still in it (and still exists). A late "connect" can therefore never overwrite
 * the toolstack's Closing, and a removed device is never resurrected.
 */
export async function switchState(xs: XenstoreClient, dir: string, from: string, to: string): Promise<boolean> {
  return xs.transaction(async (tx) => {
    if ((await tx.tryRead(`${dir}/state`)) !== from) return false;
    await tx.write(`${dir}/state`, to);
    return true;
  });
}

/**
 * Writes dir/key only while the device still exists (its `marker` node is there), atomically:
 * a driver never resurrects a directory the toolstack has just removed, as a plain write would.
 */
export async function writeIfPresent(xs: XenstoreClient, dir: string, marker: string, key: string, value: string): Promise<void> {
  await xs.transaction(async (tx) => {
    if ((await tx.tryRead(`${dir}/${marker}`)) === undefined) return;
    await tx.write(`${dir}/${key}`, value);
  });
}

/** Watches a subtree and runs `step` for each changed path, one at a time, until stopped. */
export async function watchAndStep(xs: XenstoreClient, root: string, step: (path: string) => Promise<void>, extra: Watch[] = []): Promise<Simulator> {
  const watch = await xs.watch(root);
  let stopped = false;
  const pump = async (w: Watch) => {
    for await (const ev of w) {
      if (stopped) break;
      try {
        await step(ev.path);
      } catch {
        // Nodes vanish under us during teardown; the next event re-examines the state.
      }
    }
  };
  const done = Promise.all([watch, ...extra].map(pump));
  return {
    async stop() {
      stopped = true;
      await Promise.all([watch, ...extra].map((w) => w.close()));
      await done;
    },
  };
}
