/**
 * The solver's `FileOps` (see executor/solver.ts) on top of src/context and applyCopy: digests come from
 * the BuildContext (ignore rules + stat cache) for the context and from a plain walk for stage/image
 * roots; the selection a digest made is reused by the copy that follows, so both see the same files.
 */
import type { BuildContext } from "../../context/build-context.js";
import { digestSources, type SourcesDigest } from "../../context/digest.js";
import type { SelectedItem } from "../../context/select.js";
import type { CopyOp } from "../../graph/types.js";
import type { LayerEntry } from "../../image/layer/entry.js";
import type { CopySourceRoot, FileOps } from "../solver.js";
import { applyCopy } from "./apply-copy.js";
import type { FetchLike } from "./fetch-url.js";
import { copyToLayer } from "./layer-copy.js";

export interface FileOpsOptions {
  normalizePermissions?: boolean;
  /** Always copy into a directory (no `layer`); default: GANTRY_COPY_SCRATCH=1 in the environment. */
  scratchOnly?: boolean;
  fetch?: FetchLike;
  tempDir?: string;
}

export function createFileOps(context: BuildContext, options: FileOpsOptions = {}): FileOps {
  const selections = new WeakMap<CopyOp, { root: string; items: SelectedItem[] }>();
  const scratchOnly = options.scratchOnly ?? process.env.GANTRY_COPY_SCRATCH === "1";
  const sourceOf = (op: CopyOp, source: CopySourceRoot) => {
    const selected = selections.get(op);
    return {
      sourceRoot: source.isContext ? context.dir : source.root,
      ignore: source.isContext ? context.ignore : undefined,
      ignoreFile: source.isContext ? context.ignoreFile : undefined,
      // Only the context is normalised: files from stages and images keep the modes they were built with.
      normalizePermissions: source.isContext && options.normalizePermissions,
      selection: selected !== undefined && selected.root === source.root ? selected.items : undefined,
    };
  };
  return {
    async digest(op: CopyOp, source: CopySourceRoot) {
      const result: SourcesDigest = source.isContext
        ? await context.digestSources(op, { normalizePermissions: options.normalizePermissions })
        : await digestSources(op, source.root);
      selections.set(op, { root: source.root, items: result.items });
      const files: Record<string, string> = {};
      for (const file of result.files) files[file.path] = file.digest;
      return { digest: result.digest, files };
    },
    async apply(
      op: CopyOp,
      source: CopySourceRoot,
      targetRoot: string,
      userDbRoot: string,
      lowerRoot?: string,
    ) {
      await applyCopy(op, {
        ...sourceOf(op, source),
        targetRoot,
        lowerRoot,
        userDbRoot,
        link: op.link,
        fetch: options.fetch,
        tempDir: options.tempDir,
      });
    },
    async layer(op: CopyOp, source: CopySourceRoot, userDbRoot: string, lowerRoot?: string) {
      if (scratchOnly) return undefined;
      const entries = await copyToLayer(op, {
        ...sourceOf(op, source),
        lowerRoot,
        userDbRoot,
        link: op.link,
      });
      return entries === undefined ? undefined : listed(entries);
    },
  };
}

async function* listed(entries: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* entries;
}
