import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OperationalError } from './errors.js';

/**
 * mkdir -p that always returns: Node's recursive mkdir never returns where mkdir answers ENOENT
 * for an existing parent (inside /proc, Node 24), so levels are made one by one from the nearest
 * existing ancestor. Throws an Error whose message is the reason.
 */
export function makeDirectory(path: string): void {
  const missing: string[] = [];
  let existing = resolve(path);
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(existing).isDirectory();
    } catch (err) {
      const parent = dirname(existing);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === existing)
        throw cannot(err);
      missing.unshift(existing);
      existing = parent;
      continue;
    }
    if (!isDirectory)
      throw new Error(
        missing.length === 0 ? 'it is not a directory' : `${existing} is not a directory`,
      );
    break;
  }
  try {
    if (missing.length > 0) accessSync(existing, constants.W_OK | constants.X_OK);
    for (const dir of missing) mkdirSync(dir);
  } catch (err) {
    throw cannot(err);
  }
}

function cannot(err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  return new Error(
    `${e.code ?? e.message} on ${e.path ?? 'a parent directory'}; choose a path in a writable directory`,
  );
}

const lockName = 'order-food.lock';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock file of a directory one process at a time may open (a second opener corrupts an
 * embedded database). A lock whose pid is gone, or is ours (a restarted container is pid 1 again),
 * is taken over. Returns the release function, also run at exit.
 */
export function lockDirectory(dir: string, program: string): () => void {
  const path = join(dir, lockName);
  const content = `${process.pid} ${program}\n`;
  // A few rounds: another process may take over or release the same stale lock in between.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, content, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw err;
    }
    let held: string;
    try {
      held = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const [pidText, holder = 'another program'] = held.trim().split(' ');
    const pid = Number(pidText);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && running(pid))
      throw new OperationalError(
        `the embedded database in ${dir} is in use by process ${pid} (${holder}); it serves one process at a time: stop that process first (or remove ${path} if no such process uses it)`,
      );
    // A stale lock: its process is gone.
    rmSync(path, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === content) rmSync(path, { force: true });
    } catch {
      // Already gone: nothing to release.
    }
  };
  process.on('exit', release);
  return release;
}
