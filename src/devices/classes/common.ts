// Keys every device carries (xenstore.md §5.2) and small helpers shared by the classes.

import type { ControllerContext, Entries } from '../controller.js';

export const SCRIPTS_DIR = '/etc/xen/scripts';

export function genericBackend(ctx: ControllerContext): Entries {
  return [
    ['frontend-id', String(ctx.domid)],
    ['online', '1'],
    ['state', '1'],
  ];
}

export function genericFrontend(ctx: ControllerContext): Entries {
  return [
    ['backend-id', String(ctx.backendDomid)],
    ['state', '1'],
  ];
}

export function lowestFree(taken: ReadonlySet<number>, from = 0): number {
  let n = from;
  while (taken.has(n)) n++;
  return n;
}

export function scriptPath(script: string): string {
  return script.includes('/') ? script : `${SCRIPTS_DIR}/${script}`;
}

export function flag(v: boolean | undefined): string | undefined {
  return v === undefined ? undefined : v ? '1' : '0';
}

/** Drops entries whose value is undefined, keeping order. */
export function defined(entries: [string, string | undefined][]): Entries {
  return entries.filter((e): e is [string, string] => e[1] !== undefined);
}
