import type { $ZodIssue } from 'zod/v4/core';

/**
 * Schema problems as `path: message` lines, e.g. `detail.returnOrder.uuid: must be a non-empty
 * string`; `prefix` names where the checked value sits (`detail`), `(root)` stands for the value itself.
 */
export function formatIssues(issues: readonly $ZodIssue[], prefix = ''): string[] {
  return issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${i.message}`;
  });
}
