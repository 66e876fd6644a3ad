// Where a device lives in xenstore (reference xenstore.md §5.2): frontend under the guest,
// backend under the backend domain, and tsxend's bookkeeping copy under /libxl as libxl keeps it
// (dom0-only, so a guest cannot forge what the toolstack later trusts).

export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export function frontendPath(domid: number, kind: string, devid: number): string {
  // The primary console's frontend is the domain's own console directory.
  if (kind === 'console' && devid === 0) return `${domainPath(domid)}/console`;
  return `${domainPath(domid)}/device/${kind}/${devid}`;
}

export function backendPath(backendDomid: number, kind: string, domid: number, devid: number): string {
  return `${domainPath(backendDomid)}/backend/${kind}/${domid}/${devid}`;
}

export function bookkeepingPath(domid: number, kind: string, devid: number): string {
  return `/libxl/${domid}/device/${kind}/${devid}`;
}

/** The path hotplug scripts get in XENBUS_PATH: relative, resolved against /local/domain/0. */
export function relativeBackendPath(kind: string, domid: number, devid: number): string {
  return `backend/${kind}/${domid}/${devid}`;
}
