/**
 * Where Gantry keeps its data: `--root`, else `GANTRY_ROOT`, else `/var/lib/gantry` for root and
 * `$XDG_DATA_HOME/gantry` (or `~/.local/share/gantry`) for everyone else.
 */
import os from "node:os";
import path from "node:path";

export function defaultDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GANTRY_ROOT) return path.resolve(env.GANTRY_ROOT);
  if (typeof process.getuid === "function" && process.getuid() === 0) return "/var/lib/gantry";
  const xdg = env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(xdg, "gantry");
}

export function resolveDataRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ? path.resolve(flag) : defaultDataRoot(env);
}
