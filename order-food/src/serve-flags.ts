import { parseArgs } from '@order-food/platform/cli';
import { UsageError } from '@order-food/platform/errors';

export const synopsis = 'usage: order-food [--port N] [--host ADDRESS] [--help]';

/**
 * --port and --host, as PORT and HOST; anything else is bad usage (exit 2, one line). Its own
 * module: npm start checks its arguments before it loads the API.
 */
export function serveFlags(argv: readonly string[]): Record<string, string> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs([...argv], ['port', 'host'], []);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; ${synopsis}`);
  }
  if (args.command !== undefined)
    throw new UsageError(`unexpected argument "${args.command}"; ${synopsis}`);
  const { port, host } = args.flags as { port?: string; host?: string };
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65_535))
    throw new UsageError(`--port must be a port number from 0 to 65535, got "${port}"`);
  return {
    ...(port === undefined ? {} : { PORT: port }),
    ...(host === undefined ? {} : { HOST: host }),
  };
}
