/**
 * `--chown` as BuildKit resolves it: `user`, `user:group`, `uid`, `uid:gid` (and `:group`), names looked
 * up in the image's own /etc/passwd and /etc/group (read inside the given root, symlinks kept within it).
 * A user alone takes the user's primary group from passwd; a numeric uid alone uses the same number as gid.
 */
import { readFile } from "node:fs/promises";
import { CopyError } from "../../context/errors.js";
import { resolveInRoot } from "../../util/root-path.js";
import type { Ownership } from "./target-tree.js";

const NUMERIC = /^[0-9]+$/;

interface DbLine {
  name: string;
  id: number;
  /** passwd: primary gid. */
  gid?: number;
}

async function readDb(root: string, file: string): Promise<DbLine[] | undefined> {
  const resolved = await resolveInRoot(root, file, true);
  if (!resolved.stats?.isFile()) return undefined;
  const lines: DbLine[] = [];
  for (const line of (await readFile(resolved.abs, "utf8")).split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const fields = line.split(":");
    const id = fields[2];
    if (fields[0] === undefined || id === undefined || !NUMERIC.test(id)) continue;
    const entry: DbLine = { name: fields[0], id: Number(id) };
    if (file === "/etc/passwd" && fields[3] !== undefined && NUMERIC.test(fields[3]))
      entry.gid = Number(fields[3]);
    lines.push(entry);
  }
  return lines;
}

function chownError(spec: string, what: string, name: string, file: string, missingFile: boolean): CopyError {
  return new CopyError(
    "COPY_CHOWN",
    `--chown=${spec}: ${missingFile ? `cannot look up ${what} ${JSON.stringify(name)}: the image has no ${file}` : `unknown ${what} ${JSON.stringify(name)} (not in the image's ${file})`}`,
    { hint: `use a numeric id (--chown=1000:1000) or create the ${what} in an earlier RUN step` },
  );
}

/** Resolves a `--chown` value to numeric ids, looking names up under `userDbRoot`. */
export async function resolveChown(spec: string, userDbRoot: string): Promise<Ownership> {
  const colon = spec.indexOf(":");
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  if (userPart === "" && (groupPart === undefined || groupPart === "")) {
    throw new CopyError("COPY_CHOWN", `--chown=${spec}: no user given`, {
      hint: "write --chown=user[:group]",
    });
  }
  let uid = 0;
  let gid = 0;
  if (userPart !== "") {
    if (NUMERIC.test(userPart)) {
      uid = Number(userPart);
      gid = uid;
    } else {
      const passwd = await readDb(userDbRoot, "/etc/passwd");
      const user = passwd?.find((line) => line.name === userPart);
      if (user === undefined) throw chownError(spec, "user", userPart, "/etc/passwd", passwd === undefined);
      uid = user.id;
      gid = user.gid ?? 0;
    }
  }
  if (groupPart !== undefined && groupPart !== "") {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const groups = await readDb(userDbRoot, "/etc/group");
      const group = groups?.find((line) => line.name === groupPart);
      if (group === undefined) throw chownError(spec, "group", groupPart, "/etc/group", groups === undefined);
      gid = group.id;
    }
  }
  return { uid, gid };
}
