// Shutdown, reboot, halt, suspend asked of the guest (xm shutdown): control/shutdown is written
// and the operation waits for the domain to settle (the reaction to its shutdown, reactions.ts),
// bounded by the shutdown timeout; a guest that does not answer keeps running, the request
// withdrawn.

import { TsxError } from '../errors.js';
import type { DomainView, ShutdownMode } from './api.js';
import type { DomainRecord } from './domain.js';
import { E_SHUTDOWN_TIMEOUT } from './errors.js';
import { domPath } from './layout.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { retryingXs } from './reconnect.js';
import { checkAllowed } from './states.js';
import type { Task } from './tasks.js';

export async function runShutdown(o: DomainOrchestrator, r: DomainRecord, task: Task, mode: ShutdownMode): Promise<DomainView> {
  // Answers a box, not the promise itself: an async function would adopt it and hold the queue.
  const { settled } = await r.queue.run(async () => {
    checkAllowed('shutdown', r.name, r.state);
    const domid = r.domid as number;
    const prev = r.state;
    r.requestedShutdown = mode;
    let wake: (v: DomainView) => void = () => undefined;
    const settled = new Promise<DomainView>((resolve) => r.settleWaiters.push((wake = resolve)));
    o.setState(r, 'shutting-down');
    task.step(`waiting for the guest to ${mode}`, 0.2);
    try {
      await retryingXs(o.xs, o.opts.xsReconnectWaitMs).write(`${domPath(domid)}/control/shutdown`, mode);
    } catch (err) {
      // The request never reached the guest: the domain stays as it was.
      r.settleWaiters = r.settleWaiters.filter((w) => w !== wake);
      r.requestedShutdown = undefined;
      o.setState(r, prev);
      throw err;
    }
    o.emitFor(r, 'domain.shutdown-requested', { taskId: task.id, data: { mode } });
    return { settled };
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TsxError(E_SHUTDOWN_TIMEOUT, `domain ${r.name} did not ${mode} within ${o.opts.shutdownTimeoutMs} ms`, { details: { mode, timeoutMs: o.opts.shutdownTimeoutMs } })), o.opts.shutdownTimeoutMs);
  });
  const aborted = new Promise<never>((_, reject) => task.signal.addEventListener('abort', () => reject(task.signal.reason instanceof Error ? task.signal.reason : new Error('cancelled')), { once: true }));
  try {
    return await Promise.race([settled, timeout, aborted]);
  } catch (err) {
    // The guest never answered: it keeps running; the request is withdrawn.
    await r.queue.run(async () => {
      if (r.state === 'shutting-down' && r.domid !== undefined) {
        await o.xs.write(`${domPath(r.domid)}/control/shutdown`, '').catch(() => undefined);
        const info = await o.hv.getInfo(r.domid);
        o.setState(r, info?.paused ? 'paused' : 'running', 'the guest did not honour the shutdown request');
        r.requestedShutdown = undefined;
      }
    });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
