/**
 * USER resolution through the image's own /etc/passwd and /etc/group (as Docker and BuildKit do):
 * `""` is root; `name` or `uid` takes the primary group from passwd (0 when a numeric uid has no entry) and
 * the supplementary groups that list the user; `user:group` takes the group as given (name or gid).
 */
import { readFile } from "node:fs/promises";
import { resolveInRoot } from "../../util/root-path.js";
import { RuntimeError } from "./errors.js";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from passwd ("/" when unknown). */
  home: string;
  name?: string;
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

export async function resolveUser(rootfs: string, user: string): Promise<ResolvedUser> {
  const spec = user.trim();
  const colon = spec.indexOf(":");
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  const passwd = await readDatabase(rootfs, "etc/passwd", parsePasswd);
  const groups = await readDatabase(rootfs, "etc/group", parseGroup);

  let entry: PasswdEntry | undefined;
  let uid: number;
  if (userPart === "") {
    uid = 0;
    entry = passwd.find((p) => p.uid === 0);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (entry === undefined) {
      throw new RuntimeError(
        "USER_UNKNOWN",
        `unable to find user ${userPart}: no matching entries in passwd file`,
        {
          hint: "create the user in an earlier step (adduser) or use a numeric uid",
        },
      );
    }
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (group === undefined) {
        throw new RuntimeError(
          "USER_UNKNOWN",
          `unable to find group ${groupPart}: no matching entries in group file`,
          {
            hint: "create the group in an earlier step (addgroup) or use a numeric gid",
          },
        );
      }
      gid = group.gid;
    }
  } else if (entry !== undefined) {
    additionalGids = groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid);
  }
  return { uid, gid, additionalGids, home: entry?.home || "/", name: entry?.name };
}

async function readDatabase<T>(rootfs: string, path: string, parse: (text: string) => T[]): Promise<T[]> {
  const { abs } = await resolveInRoot(rootfs, path, true);
  try {
    return parse(await readFile(abs, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function parsePasswd(text: string): PasswdEntry[] {
  const result: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || line.startsWith("#") || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    result.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return result;
}

function parseGroup(text: string): GroupEntry[] {
  const result: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#") || !/^\d+$/.test(f[2]!)) continue;
    result.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter((m) => m !== "") });
  }
  return result;
}
