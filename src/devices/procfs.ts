// What the devices layer reads of other processes in /proc: their stat line and their
// environment. Hotplug scripts and backend daemons a dead toolstack left running are found by
// the variables tsxend put in their environment (inherited by whatever they started).

import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  /** Field 3: R, S, D, Z, ... */
  readonly state: string;
  /** Field 5. */
  readonly pgid: number;
  /** Field 22, clock ticks since boot: with the pid it names one process for good (pid reuse). */
  readonly start: string;
}

/** /proc/<pid>/stat, read after the parenthesised comm (which may hold spaces and parentheses). */
export async function procStat(pid: number | 'self'): Promise<ProcStat | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgid = Number(fields[2]);
  const start = fields[19];
  if (fields[0] === undefined || !Number.isInteger(pgid) || start === undefined) return undefined;
  return { state: fields[0], pgid, start };
}

/**
 * Every other process whose environment holds all of `vars` ("NAME=value"), with its whole
 * environment. A zombie's environ reads empty; processes of other users (EACCES) are skipped.
 */
export async function processesWithEnv(vars: readonly string[]): Promise<{ pid: number; env: string[] }[]> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  const found: { pid: number; env: string[] }[] = [];
  await Promise.all(
    pids.map(async (e) => {
      const text = await readFile(`/proc/${e}/environ`, 'latin1').catch(() => '');
      if (!vars.every((v) => text.includes(v))) return;
      const env = text.split('\0');
      if (vars.every((v) => env.includes(v))) found.push({ pid: Number(e), env });
    }),
  );
  return found;
}
