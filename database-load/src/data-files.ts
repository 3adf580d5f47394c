import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationalError } from '@order-food/platform/errors';

/**
 * A data set is a directory of three JSON Lines files, one record per line, read as streams so a
 * data set of any size loads in flat memory. Orders name users by email and products by sku.
 */
export const dataFiles = {
  products: 'products.jsonl',
  users: 'users.jsonl',
  orders: 'orders.jsonl',
} as const;

export type DataFile = keyof typeof dataFiles;
export const fileOrder: readonly DataFile[] = ['products', 'users', 'orders'];

/** A data set that cannot be loaded: names the file, the record and the field. */
export class DataSetError extends OperationalError {
  override name = 'OperationalError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly record: string | undefined,
    readonly field: string | undefined,
    detail: string,
  ) {
    const where = [
      file,
      line === undefined ? undefined : `line ${line}`,
      record === undefined ? undefined : `(${record})`,
    ]
      .filter(Boolean)
      .join(' ');
    super(
      `invalid data set: ${where}: ${field ? `field "${field}" ` : ''}${detail}; nothing was loaded`,
    );
  }
}

/** One file of a data set as the loader saw it: enough to tell that it has not changed since. */
export interface FileStat {
  file: string;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}

/**
 * Stats the files of a data set (parts: which of the three are loaded, all by default; the menu
 * alone is ['products']); a missing one is a DataSetError naming it.
 */
export async function statDataSet(
  dir: string,
  parts: readonly DataFile[] = fileOrder,
): Promise<FileStat[]> {
  return Promise.all(
    fileOrder
      .filter((kind) => parts.includes(kind))
      .map(async (kind) => {
        const path = join(dir, dataFiles[kind]);
        try {
          const s = await stat(path, { bigint: true });
          if (!s.isFile()) throw new Error('not a file');
          return {
            file: dataFiles[kind],
            size: Number(s.size),
            mtimeNs: s.mtimeNs,
            ctimeNs: s.ctimeNs,
            ino: s.ino,
          };
        } catch {
          throw new DataSetError(
            path,
            undefined,
            undefined,
            undefined,
            `is missing: a data set needs ${fileOrder.map((k) => dataFiles[k]).join(', ')}, which may be empty (check --dir or DATA_DIR)`,
          );
        }
      }),
  );
}

/**
 * Files changed this recently are not trusted by their stat alone: a write within the file
 * system's timestamp granularity of the stat may leave the modification time as it was.
 */
const settledNs = 2_000_000_000n;

/**
 * The data set's quick-check manifest (per file: name, size, modification and change time in
 * ns, inode), or undefined when a file changed too recently for its stat to be trusted. The
 * content hash stays the truth: a run skips on a manifest only when a run with this exact
 * manifest recorded that content hash as loaded.
 */
export function manifestOf(files: readonly FileStat[], nowNs: bigint): string | undefined {
  for (const f of files) {
    if (nowNs - f.mtimeNs < settledNs || nowNs - f.ctimeNs < settledNs) return undefined;
  }
  return files.map((f) => `${f.file}:${f.size}:${f.mtimeNs}:${f.ctimeNs}:${f.ino}`).join(';');
}

/** The current time in ns since the epoch, comparable with file times. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Starts the content hash of a data set: the file names and sizes, then their bytes in order. */
export function newDataSetHash(files: readonly FileStat[]): Hash {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.file}\0${f.size}\0`);
  return hash;
}

/**
 * The content hash alone, without checking records: the files read through one reused buffer, so
 * hashing hundreds of megabytes leaves no garbage behind.
 */
export async function hashDataSet(dir: string, files?: readonly FileStat[]): Promise<string> {
  files ??= await statDataSet(dir);
  const hash = newDataSetHash(files);
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for (const f of files) {
    const file = await open(join(dir, f.file), 'r');
    try {
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
    } finally {
      await file.close();
    }
  }
  return hash.digest('hex');
}
