/** What a starting runtime must undo, run in reverse order; a failing step does not stop the others. */
export class Cleanups {
  private readonly steps: Array<() => Promise<void> | void> = [];

  constructor(private readonly log: (line: string) => void) {}

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async runAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        this.log(`! while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
