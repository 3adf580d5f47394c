import { createHash } from 'node:crypto';

/** sha256 of a file's exact bytes, hex: any edit, even to a comment, is a change. */
export function checksum(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
