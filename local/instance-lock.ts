/**
 * One local runtime per state folder. A second `npm start` in the same folder would overwrite the
 * first's `dev.json`, truncate its function log and, when it exits, delete the state file the
 * first still serves. The lock file `dev.lock` beside the state file is created exclusively
 * before anything else is written there; a second runtime is refused with the first's pid and
 * endpoints, and a lock whose process is gone is taken over with a note.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Another local runtime owns the state folder. Worded for the operator; the CLI exits 1 with it. */
export class LocalRuntimeBusyError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly holder: LockHolder,
    readonly lockFile: string,
  ) {
    const where = holder.endpoints
      ? `EventBridge ${holder.endpoints.eventbridge}, DynamoDB ${holder.endpoints.dynamodb}, SQS ${holder.endpoints.sqs}`
      : 'still starting, no endpoints yet';
    super(
      `another local runtime is running in ${path.dirname(path.dirname(lockFile))} (pid ${holder.pid}, started ${holder.startedAt}; ${where}). ` +
        `Stop it first (Ctrl-C in its terminal), or use that one; its state is in ${path.join(path.dirname(lockFile), 'dev.json')}.`,
    );
    this.name = 'LocalRuntimeBusyError';
  }
}

export interface LockHolder {
  readonly pid: number;
  readonly startedAt: string;
  /** Tells this runtime's lock from a later one's in the same process (tests). */
  readonly token: string;
  readonly endpoints?: { readonly eventbridge: string; readonly dynamodb: string; readonly sqs: string };
}

export interface InstanceLock {
  readonly file: string;
  /** Adds the endpoints, once known, for the message a second runtime gets. */
  update(endpoints: NonNullable<LockHolder['endpoints']>): void;
  /** Removes the lock if it is still this runtime's. */
  release(): void;
}

/** True while a process with that id exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `stateDir` or throws LocalRuntimeBusyError. `note` is told when a stale lock
 * (its process no longer exists, or the file is unreadable) is taken over.
 */
export function acquireInstanceLock(stateDir: string, note: (line: string) => void): InstanceLock {
  fs.mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, 'dev.lock');
  const mine: LockHolder = { pid: process.pid, startedAt: new Date().toISOString(), token: randomUUID() };
  const write = (holder: LockHolder, flag: 'wx' | 'w') => fs.writeFileSync(file, `${JSON.stringify(holder, null, 2)}\n`, { flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write(mine, 'wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        const holder = readHolder(file);
        if (holder) throw new LocalRuntimeBusyError(holder, file);
        throw error;
      }
    }
    const holder = readHolder(file);
    if (holder && processAlive(holder.pid)) throw new LocalRuntimeBusyError(holder, file);
    note(
      holder
        ? `! a local runtime (pid ${holder.pid}, started ${holder.startedAt}) did not stop cleanly; its process is gone, taking over ${path.relative(process.cwd(), stateDir) || '.'}`
        : `! ${file} was unreadable; taking it over`,
    );
    // Only one of two runtimes taking over at once gets the exclusive create of the next turn.
    fs.rmSync(file, { force: true });
  }
  let current = mine;
  const stillMine = () => readHolder(file)?.token === mine.token;
  return {
    file,
    update(endpoints) {
      if (!stillMine()) return;
      current = { ...current, endpoints };
      write(current, 'w');
    },
    release() {
      if (stillMine()) fs.rmSync(file, { force: true });
    },
  };
}
