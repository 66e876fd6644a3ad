// tsxend create FILE: sends the config in one request and shows each step as it happens (each
// device as it comes up) from the event stream, subscribed *before* the create from the seq the
// domain list is current to, so no step can be missed.

import { basename, extname } from 'node:path';
import type { DomainView, TaskView, TsxEvent } from '../../lifecycle/api.js';
import { ApiError } from '../client.js';
import { EXIT } from '../command.js';
import { clientCommand, readInputFile, enc, output, withConfigSource } from '../daemon-cli.js';
import { domainSummary, eventLine } from '../format.js';
import { attachConsole } from '../console-attach.js';

const CONTENT_TYPES: Record<string, string> = { '.sxp': 'application/x-sxp', '.json': 'application/json' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const command = clientCommand({
  summary: 'create a domain from a config file (xl.cfg/xm, .sxp or .json), showing each device as it comes up',
  usage: 'create FILE [-c] [-p] [--managed] [--no-wait] [--quiet] [--format xl|sxp|json]',
  help: '  -c          attach to the console once the domain runs (Ctrl-] detaches)\n  -p          leave the domain paused once its devices are up\n  --managed   also keep the config in the state directory (a managed domain)\n  --no-wait   print the task and return at once\n  --quiet     no progress lines',
  options: {
    console: { type: 'boolean', short: 'c' },
    paused: { type: 'boolean', short: 'p' },
    managed: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    format: { type: 'string' },
  },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const file = positionals[0] as string;
    const text = readInputFile('create', file);
    const fmt = typeof values.format === 'string' ? values.format : undefined;
    const contentType = fmt === 'sxp' ? 'application/x-sxp' : fmt === 'json' ? 'application/json' : fmt === 'xl' ? 'text/plain' : (CONTENT_TYPES[extname(file)] ?? 'text/plain');
    const qs = new URLSearchParams({ wait: 'false' });
    if (values.paused) qs.set('paused', 'true');
    if (values.managed) qs.set('managed', 'true');
    const api = client();
    const progress = !json && values.quiet !== true && values['no-wait'] !== true;

    // Subscribe first, from the seq the model is at now.
    const pending: TsxEvent[] = [];
    let ws: Awaited<ReturnType<typeof api.openEvents>> | undefined;
    let taskId: string | undefined;
    let uuid: string | undefined;
    const mine = (e: TsxEvent): boolean => (taskId !== undefined && e.taskId === taskId) || (uuid !== undefined && e.uuid === uuid);
    const show = (e: TsxEvent): void => {
      if (progress && mine(e)) io.stdout(eventLine(e));
    };
    if (progress) {
      const { seq } = await api.get<{ seq: number }>('/v1/domains');
      // Progress is a nicety: without the stream the task is still polled to its end.
      ws = await api
        .openEvents({ since: seq }, (e) => {
          if (taskId === undefined) pending.push(e);
          else show(e);
        })
        .catch(() => undefined);
    }
    try {
      const res = await withConfigSource(text, () => api.request<{ task: TaskView; uuid?: string }>('POST', `/v1/domains?${qs.toString()}`, { data: text, contentType }, { 'x-tsxend-filename': basename(file) }));
      let task = res.body.task;
      taskId = task.id;
      uuid = res.body.uuid ?? task.domainUuid;
      if (values['no-wait']) {
        output(io, json, res.body, () => `creating ${uuid ?? ''}: task ${task.id} (tsxend events, or GET /v1/tasks/${task.id})\n`);
        return EXIT.ok;
      }
      for (const e of pending.splice(0)) show(e);
      while (task.state === 'running') {
        await sleep(150);
        task = await api.get<TaskView>(`/v1/tasks/${enc(task.id)}`);
      }
      await sleep(50); // let the last events of the task arrive before the summary
      if (task.state !== 'succeeded') {
        const code = task.error?.code ?? (task.state === 'cancelled' ? 'TSX_ERR_ABORTED' : 'TSX_ERR_INTERNAL');
        const status = (task.error as { statusCode?: number } | undefined)?.statusCode ?? 422;
        throw new ApiError(status, { statusCode: status, code, error: task.state, message: task.error?.message ?? `create ${task.state}` });
      }
      const dom = await api.get<DomainView>(`/v1/domains/${enc(uuid ?? task.domainUuid ?? '')}`);
      output(io, json, dom, () => domainSummary(dom));
      if (values.console && dom.domid !== undefined) {
        ws?.close();
        return await attachConsole(api, dom.uuid, io);
      }
      return EXIT.ok;
    } finally {
      ws?.close();
    }
  },
});
