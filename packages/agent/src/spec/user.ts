import { UnitSpecError } from '../errors';

/** A user the container process runs as, resolved against the image's account files. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from passwd, used for HOME when the environment does not set it. */
  home: string;
}

/** The image's `/etc/passwd` and `/etc/group` text; undefined when the file does not exist. */
export interface AccountFiles {
  passwd?: string;
  group?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 32 - 2;

/**
 * Resolves `User=` (`uid`, `uid:gid`, `name`, `name:group`, or empty for root) the way Docker
 * does: names must exist in the image, a numeric uid that has no passwd entry runs with gid 0 and
 * home `/`, and supplementary groups are the groups that list the user's name.
 * Throws UnitSpecError naming the unit and the missing name.
 */
export function resolveUser(unit: string, user: string | undefined, files: AccountFiles): ResolvedUser {
  const passwd = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');
  const [userPart, groupPart] = splitUser(unit, user ?? '');

  const entry = findUser(unit, userPart, passwd);
  const uid = entry?.uid ?? parseId(userPart === '' ? '0' : userPart)!;
  const gid = groupPart === undefined ? (entry?.gid ?? 0) : findGroupId(unit, groupPart, groups);
  const additionalGids = entry === undefined ? [] : groups.filter((group) => group.members.includes(entry.name) && group.gid !== gid).map((group) => group.gid);
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.home ?? '/' };
}

function splitUser(unit: string, user: string): [string, string | undefined] {
  const parts = user.trim().split(':');
  if (parts.length > 2 || (parts.length === 2 && (parts[0] === '' || parts[1] === ''))) {
    throw new UnitSpecError(unit, `User=${user} is invalid: expected uid, uid:gid, name or name:group`);
  }
  return [parts[0], parts[1]];
}

function findUser(unit: string, userPart: string, passwd: PasswdEntry[]): PasswdEntry | undefined {
  const id = parseId(userPart === '' ? '0' : userPart);
  if (id !== undefined) return passwd.find((entry) => entry.uid === id);
  const entry = passwd.find((candidate) => candidate.name === userPart);
  if (!entry) throw new UnitSpecError(unit, `User=${userPart}: no such user in the image's /etc/passwd; use a numeric uid or add the user to the image`);
  return entry;
}

function findGroupId(unit: string, groupPart: string, groups: GroupEntry[]): number {
  const id = parseId(groupPart);
  if (id !== undefined) return id;
  const group = groups.find((candidate) => candidate.name === groupPart);
  if (!group) throw new UnitSpecError(unit, `group "${groupPart}" in User= not found in the image's /etc/group; use a numeric gid or add the group to the image`);
  return group.gid;
}

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_ID ? value : undefined;
}

/** Parses passwd lines, skipping malformed ones the way libc does. */
function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || line.startsWith('#')) continue;
    const uid = parseId(fields[2]);
    const gid = parseId(fields[3]);
    if (uid === undefined || gid === undefined) continue;
    entries.push({ name: fields[0], uid, gid, home: fields[5] || '/' });
  }
  return entries;
}

function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || line.startsWith('#')) continue;
    const gid = parseId(fields[2]);
    if (gid === undefined) continue;
    entries.push({ name: fields[0], gid, members: fields[3].split(',').map((member) => member.trim()).filter(Boolean) });
  }
  return entries;
}
