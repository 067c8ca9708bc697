/**
 * What each kind of step's CacheKey is made of (see ARCHITECTURE.md "The solver"): pure functions from an
 * op and its parent key to `CacheKeyInputs`. RUN mounts that read another stage or the context are keyed by
 * the key of what they read; secrets and ssh sockets by id only.
 */
import type { CacheKey, CacheKeyInputs, CanonicalValue } from "../cache/key.js";
import type { CopyOp, ExecOp, SourceRef } from "../graph/types.js";
import type { Platform } from "../image/oci-types.js";
import type { Digest } from "../image/store-types.js";

export async function execInputs(
  op: ExecOp,
  parent: CacheKey,
  sourceKey: (from: SourceRef) => Promise<string>,
): Promise<CacheKeyInputs> {
  const mounts: CanonicalValue[] = [];
  for (const mount of op.mounts) {
    // Secrets and ssh sockets are keyed by id only: their contents never reach a key.
    const entry: Record<string, CanonicalValue | undefined> = {
      type: mount.type,
      target: mount.target,
      source: mount.source,
      readonly: mount.readonly,
      id: mount.id,
      sharing: mount.sharing,
      required: mount.required,
      env: mount.env,
      size: mount.size,
      mode: mount.mode,
      uid: mount.uid,
      gid: mount.gid,
    };
    if (mount.from !== undefined && mount.type === "bind") entry.from = await sourceKey(mount.from);
    else if (mount.from !== undefined) entry.from = sourceLabel(mount.from);
    mounts.push(entry);
  }
  return {
    kind: "exec",
    parent,
    args: op.args,
    env: op.env,
    user: op.user,
    cwd: op.cwd,
    network: op.network,
    security: op.security,
    mounts,
    inlineFiles: (op.inlineFiles ?? []).map((file) => ({
      path: file.path,
      content: file.content,
      mode: file.mode,
    })),
  };
}

export function copyInputs(op: CopyOp, parent: CacheKey, sources: Digest): CacheKeyInputs {
  return {
    kind: "copy",
    // `--link` layers do not depend on what is below them.
    parent: op.link ? undefined : parent,
    instruction: op.instruction,
    from: sourceLabel(op.from),
    sources,
    dest: op.dest,
    workdir: op.workdir,
    chown: op.chown,
    chmod: op.chmod,
    link: op.link,
    parents: op.parents,
    excludes: op.excludes,
    checksum: op.checksum,
    unpack: op.unpack,
    keepGitDir: op.keepGitDir,
  };
}

export function sourceLabel(from: SourceRef): string {
  if (from.kind === "stage") return `stage:${from.index}`;
  if (from.kind === "image") return `image:${from.image.manifestDigest}`;
  return from.kind;
}

export function platformKey(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}
