import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { serverVersion } from './db.js';
import { clockTicks } from './proc.js';
import { repoRoot } from './processes.js';

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'),
    );
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(
  extra: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
    postgresql: await serverVersion(),
    clockTicksPerSecond: clockTicks(),
    fastify: packageVersion('fastify'),
    pg: packageVersion('pg'),
    fastJwt: packageVersion('fast-jwt'),
    autocannon: packageVersion('autocannon'),
    ...extra,
  };
}
