// GET /v1/events: the websocket event stream. Each event is one JSON text frame with its seq.
// `?since=SEQ` replays what the ring still holds (or sends one `resync-required` message with a
// fresh domain list when it does not); `?domain=REF` filters. Replay and subscription happen in
// the same synchronous turn, so nothing can fall between them, and a seq guard drops doubles.
// A consumer that stops reading is closed once its unsent bytes pass a bound: the daemon's
// memory never grows with a slow client, and the close reason tells it how to resume.
//
// Fan-out is the hot path (1,000 subscribers, p99 ≤ 10 ms, BENCHMARKS.md): the route holds one
// feed subscription for all its sockets, grouped by filter so each filter runs once per event,
// and each event is framed once; the same frame buffer is written whole to every socket, a
// single write each (ws.send would frame it again and write header and payload separately).

import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { Duplex } from 'node:stream';
import WebSocket, * as wsModule from 'ws';
import type { EventSubscription, Orchestrator, TsxEvent } from '../lifecycle/api.js';
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

/**
 * ws frames a message with Sender.frame. ws exports Sender (the `Sender` export of its ES module,
 * WebSocket.Sender of its CommonJS one) but its typings do not declare it.
 */
type FrameFn = (data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }) => Buffer[];
const wsFrame = (wsModule as unknown as { Sender?: { frame?: FrameFn } }).Sender?.frame;

/** An event as sent: its JSON, and the same as one whole unmasked websocket text frame. */
interface EncodedEvent {
  readonly payload: Buffer;
  readonly frame: Buffer | undefined;
}

// One event goes to every subscriber (and to each replay): encode it once, not once per socket.
const encoded = new WeakMap<TsxEvent, EncodedEvent>();
function encodeEvent(ev: TsxEvent): EncodedEvent {
  let e = encoded.get(ev);
  if (!e) {
    const json = Buffer.from(JSON.stringify(ev), 'utf8');
    const frame = wsFrame ? Buffer.concat(wsFrame(json, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false })) : undefined;
    // The payload as a view into the frame: each event's bytes are held once.
    e = { frame, payload: frame ? frame.subarray(frame.length - json.length) : json };
    encoded.set(ev, e);
  }
  return e;
}

/**
 * The transport under a server-side websocket when whole frames may be written to it directly,
 * else undefined (then ws.send). ws has no public call for a pre-framed message; a whole frame
 * written to its own socket is what ws.send writes, provided no extension is negotiated
 * (permessage-deflate can hold frames in ws's queue, and compresses them) and the socket is
 * really the one ws writes to (checked on its field, so a ws that changes this falls back).
 */
export function directTransport(socket: WebSocket, transport: Duplex): Duplex | undefined {
  if (wsFrame === undefined || socket.extensions !== '') return undefined;
  return (socket as unknown as { _socket?: unknown })._socket === transport ? transport : undefined;
}

export const eventsQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'replay the events after this seq' })),
  domain: Type.Optional(Type.String({ description: 'only events of this domain (domid, name or uuid)' })),
});

/** A filter and the key of the subscribers that share it (same ref, same uuid it resolved to). */
function domainFilter(orchestrator: Orchestrator, ref: string | undefined): { key: string; wanted: (ev: TsxEvent) => boolean } {
  if (ref === undefined) return { key: '', wanted: () => true };
  let uuid: string | undefined;
  try {
    uuid = orchestrator.getDomain(ref).uuid;
  } catch {
    uuid = undefined; // not there yet: match by what the ref says
  }
  return {
    key: `${ref}\0${uuid ?? ''}`,
    wanted: (ev) => ev.uuid === ref || ev.name === ref || (ev.domid !== undefined && String(ev.domid) === ref) || (uuid !== undefined && ev.uuid === uuid),
  };
}

/** One websocket: its seq guard and its bound on unsent bytes. */
class Subscriber {
  lastSeq = -1;
  dropped = false;

  constructor(
    readonly socket: WebSocket,
    private readonly direct: Duplex | undefined,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (s: Subscriber) => void,
  ) {}

  send(ev: TsxEvent, e: EncodedEvent = encodeEvent(ev)): void {
    if (this.dropped || this.socket.readyState !== WebSocket.OPEN || ev.seq <= this.lastSeq) return;
    // bufferedAmount counts direct writes too: they go through the same socket's buffer.
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.dropped = true;
      this.onDrop(this);
      return;
    }
    this.lastSeq = ev.seq;
    if (this.direct !== undefined && e.frame !== undefined) this.direct.write(e.frame);
    else this.socket.send(e.payload, { binary: false });
  }
}

interface Group {
  readonly wanted: (ev: TsxEvent) => boolean;
  readonly members: Set<Subscriber>;
}

/** The route's subscribers by filter, on one feed subscription held while any is connected. */
class Fanout {
  readonly #groups = new Map<string, Group>();
  #subscription: EventSubscription | undefined;
  #count = 0;

  constructor(private readonly orchestrator: Orchestrator) {}

  add(key: string, wanted: (ev: TsxEvent) => boolean, s: Subscriber): void {
    let g = this.#groups.get(key);
    if (!g) this.#groups.set(key, (g = { wanted, members: new Set() }));
    g.members.add(s);
    if (this.#count++ === 0) this.#subscription = this.orchestrator.events.subscribe((ev) => this.#publish(ev));
  }

  remove(key: string, s: Subscriber): void {
    const g = this.#groups.get(key);
    if (!g?.members.delete(s)) return;
    if (g.members.size === 0) this.#groups.delete(key);
    if (--this.#count === 0) {
      this.#subscription?.close();
      this.#subscription = undefined;
    }
  }

  #publish(ev: TsxEvent): void {
    let e: EncodedEvent | undefined;
    for (const g of this.#groups.values()) {
      if (!g.wanted(ev)) continue;
      e ??= encodeEvent(ev);
      for (const s of g.members) {
        try {
          s.send(ev, e);
        } catch {
          // One broken socket must not stop the others, nor throw into the emitter.
          s.dropped = true;
          s.socket.terminate();
        }
      }
    }
  }
}

export function registerEventStream(app: FastifyInstance, orchestrator: Orchestrator, metrics: Metrics, options: EventStreamOptions): void {
  const fanout = new Fanout(orchestrator);
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
      const { key, wanted } = domainFilter(orchestrator, q.domain);
      metrics.wsClients.inc();

      const sub = new Subscriber(socket, directTransport(socket, request.raw.socket), options.maxBufferedBytes, (s) => {
        metrics.wsDropped.inc({ reason: 'slow-consumer' });
        log.warn({ bufferedBytes: socket.bufferedAmount, lastSeq: s.lastSeq }, 'dropping slow event subscriber');
        socket.close(CLOSE_SLOW_CONSUMER, `slow consumer: over ${options.maxBufferedBytes} bytes unsent; resume with ?since=${s.lastSeq}`);
        setTimeout(() => socket.terminate(), 2000).unref();
      });

      if (q.since !== undefined) {
        const missed = orchestrator.events.replay(q.since);
        if (missed === 'resync-required') {
          const snapshot = orchestrator.listDomains();
          log.info({ since: q.since, seq: snapshot.seq }, 'event subscriber must resync');
          sub.send({
            seq: snapshot.seq,
            time: new Date().toISOString(),
            type: 'resync-required',
            data: { since: q.since, domains: snapshot.domains },
          });
        } else {
          for (const ev of missed) if (wanted(ev)) sub.send(ev);
        }
      }
      fanout.add(key, wanted, sub);
      socket.on('close', () => {
        fanout.remove(key, sub);
        metrics.wsClients.dec();
      });
      socket.on('error', (err) => log.debug({ err }, 'event subscriber socket error'));
    },
  });
}
