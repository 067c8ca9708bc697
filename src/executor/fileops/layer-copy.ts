/**
 * COPY/ADD straight into a layer's entry list, without copying a byte: the same placement rules as
 * applyCopy (apply-copy.ts + target-tree.ts, resolved against the read-only view of the layers below),
 * recorded by a LayerWriteRoot whose file entries read the sources themselves when the layer is written.
 * Only plain sources qualify — context or stage/image paths and heredocs; ADD of a local archive
 * (extracted) and of a URL (downloaded) are left to the directory path (`undefined`).
 */
import { realpath } from "node:fs/promises";
import type { CopyOp } from "../../graph/types.js";
import type { LayerEntry } from "../../image/layer/entry.js";
import { copySelection, type PlaceCopyInput, placeCopy } from "./apply-copy.js";
import { detectArchive } from "./archive.js";
import { LayerWriteRoot } from "./layer-root.js";
import { TargetTree } from "./target-tree.js";

export type LayerCopyInput = Omit<PlaceCopyInput, "fetch" | "tempDir">;

/** The layer `op` makes, in canonical order; undefined when the op needs the directory path. */
export async function copyToLayer(op: CopyOp, input: LayerCopyInput): Promise<LayerEntry[] | undefined> {
  if (op.sources.some((source) => source.kind !== "path" && source.kind !== "heredoc")) return undefined;
  const items = await copySelection(op, input);
  if (op.instruction === "ADD" && op.unpack !== false) {
    for (const item of items) {
      const top = item.entries[0];
      if (item.isDirectory || top?.info.type !== "file") continue;
      if ((await detectArchive(top.abs)) !== undefined) return undefined;
    }
  }
  const lowerRoot = input.lowerRoot === undefined ? undefined : await realpath(input.lowerRoot);
  const root = new LayerWriteRoot();
  await placeCopy(op, { ...input, selection: items }, new TargetTree(root, lowerRoot));
  return root.entries();
}
