// The destination of a migration, over its API (routes/migrations.ts): the same authentication
// as any client (a Unix socket, or HTTPS with a bearer token and, for a private certificate, a
// CA). The image goes up as one streamed request body; its reply comes once the destination holds
// the domain restored and paused.

import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { XendConfig } from '../config/model.js';
import { TsxError } from '../errors.js';
import type { MigrationPeer, MigrationTarget } from '../lifecycle/api.js';
import { describeEndpoint, parseEndpoint } from './endpoint.js';
import { E_PEER } from './errors.js';

/** The media type of a save image on the wire (xl's format, as in a file). */
export const IMAGE_MEDIA_TYPE = 'application/x-xen-save-image';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export function httpMigrationPeer(target: MigrationTarget): MigrationPeer {
  const endpoint = parseEndpoint(target.destination);
  const where = describeEndpoint(endpoint);

  const send = (method: string, path: string, body?: { json: unknown } | { stream: Readable }): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) };
      let payload: string | undefined;
      if (body && 'json' in body) {
        payload = JSON.stringify(body.json);
        Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
      } else if (body) headers['content-type'] = IMAGE_MEDIA_TYPE;
      const opts: RequestOptions & { ca?: string } =
        endpoint.kind === 'unix'
          ? { socketPath: endpoint.path, path, method, headers }
          : { host: endpoint.url.hostname, port: endpoint.url.port, path, method, headers, ...(target.ca ? { ca: target.ca } : {}) };
      const req = (endpoint.kind === 'https' ? httpsRequest : httpRequest)(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('error', (err) => reject(new TsxError(E_PEER, `the destination ${where} cannot be reached: ${err.message}`, { details: { destination: where }, cause: err })));
      if (body && 'stream' in body) {
        body.stream.on('error', (err) => req.destroy(err));
        // Destroyed without an error (the source gave up): the request must not stay open, or
        // the destination waits on its body.
        body.stream.on('close', () => {
          if (!body.stream.readableEnded) req.destroy(new Error('the image stream was cut short'));
        });
        body.stream.pipe(req);
      } else req.end(payload);
    });

  const ok = (what: string, r: Reply, expect: number[]): Record<string, unknown> => {
    if (expect.includes(r.status)) return r.body;
    const code = typeof r.body['code'] === 'string' ? r.body['code'] : 'none';
    const message = typeof r.body['message'] === 'string' ? r.body['message'] : `HTTP ${r.status}`;
    throw new TsxError(E_PEER, `the destination ${where} refused to ${what}: ${message} (${code})`, { details: { destination: where, status: r.status, code } });
  };

  return {
    target,
    async prepare(config: XendConfig) {
      const b = ok('take the domain', await send('POST', '/v1/migrations', { json: { config } }), [201]);
      return { id: String(b['id']) };
    },
    async sendImage(id: string, image: Readable) {
      ok('restore the image', await send('PUT', `/v1/migrations/${encodeURIComponent(id)}/image`, { stream: image }), [200]);
    },
    async commit(id: string) {
      const r = await send('POST', `/v1/migrations/${encodeURIComponent(id)}/commit`);
      // No such migration (any more): it was aborted or expired there.
      if (r.status === 404 && r.body['code'] === 'TSX_ERR_NO_MIGRATION') return 'gone';
      ok('run the domain', r, [200]);
      return 'committed';
    },
    async abort(id: string) {
      ok('drop the migration', await send('DELETE', `/v1/migrations/${encodeURIComponent(id)}`), [204, 404]);
    },
  };
}
