// Config errors. This layer is pure and imports nothing from the rest of tsxend, so its error
// has the same shape as TsxError (stable `code`, HTTP `statusCode`) without sharing the class.
// Every problem says where: file:line:col for text formats, a JSON path for JSON.

export interface ConfigProblem {
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  /** The key (xl/SXP) or JSON path (`$.devices.<uuid>.config.mac`) the problem is about. */
  readonly path?: string;
  readonly message: string;
}

export type ConfigWarning = ConfigProblem;

export const CONFIG_ERROR_CODES = {
  syntax: { code: 'TSX_ERR_CONFIG_SYNTAX', title: 'A domain config does not parse (file:line:col given)' },
  invalid: { code: 'TSX_ERR_CONFIG_INVALID', title: 'A domain config parses but breaks a rule (key and value named)' },
  order: { code: 'TSX_ERR_CONFIG_DEVICE_ORDER', title: 'Device classes declare a dependency cycle' },
} as const;

export function formatProblem(p: ConfigProblem): string {
  const where = [p.file ?? '<input>', p.line, p.col].filter((x) => x !== undefined).join(':');
  return `${where}: ${p.message}`;
}

/** In file order (problems without a position last, in the order found). */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.col ?? 0) - (b.p.col ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

/**
 * A problem as compilers show one: `file:line:col: message`, then the source line and a caret
 * under the column (when the problem has a position and the source is known).
 */
export function formatProblemWithSource(p: ConfigProblem, source: string | undefined): string {
  const head = formatProblem(p);
  if (source === undefined || p.line === undefined) return head;
  const text = source.replace(/^\ufeff/, '').split('\n')[p.line - 1];
  if (text === undefined) return head;
  const shown = text.replace(/\r$/, '').replace(/\t/g, ' ');
  const gutter = String(p.line).length;
  const caret = `${' '.repeat(Math.max(0, Math.min((p.col ?? 1) - 1, shown.length)))}^`;
  return `${head}\n ${String(p.line)} | ${shown}\n ${' '.repeat(gutter)} | ${caret}`;
}

export class ConfigError extends Error {
  readonly code: string;
  readonly statusCode = 400;
  readonly problems: readonly ConfigProblem[];

  constructor(kind: keyof typeof CONFIG_ERROR_CODES, problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.code = CONFIG_ERROR_CODES[kind].code;
    this.problems = problems;
  }
}

/** Collects problems while a pass runs; throws them together at the end. */
export class ProblemList {
  readonly problems: ConfigProblem[] = [];
  constructor(readonly file?: string) {}

  add(message: string, where: { path?: string; line?: number; col?: number } = {}): void {
    this.problems.push({ ...(this.file !== undefined ? { file: this.file } : {}), ...where, message });
  }

  throwIfAny(kind: keyof typeof CONFIG_ERROR_CODES = 'invalid'): void {
    if (this.problems.length > 0) throw new ConfigError(kind, this.problems);
  }
}
