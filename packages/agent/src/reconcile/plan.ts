/**
 * The reconciler: a pure function from the desired assignments and what the host runs to the
 * steps that make the host match. It reads nothing and changes nothing; the unit supervisor runs
 * the plan.
 *
 *   desired (AssignmentSet) ─┐
 *                            ├─> planReconcile ─> UnitPlan[] ─> supervisor executes per unit
 *   observed (containers) ───┘
 *
 * Terms: `loaded` means the image is pulled and the container created but not started;
 * `launched` means the container runs. A container whose unit hash differs from the assignment is
 * replaced: stopped, removed, and created again from the new unit.
 */

export type DesiredState = 'loaded' | 'launched';

/** One assignment as the plan needs it. */
export interface DesiredUnit {
  name: string;
  hash: string;
  state: DesiredState;
  /** Image reference of the unit's container. */
  image: string;
  /** Set when the unit text cannot be run (parse error, no `[Container]`); nothing is created. */
  invalid?: string;
}

/** Where a unit's container is. `stopped` means it exited (or was stopped) and still exists. */
export type ContainerPhase = 'absent' | 'created' | 'running' | 'stopped';

/** What the host has for one unit. */
export interface ObservedUnit {
  name: string;
  /** Hash of the unit the container was created from. */
  hash: string;
  container: ContainerPhase;
  /**
   * True when the restart policy keeps an exited container down: `Restart=no`, a clean exit under
   * `Restart=on-failure`, the start limit was hit, or `RestartSec=` has not elapsed yet.
   */
  held: boolean;
}

export type ActionKind = 'pull' | 'create' | 'start' | 'stop' | 'remove';

export interface PlannedAction {
  kind: ActionKind;
  reason: string;
}

/** The ordered steps for one unit. Units are independent; steps of one unit run in order. */
export interface UnitPlan {
  unit: string;
  actions: PlannedAction[];
}

/**
 * Plans the steps that bring `observed` to `desired`. `presentImages` lists image references the
 * image store holds. Units that only need removal come first so their resources are free before
 * new containers start; otherwise units are sorted by name. Units with nothing to do are omitted.
 */
export function planReconcile(desired: DesiredUnit[], observed: ObservedUnit[], presentImages: ReadonlySet<string>): UnitPlan[] {
  const desiredByName = new Map(desired.map((unit) => [unit.name, unit]));
  const observedByName = new Map(observed.map((unit) => [unit.name, unit]));
  const names = [...new Set([...desiredByName.keys(), ...observedByName.keys()])].sort();

  const removals: UnitPlan[] = [];
  const others: UnitPlan[] = [];
  for (const name of names) {
    const wanted = desiredByName.get(name);
    const actions = planUnit(wanted, observedByName.get(name), presentImages);
    if (actions.length === 0) continue;
    (wanted === undefined ? removals : others).push({ unit: name, actions });
  }
  return [...removals, ...others];
}

function planUnit(desired: DesiredUnit | undefined, observed: ObservedUnit | undefined, presentImages: ReadonlySet<string>): PlannedAction[] {
  if (desired === undefined) return observed ? teardown(observed, 'no longer assigned') : [];
  if (desired.invalid !== undefined) return observed ? teardown(observed, `unit cannot run: ${desired.invalid}`) : [];
  if (observed === undefined || observed.container === 'absent') return buildFresh(desired, presentImages);
  if (observed.hash !== desired.hash) return [...teardown(observed, 'unit hash changed'), ...buildFresh(desired, presentImages)];

  switch (observed.container) {
    case 'created':
      return desired.state === 'launched' ? [{ kind: 'start', reason: 'desired launched' }] : [];
    case 'running':
      return desired.state === 'loaded' ? [...teardown(observed, 'desired loaded'), ...buildFresh(desired, presentImages)] : [];
    case 'stopped':
      if (desired.state === 'launched' && observed.held) return [];
      return [{ kind: 'remove', reason: 'container exited' }, ...buildFresh(desired, presentImages)];
  }
}

/** Stop (when running) and remove, so no container, mount, network or record is left. */
function teardown(observed: ObservedUnit, reason: string): PlannedAction[] {
  if (observed.container === 'running') return [{ kind: 'stop', reason }, { kind: 'remove', reason }];
  return [{ kind: 'remove', reason }];
}

function buildFresh(desired: DesiredUnit, presentImages: ReadonlySet<string>): PlannedAction[] {
  const actions: PlannedAction[] = [];
  if (!presentImages.has(desired.image)) actions.push({ kind: 'pull', reason: `image ${desired.image} not present` });
  actions.push({ kind: 'create', reason: `desired ${desired.state}` });
  if (desired.state === 'launched') actions.push({ kind: 'start', reason: 'desired launched' });
  return actions;
}
