// Where xenstore is: `--xenstore embedded|socket:PATH|xenbus:PATH`, else what libxenstore
// would use: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket.

import { TsxError } from '../errors.js';
import { E_XS_BAD_PATH } from './errors.js';
import type { XenstoreTarget } from './types.js';

export const DEFAULT_SOCKET = '/var/run/xenstored/socket';

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env['XENSTORED_PATH']) return env['XENSTORED_PATH'];
  if (env['XENSTORED_RUNDIR']) return `${env['XENSTORED_RUNDIR']}/socket`;
  return DEFAULT_SOCKET;
}

export function parseTarget(spec: string | undefined, env: NodeJS.ProcessEnv = process.env): XenstoreTarget {
  if (spec === undefined || spec === '') {
    const path = defaultSocketPath(env);
    // XENSTORED_PATH may name the kernel device, as libxenstore allows.
    return path.startsWith('/dev/') || path.startsWith('/proc/') ? { kind: 'xenbus', path } : { kind: 'socket', path };
  }
  if (spec === 'embedded') return { kind: 'embedded' };
  const m = /^(socket|xenbus):(.+)$/.exec(spec);
  if (!m?.[1] || !m[2]) {
    throw new TsxError(E_XS_BAD_PATH, `bad xenstore target ${JSON.stringify(spec)}: expected embedded, socket:PATH or xenbus:PATH`, {
      details: { target: spec },
    });
  }
  return { kind: m[1] as 'socket' | 'xenbus', path: m[2] };
}

export function describeTarget(target: XenstoreTarget): string {
  return target.kind === 'embedded' ? 'embedded' : `${target.kind}:${target.path}`;
}
