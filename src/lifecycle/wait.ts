// Waits, watch-driven, until every device's backend and frontend read Connected (4). One watch
// per frontend and per backend directory, all registered in one pipelined burst; each event
// re-reads the states. A console 0 frontend has no state node and counts by its backend alone.

import { E_ABORTED, TsxError } from '../errors.js';
import type { Watch, XenstoreClient } from '../xenstore/types.js';
import type { DeviceState, DeviceView } from './api.js';
import { E_DEVICES_TIMEOUT } from './errors.js';

/** A XenbusState node's value as a device state (a missing or unknown one: initialising). */
const STATE_NAMES: Record<string, DeviceState> = { '1': 'initialising', '2': 'init-wait', '3': 'init-wait', '4': 'connected', '5': 'closing', '6': 'closed' };

export function deviceStateOf(value: string | undefined): DeviceState {
  return (value !== undefined && STATE_NAMES[value]) || 'initialising';
}

export interface ArmedWait {
  /** Resolves with the devices' final views when all are Connected; typed failure otherwise. */
  wait(): Promise<DeviceView[]>;
  close(): Promise<void>;
}

/** Registers the watches now (before the guest runs), so no transition can be missed. */
export async function armDevicesConnected(xs: XenstoreClient, devices: readonly DeviceView[], deadline: number, signal: AbortSignal): Promise<ArmedWait> {
  if (devices.length === 0) return { wait: async () => [], close: async () => undefined };
  const paths = devices.flatMap((d) => [d.frontendPath, d.backendPath]);
  const watches: Watch[] = await Promise.all(paths.map((p) => xs.watch(p)));
  const close = async () => {
    await Promise.all(watches.map((w) => w.close().catch(() => undefined)));
  };
  let last: DeviceView[] = [...devices];
  const check = async (): Promise<boolean> => {
    const states = await Promise.all(devices.flatMap((d) => [xs.tryRead(`${d.frontendPath}/state`), xs.tryRead(`${d.backendPath}/state`)]));
    last = devices.map((d, i) => {
      const fe = states[2 * i];
      const be = states[2 * i + 1];
      const feOk = fe === '4' || (fe === undefined && d.class === 'console');
      return { ...d, state: feOk && be === '4' ? 'connected' : deviceStateOf(be) };
    });
    return last.every((d) => d.state === 'connected');
  };
  const wait = () =>
    new Promise<DeviceView[]>((resolve, reject) => {
      let done = false;
      let checking = false;
      let again = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err instanceof Error ? err : new Error('waiting for devices failed', { cause: err }));
        else resolve(last);
      };
      const onAbort = () => finish(signal.reason ?? new TsxError(E_ABORTED, 'cancelled while waiting for devices'));
      const timer = setTimeout(() => {
        const pending = last.filter((d) => d.state !== 'connected').map((d) => ({ class: d.class, devid: d.devid, state: d.state }));
        finish(new TsxError(E_DEVICES_TIMEOUT, `devices not Connected before the deadline: ${pending.map((p) => `${p.class}/${p.devid} (${p.state})`).join(', ')}`, { details: { pending } }));
      }, Math.max(0, deadline - Date.now()));
      signal.addEventListener('abort', onAbort, { once: true });
      const run = async () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            if (await check()) return finish();
          } while (again && !done);
        } catch (err) {
          finish(err);
        } finally {
          checking = false;
        }
      };
      for (const w of watches) {
        void (async () => {
          for await (const _ of w) {
            if (done) break;
            void run();
          }
        })().catch(() => undefined);
      }
      void run();
    });
  return { wait, close };
}
