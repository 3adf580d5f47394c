/**
 * A real PgBouncer (Debian's `pgbouncer`) in transaction-pooling mode with its default settings,
 * in front of the tests' PostgreSQL, on a free loopback port: what operators put between many
 * replicas and one database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { onPath, skipWithoutTool } from './require-tool.js';

export interface PgBouncer {
  /** host:port of the pooler. */
  readonly port: number;
  /** The same database URL with the pooler's port. */
  via(url: string): string;
  stop(): Promise<void>;
}

export const pgbouncerPath = onPath('pgbouncer') ?? '/usr/sbin/pgbouncer';

/** The describe() skip option of tests that need PgBouncer. */
export function skipWithoutPgBouncer(): string | false {
  return skipWithoutTool('pgbouncer', 'pgbouncer', onPath('pgbouncer') !== undefined);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/**
 * Starts PgBouncer for the server of databaseUrl (any database on it, trust authentication).
 * settings are added to the [pgbouncer] section (e.g. default_pool_size).
 */
export async function startPgBouncer(
  databaseUrl: string,
  settings: Record<string, string | number> = {},
): Promise<PgBouncer> {
  const server = new URL(databaseUrl);
  const dir = mkdtempSync(join(tmpdir(), 'pgbouncer-'));
  // PgBouncer refuses to run as root; as root it drops to the postgres user, who must read this.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const extra = Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = transaction
${extra}
`,
  );
  writeFileSync(
    join(dir, 'userlist.txt'),
    `"${decodeURIComponent(server.username || 'postgres')}" ""\n`,
  );
  const args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'postgres');
  const child: ChildProcess = spawn(pgbouncerPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer exited at start: ${stderr.trim()}`);
    }
    if (await answers(port)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
