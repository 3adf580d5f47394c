import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Hotspot {
  name: string;
  selfPercent: number;
}

/** Where a frame's code lives: a package name, a project folder, or Node's own code. */
export function owner(url: string): string {
  if (url === '') return '(native/VM)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node: (core)';
  const m =
    /\/(platform|order-food|database-load|database-migration|bench)\/(src|dist|baseline|lib)\//.exec(
      url,
    );
  return m ? `${m[1]}/${m[2]}` : url;
}

const notWork = new Set(['(idle)', '(program)']);

/** Samples per node id, from skipMs after the profile's start on (start-up left out). */
function hitsAfter(profile: CpuProfile, skipMs: number): Map<number, number> {
  const hits = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let t = profile.startTime;
  const from = profile.startTime + skipMs * 1000;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t >= from) hits.set(samples[i]!, (hits.get(samples[i]!) ?? 0) + 1);
  }
  return hits;
}

/**
 * Self time by function and by owner, as percentages of the busy samples (idle and "(program)"
 * left out) taken from skipMs on.
 */
export function summarize(
  profile: CpuProfile,
  top = 25,
  skipMs = 0,
): { functions: Hotspot[]; owners: Hotspot[]; busyMs: number } {
  const sampled = hitsAfter(profile, skipMs);
  const work = profile.nodes.filter((n) => !notWork.has(n.callFrame.functionName));
  const total = work.reduce((n, node) => n + (sampled.get(node.id) ?? 0), 0) || 1;
  const interval =
    (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples?.length ?? 1);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const node of work) {
    const hits = sampled.get(node.id) ?? 0;
    if (hits === 0) continue;
    const f = node.callFrame;
    const file = f.url.split('/').slice(-2).join('/');
    const name = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    const o = owner(f.url);
    byOwner.set(o, (byOwner.get(o) ?? 0) + hits);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, selfPercent: Math.round((hits / total) * 1000) / 10 }));
  return {
    functions: rank(byFunction),
    owners: rank(byOwner),
    busyMs: Math.round(total * interval),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}
