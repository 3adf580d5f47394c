import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const execFileAsync = promisify(execFile);

/** The newest installed server's binaries (Debian layout). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, versions[0] as string, 'bin');
}

/**
 * A PostgreSQL server of the suite's own on a free loopback port, in a temporary data directory,
 * so a test can stop and start a real server without touching the one everything else uses.
 * As root the server runs as the postgres user (initdb refuses root).
 */
export class PrivatePostgres {
  readonly #bin = binDir();
  readonly #dir = mkdtempSync(join(tmpdir(), 'reliability-pg-'));
  readonly #data = join(this.#dir, 'data');
  readonly #log = join(this.#dir, 'server.log');
  #port = 0;
  stops = 0;

  get port(): number {
    return this.#port;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.#port}/${database}`;
  }

  async #run(tool: string, args: string[]): Promise<string> {
    const cmd = join(this.#bin, tool);
    const asRoot = process.getuid?.() === 0;
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    try {
      const { stdout } = await execFileAsync(file, argv, { timeout: 60_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  async init(): Promise<this> {
    if (process.getuid?.() === 0) {
      const { uid, gid } = await postgresIds();
      chownSync(this.#dir, uid, gid);
    }
    this.#port = await freePort();
    await this.#run('initdb', [
      '-D',
      this.#data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    await this.start();
    return this;
  }

  async start(): Promise<void> {
    await this.#run('pg_ctl', [
      '-D',
      this.#data,
      '-l',
      this.#log,
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.#port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  }

  /** pg_ctl stop -m fast: disconnects every client and shuts down, as an operator's restart does. */
  async stop(): Promise<void> {
    this.stops++;
    await this.#run('pg_ctl', ['-D', this.#data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  async running(): Promise<boolean> {
    try {
      await this.#run('pg_ctl', ['-D', this.#data, 'status']);
      return true;
    } catch {
      return false;
    }
  }

  serverLog(): string {
    try {
      return readFileSync(this.#log, 'utf8');
    } catch {
      return '';
    }
  }

  async destroy(): Promise<void> {
    try {
      if (await this.running())
        await this.#run('pg_ctl', ['-D', this.#data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
