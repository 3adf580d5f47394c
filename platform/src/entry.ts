const launcher = Symbol.for('@order-food/platform/launcher');
type Flagged = typeof globalThis & { [launcher]?: boolean };

/**
 * Called by a launcher that imports the programs' modules to run their functions itself (npm
 * start runs all three in one process), before it imports them.
 */
export function markLauncher(): void {
  (globalThis as Flagged)[launcher] = true;
}

/**
 * Whether a program's module runs its program when loaded: always, unless a launcher imported it.
 * (Not "is this the entry file": the images start a two-line entry that imports the bundle, and
 * tsx leaves import.meta.main undefined.)
 */
export function runsItself(): boolean {
  return (globalThis as Flagged)[launcher] !== true;
}
