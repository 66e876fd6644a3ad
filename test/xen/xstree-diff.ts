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
  const uuid = new RegExp(`^/local/domain/${domid}/vm = "/vm/([0-9a-f-]{36})"`, 'm').exec(text)?.[1];
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
 * The differences from libxl 4.17 that remain, each with why (docs/dom0.md repeats them). Every
 * difference must match one of these, and each of these must match one: a new difference fails
 * the test (fix it, or list it here and there with its reason), and so does a fixed one.
 */
export const EXPECTED_XL_DIFFERENCES: readonly { match: RegExp; why: string }[] = [
  { match: /^only (xl|tsxend) \/libxl\/<domid>\/device\/[a-z]+\/\d+\/(?!frontend$|backend$)/, why: "each toolstack's private bookkeeping: libxl copies the backend's keys there, tsxend keeps the device's class, config, uuid and domain uuid; only the frontend and backend links are shared" },
  { match: /^only xl \/libxl\/<domid>\/device\/console(\/|$)/, why: 'libxl keeps a console device; tsxend writes the console the xend way (below)' },
  { match: /^only xl \/libxl\/<domid>\/dm-version$/, why: "libxl's record of its device model flavour (qemu-xen); tsxend starts only that one" },
  { match: /^only tsxend \/libxl\/<domid>\/vfb-daemon(\/pid|\/start)?$/, why: "tsxend records the device model's pid and start time, dom0-only, so a restarted daemon re-adopts or stops it" },
  { match: /^only xl \/local\/domain\/<domid>\/image(\/device-model-pid)?$/, why: 'libxl also records the device model pid in the guest-readable image/device-model-pid; tsxend keeps it dom0-only' },
  { match: /^only xl \/local\/domain\/0\/backend\/console\/<domid>\/0(\/[a-z-]+)?$/, why: "libxl 4.17 gives the primary console a backend directory; tsxend writes xend's console layout (ring-ref, port, type, limit, and xenconsoled's tty), which xenconsoled serves as it is (the console tests prove it)" },
  { match: /^only xl \/local\/domain\/<domid>\/console\/(backend|backend-id|output)$/, why: "the frontend half of libxl's console device (output=pty); xenconsoled does not need it" },
  { match: /^only xl \/local\/domain\/<domid>\/console\/vnc-(listen|port)$/, why: "libxl asks the device model where VNC listens (QMP query-vnc) and publishes it for xl vncviewer; tsxend does not yet" },
  { match: /^only xl \/local\/domain\/0\/backend\/vfb\/<domid>\/0\/vncdisplay$/, why: 'libxl writes the default display 0; tsxend writes vncdisplay only when it is configured (the device model takes VNC from its command line)' },
  { match: /^only xl \/local\/domain\/<domid>\/memory\/videoram$/, why: "libxl's videoram for a guest with a vfb (-1: unset); the PV framebuffer does not read it" },
  { match: /^only tsxend \/vm\/<uuid>\/(maxmem|memory|on_crash|on_poweroff|on_reboot|vcpu_avail|vcpus|xend|xend\/restart_count)$/, why: "xend's /vm layout, kept for the tools written against it (xend.md §2); libxl keeps these in its own config" },
];

/** The differences no listed reason explains, and the listed reasons no difference needs. */
export function unexplained(diff: readonly string[]): { unexplained: string[]; unused: string[] } {
  const used = new Set<RegExp>();
  const unexplained = diff.filter((d) => {
    const e = EXPECTED_XL_DIFFERENCES.find((x) => x.match.test(d));
    if (e) used.add(e.match);
    return !e;
  });
  return { unexplained, unused: EXPECTED_XL_DIFFERENCES.filter((e) => !used.has(e.match)).map((e) => String(e.match)) };
}
