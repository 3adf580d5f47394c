import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at url is the one node was started with, not one a launcher imported (npm
 * start runs the three programs' functions in its own process). import.meta.main would say so,
 * but tsx leaves it undefined.
 */
export function isEntry(url: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}
