import { spawn } from 'node:child_process';
import { repoRoot } from './run-program.js';

/** A short program as the real ones are: telemetry first, spans under the start-up context, runCli. */
const fixture = `
import { trace } from '@opentelemetry/api';
import { runCli } from '@order-food/platform/cli';
import { startTelemetry, startupContext } from '@order-food/platform/telemetry';
await startTelemetry(process.env.FIXTURE_SERVICE);
await runCli(process.env.FIXTURE_SERVICE, async () => {
  const span = trace.getTracer('fixture').startSpan(process.env.FIXTURE_SERVICE + ' run', {}, startupContext());
  span.end();
  if (process.env.FIXTURE_FAIL) throw new Error('the step failed');
  return 0;
});
`;

/**
 * Runs the short program as `service`; of the start-up and export variables this process has,
 * only those `env` sets reach it. Killed after 60 s, so a hang shows as a failed exit code.
 */
export function runFixture(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, FIXTURE_SERVICE: service, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  for (const name of [
    'TRACEPARENT',
    'POD_UID',
    'OTEL_SDK_DISABLED',
    'JAEGER_ENDPOINT',
    'ENVIRONMENT',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  ])
    if (!(name in env)) delete childEnv[name];
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', fixture],
    { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}
