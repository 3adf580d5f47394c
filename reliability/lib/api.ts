import { join } from 'node:path';
import { repoRoot, runProgram } from '@order-food/platform/testing/run-program';
import { type HttpResponse, type RequestSpec, request } from './http.js';
import { freePort, type Launcher, Proc } from './process.js';
import { waitFor } from './wait.js';

export const jwtSecret = 'reliability-suite-secret-0123456789abcdef';

export interface ApiOptions {
  databaseUrl: string;
  env?: Record<string, string | undefined>;
  /** Another build of the API (the previous release's); from source by default. */
  start?: Launcher;
}

/** The API (order-food/src/server.ts) as a real process on a loopback port. */
export class Api {
  readonly proc: Proc;
  readonly url: string;

  private constructor(
    readonly port: number,
    readonly options: ApiOptions,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.proc = new Proc(
      'order-food',
      [],
      {
        env: {
          DATABASE_URL: options.databaseUrl,
          PORT: String(port),
          HOST: '127.0.0.1',
          JWT_SECRET: jwtSecret,
          LOG_LEVEL: 'warn',
          DB_WAIT_TIMEOUT: '60',
          ...options.env,
        },
      },
      options.start,
    );
  }

  static async start(options: ApiOptions): Promise<Api> {
    return new Api(await freePort(), options);
  }

  request(spec: RequestSpec, timeoutMs = 15_000): Promise<HttpResponse> {
    return request(this.url, spec, { timeoutMs });
  }

  async readyStatus(timeoutMs = 5000): Promise<number> {
    try {
      return (await this.request({ method: 'GET', path: '/ready' }, timeoutMs)).status;
    } catch {
      return 0;
    }
  }

  /** Waits for /ready 200; fails early with the process's output when it exits. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `GET /ready 200 from the API on port ${this.port}`,
      async () => {
        if (!this.proc.running)
          throw new Error(
            `the API exited (${JSON.stringify(this.proc.exit)}):\n${this.proc.tail()}`,
          );
        return (await this.readyStatus(2000)) === 200;
      },
      { timeoutMs, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.proc.tail()}`);
    });
  }

  /** SIGKILL if still running; waits for the exit. */
  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/** A bearer token for a user, from the token CLI (its last line of output). */
export async function tokenFor(databaseUrl: string, email: string): Promise<string> {
  const result = await runProgram(
    join(repoRoot, 'order-food/src/token-cli.ts'),
    ['--email', email],
    {
      env: { DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, LOG_LEVEL: 'warn' },
      timeoutMs: 60_000,
    },
  );
  const lines = result.stdout.trim().split('\n');
  const token = lines[lines.length - 1]?.trim() ?? '';
  if (result.code !== 0 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    throw new Error(
      `npm run token -- --email ${email} exited ${result.code}, no token:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return token;
}
