/** What the observability-pipeline-*.test.ts files share: an OTLP receiver, a database, the API. */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { OtlpReceiver } from '@order-food/platform/testing/otlp-receiver';
import { createTestDatabase, type TestDatabase } from '@order-food/platform/testing/test-database';
import { type ApiProcess, startApiProcess } from './helpers.js';

export const jwtSecret = randomBytes(24).toString('hex');

export interface PipelineOfFile {
  receiver: OtlpReceiver;
  db: TestDatabase;
}

/**
 * A pipeline test file's set-up: before its tests, an OTLP receiver listening and an empty
 * database of the file's own (handed to set); after them, both gone.
 */
export function pipelineOfFile(prefix: string, set: (opened: PipelineOfFile) => void): void {
  const receiver = new OtlpReceiver();
  let db: TestDatabase | undefined;
  before(async () => {
    await receiver.start();
    db = await createTestDatabase(prefix);
    set({ receiver, db });
  });
  after(async () => {
    await receiver.stop();
    await db?.drop();
  });
}

export function telemetryEnv(
  receiver: OtlpReceiver,
  extra: Record<string, string | undefined> = {},
) {
  return {
    ...receiver.env(),
    OTEL_SDK_DISABLED: 'false',
    OTEL_SERVICE_NAME: undefined,
    OTEL_TRACES_SAMPLER: undefined,
    TRACEPARENT: undefined,
    POD_UID: undefined,
    JAEGER_ENDPOINT: undefined,
    ...extra,
  };
}

export function newTraceparent(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

export const startApi = (env: Record<string, string | undefined>) =>
  startApiProcess({ JWT_SECRET: jwtSecret, ...env });

export async function stopApi(api: ApiProcess | undefined): Promise<number | null> {
  if (!api || api.child.exitCode !== null) return api?.child.exitCode ?? null;
  const closed = new Promise<number | null>((resolve) => api.child.on('close', resolve));
  api.child.kill('SIGTERM');
  const bound = setTimeout(() => api.child.kill('SIGKILL'), 30_000);
  const code = await closed;
  clearTimeout(bound);
  return code;
}
