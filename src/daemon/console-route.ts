// GET /v1/domains/{ref}/console: a websocket to the guest's primary console. Binary frames
// carry raw bytes both ways (what the guest prints; what is typed), as `xl console` relays
// them; detaching is the client's business (`tsxend console` does it on Ctrl-]). The domain is
// resolved before the upgrade, so a wrong ref is a plain 404 and a domain without a console 409.

import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Orchestrator } from '../lifecycle/api.js';
import type { ConsoleSource, ConsoleStream } from '../lifecycle/console.js';
import { E_CONSOLE_UNAVAILABLE } from '../lifecycle/errors.js';
import { TsxError, hasTsxCode } from '../errors.js';
import { E_UPGRADE_REQUIRED } from './errors.js';
import { checkRef } from './refs.js';
import * as S from './schemas.js';

/** Close codes: the console went away (domain gone, pty closed), or could not be opened. */
export const CLOSE_CONSOLE_ENDED = 4000;
export const CLOSE_CONSOLE_UNAVAILABLE = 4009;
/** Unsent bytes after which a client that stopped reading is dropped (the guest never waits). */
const MAX_BUFFERED = 1024 * 1024;

export function registerConsoleRoute(app: FastifyInstance, orchestrator: Orchestrator, consoles: ConsoleSource | undefined): void {
  app.route({
    method: 'GET',
    url: '/v1/domains/:ref/console',
    schema: {
      operationId: 'attachConsole',
      summary: "Websocket to the domain's console: binary frames of raw bytes both ways (a plain GET answers 426)",
      tags: ['domains'],
      params: S.refParams,
      response: { 101: Type.Null({ description: 'Switching protocols to a websocket' }), ...S.errorReplies(400, 404, 409, 426) },
    },
    preValidation: async (request) => {
      const { ref } = request.params as { ref: string };
      checkRef('domain', ref);
      const d = orchestrator.getDomain(ref);
      if (d.domid === undefined || !['running', 'paused', 'creating', 'saving', 'shutting-down'].includes(d.state)) {
        throw new TsxError(E_CONSOLE_UNAVAILABLE, `${d.name} is ${d.state}: only a domain that runs (or is paused) has a console`, { details: { state: d.state } });
      }
      if (!consoles) throw new TsxError(E_CONSOLE_UNAVAILABLE, 'this daemon has no console source');
    },
    handler: async () => {
      throw new TsxError(E_UPGRADE_REQUIRED, 'GET /v1/domains/{ref}/console is a websocket: send Connection: Upgrade, Upgrade: websocket');
    },
    wsHandler: (socket: WebSocket, request) => {
      const { ref } = request.params as { ref: string };
      const log = request.log.child({ console: true });
      // Keystrokes may arrive before the console is open: held until it is (fastify-websocket
      // drops messages for handlers attached after an await).
      const early: Buffer[] = [];
      let stream: ConsoleStream | undefined;
      let gone = false;
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        if (stream) stream.write(bytes);
        else early.push(bytes);
      });
      socket.on('close', () => {
        gone = true;
        stream?.close();
        log.info('console detached');
      });
      socket.on('error', (err) => log.debug({ err }, 'console socket error'));
      const domid = orchestrator.getDomain(ref).domid!;
      consoles!.open(domid).then(
        (s) => {
          if (gone) return s.close();
          stream = s;
          log.info({ domid, source: consoles!.kind }, 'console attached');
          if (s.backlog.length > 0) socket.send(s.backlog, { binary: true });
          s.onData((bytes) => {
            if (socket.readyState !== socket.OPEN) return;
            if (socket.bufferedAmount > MAX_BUFFERED) return socket.close(CLOSE_CONSOLE_ENDED, 'console client too slow: reattach');
            socket.send(bytes, { binary: true });
          });
          s.onEnd((reason) => {
            if (socket.readyState === socket.OPEN) socket.close(CLOSE_CONSOLE_ENDED, reason.slice(0, 120));
          });
          for (const b of early.splice(0)) s.write(b);
        },
        (err: unknown) => {
          log.info({ err }, 'console could not be attached');
          const message = err instanceof Error ? err.message : String(err);
          if (socket.readyState === socket.OPEN) socket.close(hasTsxCode(err) ? CLOSE_CONSOLE_UNAVAILABLE : 1011, message.slice(0, 120));
        },
      );
    },
  });
}
