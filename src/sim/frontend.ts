// A simulated guest's frontend drivers, started when the guest runs: for each device under
// /local/domain/<domid>/device it publishes its ring details and goes Initialised once the
// backend is in InitWait, Connected once the backend is, and Closed when the backend closes.
// Like a real frontend it watches its own devices and each of their backends' `state` — not the
// whole backend tree, so a thousand running guests cost nothing to a create.
// Give it a connection opened as the guest where the store allows (the mock), so the
// permissions it meets are the guest's.

import type { Watch, XenstoreClient } from '../xenstore/types.js';
import { switchState, type Simulator } from './backend.js';

const RING: Record<string, [string, string][]> = {
  vif: [['tx-ring-ref', '8'], ['rx-ring-ref', '9'], ['event-channel', '10'], ['request-rx-copy', '1'], ['feature-rx-notify', '1']],
  vfb: [['page-ref', '8'], ['event-channel', '10'], ['feature-update', '1']],
  vkbd: [['page-ref', '8'], ['event-channel', '10'], ['request-abs-pointer', '1']],
};
const DEFAULT_RING: [string, string][] = [['ring-ref', '8'], ['event-channel', '10']];

export async function startGuestFrontends(xs: XenstoreClient, domid: number, backendXs: XenstoreClient = xs): Promise<Simulator> {
  const home = `/local/domain/${domid}/device`;
  const watches: Watch[] = [];
  const backendWatches = new Map<string, Watch>();
  let stopped = false;
  let running = false;
  let again = false;
  const pumps: Promise<void>[] = [];

  // One scan at a time; an event during a scan asks for one more.
  const scan = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        for (const kind of (await xs.tryDirectory(home)) ?? []) {
          for (const devid of (await xs.tryDirectory(`${home}/${kind}`)) ?? []) {
            const fe = `${home}/${kind}/${devid}`;
            const be = await xs.tryRead(`${fe}/backend`);
            if (be !== undefined && !backendWatches.has(be) && !stopped) {
              const w = await backendXs.watch(`${be}/state`);
              backendWatches.set(be, w);
              pumps.push(pump(w));
            }
            await stepFrontend(xs, backendXs, kind, fe).catch(() => undefined);
          }
        }
        // Forget the backends of devices that are gone.
        for (const [be, w] of backendWatches) {
          if ((await backendXs.tryRead(`${be}/frontend`)) === undefined) {
            backendWatches.delete(be);
            await w.close();
          }
        }
      } while (again && !stopped);
    } finally {
      running = false;
    }
  };
  const pump = async (w: Watch): Promise<void> => {
    for await (const _ of w) {
      if (stopped) break;
      await scan().catch(() => undefined);
    }
  };
  const own = await xs.watch(home);
  watches.push(own);
  pumps.push(pump(own));
  return {
    async stop() {
      stopped = true;
      await Promise.all([...watches, ...backendWatches.values()].map((w) => w.close()));
      await Promise.all(pumps);
    },
  };
}

async function stepFrontend(xs: XenstoreClient, backendXs: XenstoreClient, kind: string, fe: string): Promise<void> {
  const [state, be] = await Promise.all([xs.tryRead(`${fe}/state`), xs.tryRead(`${fe}/backend`)]);
  if (state === undefined || be === undefined) return;
  const beState = await backendXs.tryRead(`${be}/state`);
  if (beState === undefined) return;
  if ((beState === '5' || beState === '6') && state !== '6') {
    await switchState(xs, fe, state, '6');
    return;
  }
  if (state === '1' && (beState === '2' || beState === '4')) {
    await xs.transaction(async (tx) => {
      if ((await tx.tryRead(`${fe}/state`)) !== '1') return; // moved on, or removed, meanwhile
      await Promise.all((RING[kind] ?? DEFAULT_RING).map(([k, v]) => tx.write(`${fe}/${k}`, v)));
      await tx.write(`${fe}/state`, '3');
    });
    return;
  }
  if (state === '3' && beState === '4') await switchState(xs, fe, '3', '4');
}
