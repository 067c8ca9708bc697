/**
 * `--chmod` values: octal (`755`, `0644`, up to `7777`) or symbolic as chmod(1) and BuildKit accept
 * (`u+x`, `go=rx`, `a-w,u+s`, `+X`): a comma-separated list of `[ugoa]*[+-=][rwxXst]*` clauses applied in
 * order to the source's mode. `X` sets execute only on directories and on files that already have one.
 */
import { CopyError } from "../../context/errors.js";

/** Computes the mode of a copied entry from its source mode. */
export type ModeFunction = (sourceMode: number, isDirectory: boolean) => number;

const OCTAL = /^[0-7]{1,4}$/;
const CLAUSE = /^([ugoa]*)([+=-])([rwxXst]*)$/;

export function parseChmod(spec: string): ModeFunction {
  if (OCTAL.test(spec)) {
    const mode = Number.parseInt(spec, 8);
    return () => mode;
  }
  const clauses = spec.split(",").map((clause) => {
    const match = CLAUSE.exec(clause);
    if (match === null) {
      throw new CopyError("COPY_CHMOD", `invalid --chmod=${spec}`, {
        hint: "use an octal mode (--chmod=755) or symbolic clauses like u+x,go=rx",
      });
    }
    return { who: match[1] || "a", op: match[2]!, perms: match[3]! };
  });
  return (sourceMode, isDirectory) => {
    let mode = sourceMode & 0o7777;
    for (const { who, op, perms } of clauses) {
      const users = who.includes("a") ? "ugo" : who;
      let bits = 0;
      for (const p of perms) {
        for (const u of users) {
          const shift = u === "u" ? 6 : u === "g" ? 3 : 0;
          if (p === "r") bits |= 0o4 << shift;
          else if (p === "w") bits |= 0o2 << shift;
          else if (p === "x") bits |= 0o1 << shift;
          else if (p === "X" && (isDirectory || (sourceMode & 0o111) !== 0)) bits |= 0o1 << shift;
          else if (p === "s" && u === "u") bits |= 0o4000;
          else if (p === "s" && u === "g") bits |= 0o2000;
          else if (p === "t") bits |= 0o1000;
        }
      }
      if (op === "+") mode |= bits;
      else if (op === "-") mode &= ~bits;
      else {
        let clear = 0;
        for (const u of users) clear |= u === "u" ? 0o4700 : u === "g" ? 0o2070 : 0o1007;
        mode = (mode & ~clear) | bits;
      }
    }
    return mode;
  };
}
