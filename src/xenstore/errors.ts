// Typed errors of the xenstore layer. A daemon's error reply carries an errno NAME; each known
// name has its own stable code, and unknown names (oxenstored's EQUOTA aside) keep the raw string.

import { defineError, TsxError, type ErrorSpec } from '../errors.js';
import { XS_ERRORS } from './wire.js';

const STATUS: Record<string, number> = {
  ENOENT: 404,
  EACCES: 403,
  EPERM: 403,
  EEXIST: 409,
  EINVAL: 400,
  EAGAIN: 409,
  EBUSY: 409,
  E2BIG: 413,
  ENOSPC: 507,
  ENOMEM: 507,
};

export const XS_ERRNO_SPECS = new Map<string, ErrorSpec>(
  XS_ERRORS.map(([name]) => [
    name,
    defineError(`TSX_ERR_XS_${name}`, STATUS[name] ?? 502, `xenstored answered ${name}`),
  ]),
);
export const E_XS_QUOTA = defineError('TSX_ERR_XS_QUOTA', 429, 'xenstored refused the request: a quota is exhausted (EQUOTA)');
export const E_XS_UNKNOWN = defineError('TSX_ERR_XS_UNKNOWN', 502, 'xenstored answered an error name outside the protocol table');
export const E_XS_DISCONNECTED = defineError('TSX_ERR_XS_DISCONNECTED', 503, 'The xenstore connection was lost before the reply');
export const E_XS_UNAVAILABLE = defineError('TSX_ERR_XS_UNAVAILABLE', 503, 'xenstored cannot be reached');
export const E_XS_PAYLOAD_TOO_LARGE = defineError('TSX_ERR_XS_PAYLOAD_TOO_LARGE', 413, 'A request payload exceeds 4096 bytes');
export const E_XS_TX_CONFLICT = defineError('TSX_ERR_XS_TX_CONFLICT', 409, 'A xenstore transaction kept conflicting (EAGAIN) past its retry limit');
export const E_XS_BAD_PATH = defineError('TSX_ERR_XS_BAD_PATH', 400, 'A xenstore path breaks the protocol path rules');
export const E_XS_PROTOCOL = defineError('TSX_ERR_XS_PROTOCOL', 502, 'xenstored sent a reply that breaks the protocol');
export const E_XS_CLOSED = defineError('TSX_ERR_XS_CLOSED', 503, 'The xenstore client was closed');

export const ENOENT = XS_ERRNO_SPECS.get('ENOENT')!;
export const EAGAIN = XS_ERRNO_SPECS.get('EAGAIN')!;
export const EEXIST = XS_ERRNO_SPECS.get('EEXIST')!;

/** The typed error for an XS_ERROR reply. */
export function xsReplyError(errno: string, op: string, path?: string): TsxError {
  const spec = errno === 'EQUOTA' ? E_XS_QUOTA : (XS_ERRNO_SPECS.get(errno) ?? E_XS_UNKNOWN);
  const where = path === undefined ? '' : ` ${path}`;
  return new TsxError(spec, `xenstore ${op}${where}: ${errno}`, {
    details: { errno, op, ...(path === undefined ? {} : { path }) },
  });
}

/** The errno name a xenstore error carries, if it is one. */
export function xsErrno(err: unknown): string | undefined {
  if (err instanceof TsxError && typeof err.details['errno'] === 'string') return err.details['errno'];
  return undefined;
}
