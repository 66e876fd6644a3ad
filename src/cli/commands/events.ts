// tsxend events: follows the event stream, one line (or one JSON object) per event. With
// --since it resumes where a previous run stopped; a `resync-required` message means the
// daemon's buffer no longer holds that far back and the domain list should be re-read.

import type { TsxEvent } from '../../lifecycle/api.js';
import { EXIT } from '../command.js';
import { UsageError, clientCommand } from '../daemon-cli.js';
import { eventLine } from '../format.js';

export const command = clientCommand({
  summary: 'follow the event stream (--since N resumes, --domain filters)',
  usage: 'events [--since N] [--domain DOMAIN] [--count N] [--json]',
  options: { since: { type: 'string' }, domain: { type: 'string' }, count: { type: 'string', short: 'n' } },
  positionals: 0,
  async run({ values, client, json }, io) {
    const since = values.since === undefined ? undefined : Number(values.since);
    const count = values.count === undefined ? undefined : Number(values.count);
    if (since !== undefined && !(Number.isInteger(since) && since >= 0)) throw new UsageError('--since takes an event seq (a whole number)');
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError('--count takes a positive whole number');
    let seen = 0;
    let enough = false;
    let stop = (): void => void (enough = true); // until the socket is ours (replay can come first)
    const ws = await client().openEvents({ since, domain: typeof values.domain === 'string' ? values.domain : undefined }, (e: TsxEvent) => {
      if (count !== undefined && seen >= count) return;
      io.stdout(json ? JSON.stringify(e) + '\n' : e.type === 'resync-required' ? `#${e.seq} resync-required: events after ${String(e.data?.since)} are gone; re-list domains (tsxend list) and resume with --since ${e.seq}\n` : eventLine(e));
      if (count !== undefined && ++seen >= count) stop();
    });
    stop = () => ws.close(1000);
    if (enough) stop();
    return new Promise<number>((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        if (code === 1000 || code === 1005) return resolve(EXIT.ok);
        io.stderr(`tsxend: event stream closed (${code}${reason.length > 0 ? `: ${reason.toString('utf8')}` : ''})\n`);
        resolve(code === 1001 || code === 1006 ? EXIT.unavailable : EXIT.failure);
      });
    });
  },
});
