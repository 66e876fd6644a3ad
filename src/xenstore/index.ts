// The xenstore layer's public face: open a client on a target, plus the types and helpers.

import type { Duplex } from 'node:stream';
import { WireClient, type ClientOptions, type Connect } from './client.js';
import { socketConnect, xenbusConnect } from './transport.js';
import type { XenstoreClient, XenstoreTarget } from './types.js';

export * from './types.js';
export { WireClient, type ClientOptions, type Connect } from './client.js';
export { parseTarget, describeTarget, defaultSocketPath } from './target.js';
export { validatePath, resolvePath, joinPath } from './paths.js';
export { ownedBy, parsePerm, parsePerms, formatPerms } from './perms.js';
export * from './errors.js';

export interface OpenOptions extends ClientOptions {
  /** For target `embedded`: how to open an in-memory connection to the mock. */
  embedded?: { connect(): Duplex };
}

export function connectorFor(target: XenstoreTarget, options: OpenOptions = {}): Connect {
  switch (target.kind) {
    case 'socket':
      return socketConnect(target.path);
    case 'xenbus':
      return xenbusConnect(target.path);
    case 'embedded': {
      const mock = options.embedded;
      if (!mock) throw new Error('embedded xenstore target needs a mock to connect to');
      return async () => mock.connect();
    }
  }
}

export async function openXenstore(target: XenstoreTarget, options: OpenOptions = {}): Promise<XenstoreClient> {
  return WireClient.open(connectorFor(target, options), options);
}
