/** Length of the short machine id fleet prints and accepts in `MachineID=`. */
export const SHORT_MACHINE_ID_LENGTH = 8;

/**
 * True when a `MachineID=` requirement selects the machine: the requirement equals the full
 * machine id, or equals its first 8 characters. An empty requirement matches nothing.
 */
export function machineIdMatches(requirement: string, machineId: string): boolean {
  if (requirement === '' || machineId === '') {
    return false;
  }
  if (requirement === machineId) {
    return true;
  }
  return requirement.length === SHORT_MACHINE_ID_LENGTH && machineId.slice(0, SHORT_MACHINE_ID_LENGTH) === requirement;
}
