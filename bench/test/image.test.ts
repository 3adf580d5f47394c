import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageNodeFlags } from '@order-food/platform/testing/run-program';
import { DockerfileParser, type JSONInstruction } from 'dockerfile-ast';
import { programs, repoRoot } from '../lib/processes.js';

/** The runtime stage (the last) of a program's Dockerfile. */
function runtimeStage(dockerfile: string) {
  const parsed = DockerfileParser.parse(readFileSync(join(repoRoot, dockerfile), 'utf8'));
  const from = parsed.getFROMs().at(-1)!;
  const start = from.getRange().start.line;
  return parsed.getInstructions().filter((i) => i.getRange().start.line >= start);
}

test('the bench starts each program with the Node flags and environment of its image', () => {
  for (const [name, program] of Object.entries(programs)) {
    const dockerfile = `${name}/Dockerfile`;
    const stage = runtimeStage(dockerfile);
    const entrypoint = stage.find((i) => i.getKeyword() === 'ENTRYPOINT') as JSONInstruction;
    const argv = entrypoint.getJSONStrings().map((s) => s.getJSONValue());
    assert.deepEqual(argv, ['node', ...program.nodeFlags, program.dist], dockerfile);
    // Launchers that run a program as its image does.
    assert.deepEqual(imageNodeFlags[name as keyof typeof programs], program.nodeFlags, name);
    const env = stage
      .filter((i) => i.getKeyword() === 'ENV')
      .flatMap((i) => i.getArgumentsContent()?.split(/\s+\\?\s*/) ?? []);
    for (const [variable, value] of Object.entries(program.env))
      assert.ok(env.includes(`${variable}=${value}`), `${dockerfile} sets ${variable}=${value}`);
  }
});
