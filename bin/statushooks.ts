import { errorLine } from '../cli/cli-errors';
import { main } from '../cli/program';

// The AWS SDK warns on stderr about its future Node support on every run; stderr is for errors
// here. Set the variable to "false" to see the warning.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A reader that stops early (`statushooks deliveries list | head -3`) closes the pipe: stop at
// once and quietly, as `head`'s other writers do, instead of a stack trace about EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

main(process.argv).then(
  ({ code, keepAlive }) => {
    if (keepAlive) {
      // `dev` runs servers and workers until Ctrl-C: the process ends when they stop.
      process.exitCode = code;
      return;
    }
    // Ends the process once stdout and stderr are flushed, even if an SDK connection lingers.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  },
  (error: unknown) => {
    process.stderr.write(`${errorLine(error)}\n`);
    process.exit(1);
  },
);
