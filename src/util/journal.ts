// An undo journal: each step of a multi-step operation registers its inverse; on failure the
// inverses run newest-first. Disposers must be idempotent; a failing disposer does not stop the
// others, and every failure is reported so a partial rollback is never mistaken for success.

export interface UndoStep {
  readonly label: string;
  readonly undo: () => Promise<void>;
}

export interface RollbackReport {
  readonly undone: string[];
  readonly failed: { label: string; error: unknown }[];
}

export class UndoJournal {
  #steps: UndoStep[] = [];
  #rolledBack = false;

  /** Registers the inverse of a step that has just succeeded. */
  push(label: string, undo: () => Promise<void>): void {
    if (this.#rolledBack) throw new Error(`undo journal already rolled back (step ${label})`);
    this.#steps.push({ label, undo });
  }

  get size(): number {
    return this.#steps.length;
  }

  get labels(): string[] {
    return this.#steps.map((s) => s.label);
  }

  /** Forgets every registered inverse: the operation succeeded and owns its results. */
  commit(): void {
    this.#steps = [];
  }

  async rollback(): Promise<RollbackReport> {
    this.#rolledBack = true;
    const undone: string[] = [];
    const failed: { label: string; error: unknown }[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step.undo();
        undone.push(step.label);
      } catch (error) {
        failed.push({ label: step.label, error });
      }
    }
    this.#steps = [];
    return { undone, failed };
  }
}
