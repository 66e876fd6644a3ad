// GET /v1/events: the websocket event stream. Each event is one JSON text frame with its seq.
// `?since=SEQ` replays what the ring still holds (or sends one `resync-required` message with a
// fresh domain list when it does not); `?domain=REF` filters. Replay and subscription happen in
// the same synchronous turn, so nothing can fall between them, and a seq guard drops doubles.
// A consumer that stops reading is closed once its unsent bytes pass a bound: the daemon's
// memory never grows with a slow client, and the close reason tells it how to resume.

import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Orchestrator, TsxEvent } from '../lifecycle/api.js';
import type { Metrics } from './metrics.js';
import { checkRef } from './refs.js';
import { TsxError } from '../errors.js';
import { E_UPGRADE_REQUIRED } from './errors.js';
import { errorReplies } from './schemas.js';

export interface EventStreamOptions {
  /** Unsent bytes after which a subscriber is dropped. */
  readonly maxBufferedBytes: number;
}

/** Close code for a dropped slow consumer (4000-4999 are for applications). */
export const CLOSE_SLOW_CONSUMER = 4008;

// One event goes to every subscriber: serialise it once, not once per socket.
const encoded = new WeakMap<TsxEvent, Buffer>();
function encode(ev: TsxEvent): Buffer {
  let buf = encoded.get(ev);
  if (!buf) {
    buf = Buffer.from(JSON.stringify(ev), 'utf8');
    encoded.set(ev, buf);
  }
  return buf;
}

export const eventsQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'replay the events after this seq' })),
  domain: Type.Optional(Type.String({ description: 'only events of this domain (domid, name or uuid)' })),
});

function domainFilter(orchestrator: Orchestrator, ref: string | undefined): (ev: TsxEvent) => boolean {
  if (ref === undefined) return () => true;
  let uuid: string | undefined;
  try {
    uuid = orchestrator.getDomain(ref).uuid;
  } catch {
    uuid = undefined; // not there yet: match by what the ref says
  }
  return (ev) => ev.uuid === ref || ev.name === ref || (ev.domid !== undefined && String(ev.domid) === ref) || (uuid !== undefined && ev.uuid === uuid);
}

export function registerEventStream(app: FastifyInstance, orchestrator: Orchestrator, metrics: Metrics, options: EventStreamOptions): void {
  app.route({
    method: 'GET',
    url: '/v1/events',
    schema: {
      operationId: 'streamEvents',
      summary: 'Websocket event stream (JSON text frames, one event each, see docs/events.md); plain GET answers 426',
      tags: ['events'],
      querystring: eventsQuery,
      response: { 101: Type.Null({ description: 'Switching protocols to a websocket' }), ...errorReplies(400, 426) },
    },
    preValidation: async (request) => {
      const q = request.query as { domain?: string };
      if (q.domain !== undefined) checkRef('domain', q.domain);
    },
    handler: async () => {
      throw new TsxError(E_UPGRADE_REQUIRED, 'GET /v1/events is a websocket: send Connection: Upgrade, Upgrade: websocket');
    },
    wsHandler: (socket: WebSocket, request) => {
      const q = request.query as { since?: number; domain?: string };
      const log = request.log.child(q.domain === undefined ? {} : { domain: q.domain });
      const wanted = domainFilter(orchestrator, q.domain);
      let lastSeq = -1;
      let dropped = false;
      metrics.wsClients.inc();

      const drop = (): void => {
        dropped = true;
        metrics.wsDropped.inc({ reason: 'slow-consumer' });
        log.warn({ bufferedBytes: socket.bufferedAmount, lastSeq }, 'dropping slow event subscriber');
        socket.close(CLOSE_SLOW_CONSUMER, `slow consumer: over ${options.maxBufferedBytes} bytes unsent; resume with ?since=${lastSeq}`);
        setTimeout(() => socket.terminate(), 2000).unref();
      };
      const send = (ev: TsxEvent): void => {
        if (dropped || socket.readyState !== socket.OPEN || ev.seq <= lastSeq) return;
        if (socket.bufferedAmount > options.maxBufferedBytes) return drop();
        lastSeq = ev.seq;
        socket.send(encode(ev), { binary: false });
      };

      if (q.since !== undefined) {
        const missed = orchestrator.events.replay(q.since);
        if (missed === 'resync-required') {
          const snapshot = orchestrator.listDomains();
          log.info({ since: q.since, seq: snapshot.seq }, 'event subscriber must resync');
          send({
            seq: snapshot.seq,
            time: new Date().toISOString(),
            type: 'resync-required',
            data: { since: q.since, domains: snapshot.domains },
          });
        } else {
          for (const ev of missed) if (wanted(ev)) send(ev);
        }
      }
      const subscription = orchestrator.events.subscribe((ev) => {
        if (wanted(ev)) send(ev);
      });
      socket.on('close', () => {
        subscription.close();
        metrics.wsClients.dec();
      });
      socket.on('error', (err) => log.debug({ err }, 'event subscriber socket error'));
    },
  });
}
