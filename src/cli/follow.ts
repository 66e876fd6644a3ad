// Runs a long operation (a task) and follows it to its end, showing its events as they happen:
// the event stream is subscribed *before* the request, from the seq the domain list is current
// to, so no step can be missed; the task itself is polled, so a lost stream loses only the lines.

import type { DomainView, TaskView, TsxEvent } from '../lifecycle/api.js';
import { ApiError, type ApiClient } from './client.js';
import { EXIT, type CliIo } from './command.js';
import { attachConsole } from './console-attach.js';
import { enc, output } from './daemon-cli.js';
import { domainSummary } from './format.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Follow<B extends { task: TaskView }> {
  /** Sends the request that starts the task (with wait=false). */
  start(): Promise<B>;
  /** Is this event about the operation (beyond its task id)? */
  mine?(e: TsxEvent, body: B): boolean;
  /** Called for each event of the operation, in order; none when `show` is false. */
  onEvent?(e: TsxEvent): void;
  readonly show: boolean;
  /** What the failure is called when the task carries no error (e.g. "save"). */
  readonly what: string;
}

/** Starts the task and answers its first reply; `wait()` follows it to the end (throws ApiError on failure). */
export async function followTask<B extends { task: TaskView }>(api: ApiClient, f: Follow<B>): Promise<{ body: B; wait(): Promise<TaskView>; close(): void }> {
  const pending: TsxEvent[] = [];
  let started: B | undefined;
  const mine = (e: TsxEvent): boolean => started !== undefined && (e.taskId === started.task.id || (f.mine?.(e, started) ?? false));
  const emit = (e: TsxEvent): void => {
    if (mine(e)) f.onEvent?.(e);
  };
  let ws: Awaited<ReturnType<ApiClient['openEvents']>> | undefined;
  if (f.show) {
    const { seq } = await api.get<{ seq: number }>('/v1/domains');
    // Progress is a nicety: without the stream the task is still polled to its end.
    ws = await api
      .openEvents({ since: seq }, (e) => {
        if (started === undefined) pending.push(e);
        else emit(e);
      })
      .catch(() => undefined);
  }
  try {
    started = await f.start();
  } catch (err) {
    ws?.close();
    throw err;
  }
  const body = started;
  for (const e of pending.splice(0)) emit(e);
  return {
    body,
    close: () => ws?.close(),
    wait: async () => {
      let task = body.task;
      while (task.state === 'running') {
        await sleep(150);
        task = await api.get<TaskView>(`/v1/tasks/${enc(task.id)}`);
      }
      await sleep(50); // let the last events of the task arrive
      if (task.state !== 'succeeded') {
        const code = task.error?.code ?? (task.state === 'cancelled' ? 'TSX_ERR_ABORTED' : 'TSX_ERR_INTERNAL');
        const status = (task.error as { statusCode?: number } | undefined)?.statusCode ?? 422;
        throw new ApiError(status, { statusCode: status, code, error: task.state, message: task.error?.message ?? `${f.what} ${task.state}` });
      }
      return task;
    },
  };
}

/** The end of a create or restore: the domain as it now is, then its console when asked (-c). */
export async function showDomain(api: ApiClient, io: CliIo, json: boolean, run: { close(): void }, uuid: string, attach: boolean): Promise<number> {
  const dom = await api.get<DomainView>(`/v1/domains/${enc(uuid)}`);
  output(io, json, dom, () => domainSummary(dom));
  if (!attach || dom.domid === undefined) return EXIT.ok;
  run.close();
  return attachConsole(api, dom.uuid, io);
}
