/**
 * The pod sequence on one machine: database-migration, then database-load, then the API, each
 * only after the previous one exited 0. Without DATABASE_URL all three use embedded PGlite in .data/.
 * ENVIRONMENT defaults to development here, as in `npm run token`; nowhere else.
 *
 * One start is one trace, as in a pod: a fresh POD_UID per start gives all three programs the same
 * derived trace, with database-migration recording its "pod start" root span. A TRACEPARENT given
 * by the caller is used instead.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  imageNodeFlags,
  nodeArgs,
  programs,
  repoRoot,
} from '@order-food/platform/testing/run-program';

// A development run unless told otherwise: the API may then sign with the fixed development
// secret, and listens on 127.0.0.1 only (HOST overrides).
const base = { ...process.env, ENVIRONMENT: process.env.ENVIRONMENT ?? 'development' };
const env = process.env.TRACEPARENT
  ? base
  : { ...base, POD_UID: process.env.POD_UID ?? randomUUID() };

function run(name: keyof typeof programs): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...imageNodeFlags[name], ...nodeArgs(programs[name])], {
      cwd: repoRoot,
      // The API prints example curl commands with tokens once it is ready; with no load balancer
      // in front there is nothing to drain for on Ctrl-C.
      env:
        name === 'order-food'
          ? {
              ...env,
              ORDER_FOOD_PRINT_EXAMPLES: '1',
              SHUTDOWN_DRAIN_DELAY: process.env.SHUTDOWN_DRAIN_DELAY ?? '0',
            }
          : env,
      stdio: 'inherit',
      // A group of its own: Ctrl-C reaches the child once, through the forward below, not twice
      // (the API exits at once on a second signal).
      detached: true,
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

for (const step of ['database-migration', 'database-load', 'order-food'] as const) {
  const code = await run(step);
  if (code !== 0) {
    process.stderr.write(`npm start: ${step} exited ${code}; the steps after it did not run\n`);
    process.exit(code);
  }
}
