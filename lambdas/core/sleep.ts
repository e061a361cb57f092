/** Resolves after `ms` milliseconds: the one pause of statushooks' retry loops. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
