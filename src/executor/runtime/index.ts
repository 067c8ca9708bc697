/**
 * Choosing the RUN runtime: `openRuntime(root, prefer)` gives runc, crun (when asked and working), or the
 * chroot fallback; `auto` takes runc, then crun, then chroot.
 */
import type { Runtime } from "../types.js";
import { ChrootRuntime } from "./chroot.js";
import { RuntimeError } from "./errors.js";
import { RuncRuntime } from "./runc.js";

export { ChrootRuntime } from "./chroot.js";
export { RuntimeError } from "./errors.js";
export { RuncRuntime } from "./runc.js";
export { type ResolvedUser, resolveUser } from "./user.js";

export type RuntimePreference = "runc" | "crun" | "chroot" | "auto";

export async function openRuntime(root: string, prefer: RuntimePreference = "auto"): Promise<Runtime> {
  if (prefer === "runc" || prefer === "crun") return RuncRuntime.open(root, prefer);
  if (prefer === "chroot") return ChrootRuntime.open(root);
  for (const binary of ["runc", "crun"] as const) {
    try {
      return await RuncRuntime.open(root, binary);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
    }
  }
  return ChrootRuntime.open(root);
}
