import type { Command } from 'commander';
import { CliError, UsageError, isNetworkError } from './cli-errors';
import { LOCAL_STATE_FILE } from '../local/state-file';
import { Clients, resolveTarget, type TargetOptions } from './target';

export interface JsonOption {
  readonly json?: boolean;
}

/** --stack / --local / --json, on every command that talks to a target. */
export function withTargetOptions(command: Command): Command {
  return command
    .option('--stack <name>', 'operate the deployed stack <name> (reads its CloudFormation outputs; region and credentials from the usual AWS environment)')
    .option('--local <file>', `operate the local runtime described by <file> (default without --stack: ${LOCAL_STATE_FILE} in the current folder or the nearest parent folder that has one)`)
    .option('--json', 'print machine-readable JSON on stdout');
}

/** --allow-private / --allow-http, on commands that accept a subscription URL. */
export function withUrlPolicyOptions(command: Command): Command {
  return command
    .option('--allow-private', "with --stack: accept loopback/private hosts even if the stack's AllowPrivateEndpoints output says it refuses them (warns)")
    .option('--allow-http', "with --stack: accept plain http:// URLs even if the stack's AllowHttpEndpoints output says it refuses them (warns)");
}

/**
 * Resolves the target, runs `fn` with clients pointed at it, and turns "could not connect"
 * into one line naming the target, whatever AWS call hit it.
 */
export async function withClients<T>(options: TargetOptions, fn: (clients: Clients) => Promise<T>): Promise<T> {
  const target = await resolveTarget(options);
  const clients = new Clients(target);
  try {
    return await onTarget(clients, fn);
  } finally {
    clients.destroy();
  }
}

/**
 * Runs `fn` with clients of a target resolved already (the console's server keeps one set for
 * its lifetime), with the same "could not connect" line as every command.
 */
export async function onTarget<T>(clients: Clients, fn: (clients: Clients) => Promise<T>): Promise<T> {
  const { target } = clients;
  try {
    return await fn(clients);
  } catch (error) {
    if (!(error instanceof CliError) && !(error instanceof UsageError) && isNetworkError(error)) {
      const hint = target.kind === 'local' ? '; is the local runtime (`npm start`) running? A runtime that crashed can leave its state file behind' : '';
      throw new CliError(`cannot reach ${target.label}: ${(error as Error).message}${hint}`);
    }
    throw error;
  }
}
