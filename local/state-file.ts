import path from 'node:path';
import { z } from 'zod';

/**
 * The local runtime's state file (docs/architecture.md §5): the local runtime writes it, the CLI
 * reads it. Its place and shape are declared here, once, for both.
 */

/** Where the local runtime writes its state, relative to the working directory. */
export const LOCAL_STATE_FILE = path.join('.statushooks', 'dev.json');

/** The state file of the local runtime started in `cwd`. */
export function localStateFile(cwd: string): string {
  return path.join(cwd, LOCAL_STATE_FILE);
}

export const localStateSchema = z
  .object({
    region: z.string().min(1),
    endpoints: z.object({ eventbridge: z.string().url(), dynamodb: z.string().url(), sqs: z.string().url() }),
  })
  .catchall(z.unknown());

export interface LocalEndpoints {
  readonly eventbridge: string;
  readonly dynamodb: string;
  readonly sqs: string;
}

/** The content of `.statushooks/dev.json`: the stack outputs plus region and endpoints. */
export type LocalState = Record<string, unknown> & { region: string; endpoints: LocalEndpoints };
