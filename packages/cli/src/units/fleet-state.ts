import type { FleetState, UnitState } from '../api/types';

/**
 * Derives fleet's current state word (`inactive`, `loaded`, `launched`) from what an agent
 * reported, since the API reports systemd-style states instead:
 * - no report, or a load state other than `loaded`: `inactive`;
 * - loaded and `inactive`: `loaded`;
 * - loaded and `activating`, `active` or `deactivating`: `launched`;
 * - loaded and `failed`: `launched` while launching is desired (the container was started and
 *   exited), otherwise `loaded` (a stopped container that exited with an error).
 */
export function currentFleetState(desiredState: FleetState, state: UnitState | null): FleetState {
  if (state === null || state.loadState !== 'loaded') return 'inactive';
  switch (state.activeState) {
    case 'inactive':
      return 'loaded';
    case 'failed':
      return desiredState === 'launched' ? 'launched' : 'loaded';
    default:
      return 'launched';
  }
}
