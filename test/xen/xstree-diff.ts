// Compares two domains' xenstore trees (as `xenstore-ls -fp` prints them) key by key, after
// replacing what differs by nature between two creates: the domid, the UUID, grant references,
// event channels, loop device numbers, pids, times, console ptys.

export interface Node {
  readonly value: string;
  readonly perms: string;
}

/** Keys whose values are per-run by nature (compared for presence and permissions only). */
const VOLATILE = /\/(ring-ref|tx-ring-ref|rx-ring-ref|event-channel|event-channel-tx|event-channel-rx|page-ref|page-gref|port|start_time|device-model-pid|node|physical-device|physical-device-path|tty|vnc-port|limit|domid|uuid|name|kernel|ramdisk|params|frontend-id|target|static-max|videoram)$/;

export function normaliseTree(text: string, domid: number): Map<string, Node> {
  const out = new Map<string, Node>();
  const uuid = /^\/vm\/([0-9a-f-]{36}) = /m.exec(text)?.[1];
  for (const line of text.split('\n')) {
    const m = /^(\S+) = "(.*)"\s+\((.*)\)$/.exec(line);
    if (!m) continue;
    let path = m[1]!.replace(new RegExp(`/${domid}(?=/|$)`, 'g'), '/<domid>');
    if (uuid) path = path.replaceAll(uuid, '<uuid>');
    const perms = m[3]!.replace(new RegExp(`\\b([nrwb])${domid}\\b`, 'g'), '$1<domid>');
    let value = m[2]!;
    if (uuid) value = value.replaceAll(uuid, '<uuid>');
    value = value.replace(new RegExp(`/${domid}(?=/|$)`, 'g'), '/<domid>');
    if (VOLATILE.test(path)) value = '*';
    out.set(path, { value, perms });
  }
  return out;
}

/** One line per difference: `only xl PATH`, `only tsxend PATH`, `value PATH: A | B`, `perms PATH: A | B`. */
export function diffTrees(xl: Map<string, Node>, tsx: Map<string, Node>): string[] {
  const out: string[] = [];
  for (const [p, a] of xl) {
    const b = tsx.get(p);
    if (!b) out.push(`only xl ${p}`);
    else {
      if (a.value !== b.value) out.push(`value ${p}: ${JSON.stringify(a.value)} | ${JSON.stringify(b.value)}`);
      if (a.perms !== b.perms) out.push(`perms ${p}: ${a.perms} | ${b.perms}`);
    }
  }
  for (const p of tsx.keys()) if (!xl.has(p)) out.push(`only tsxend ${p}`);
  return out.sort();
}

/**
 * The differences from libxl 4.17 that remain, each with why (docs/dom0.md repeats them). A new
 * difference fails the test: fix it, or list it here and there with its reason.
 */
export const EXPECTED_XL_DIFFERENCES: readonly { diff: string; why: string }[] = [];
