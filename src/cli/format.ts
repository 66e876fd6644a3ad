// Human output for the daemon's views: xm-like tables and one line per event.

import type { DeviceView, DomainView, TaskView, TsxEvent } from '../lifecycle/api.js';

const pad = (s: string | number, n: number): string => String(s).padEnd(n);
const lpad = (s: string | number, n: number): string => String(s).padStart(n);

export function domainTable(domains: readonly DomainView[]): string {
  const lines = [`${pad('Name', 32)} ${lpad('ID', 5)} ${lpad('Mem', 6)} ${lpad('VCPUs', 5)} ${pad('State', 13)} Devices`];
  for (const d of domains) {
    const counts = new Map<string, number>();
    for (const dev of d.devices) counts.set(dev.class, (counts.get(dev.class) ?? 0) + 1);
    const devs = [...counts].map(([c, n]) => `${c}:${n}`).join(' ');
    lines.push(`${pad(d.name, 32)} ${lpad(d.domid ?? '-', 5)} ${lpad(d.config.memory, 6)} ${lpad(d.config.vcpus, 5)} ${pad(d.state, 13)} ${devs}${d.reason ? `  (${d.reason})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

export function deviceLine(d: DeviceView): string {
  return `  ${pad(d.class, 8)} ${lpad(d.devid, 6)}  ${pad(d.state, 12)} ${d.backendPath}${d.error ? `  ${d.error.code}: ${d.error.message}` : ''}`;
}

export function domainSummary(d: DomainView): string {
  const lines = [`${d.name} (domid ${d.domid ?? '-'}, uuid ${d.uuid}): ${d.state}${d.reason ? ` — ${d.reason}` : ''}`];
  for (const dev of d.devices) lines.push(deviceLine(dev));
  return lines.join('\n') + '\n';
}

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

export function taskLine(t: TaskView): string {
  return `task ${t.id} ${t.operation}: ${t.state}, ${Math.round(t.progress * 100)}% — ${t.step}${t.error ? ` (${t.error.code}: ${t.error.message})` : ''}\n`;
}

export function eventLine(e: TsxEvent): string {
  const who = e.name !== undefined ? `${e.name}${e.domid !== undefined ? `(${e.domid})` : ''}` : e.domid !== undefined ? `dom${e.domid}` : '';
  const dev = e.devClass !== undefined ? ` ${e.devClass}/${e.devid ?? '?'}` : '';
  const step = e.step !== undefined ? ` ${e.step}` : '';
  const outcome = e.outcome !== undefined ? ` [${e.outcome}]` : '';
  const p = e.data as { pagesDone?: unknown; pagesTotal?: unknown; bytes?: unknown } | undefined;
  const copied = typeof p?.pagesDone === 'number' && typeof p.bytes === 'number' ? ` ${p.pagesDone}/${String(p.pagesTotal)} pages, ${mib(p.bytes)}` : '';
  const time = e.time.length >= 19 ? e.time.slice(11, 19) : e.time;
  return `#${e.seq} ${time} ${e.type} ${who}${dev}${step}${copied}${outcome}`.trimEnd() + '\n';
}
