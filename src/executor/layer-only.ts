/**
 * Which COPY/ADD steps may be written straight to a layer blob without ever landing on disk. That saves
 * writing files only if nothing later reads them as a filesystem: a direct layer that a later RUN (or
 * COPY, which resolves paths through the layers below) needs is unpacked from its blob again, which costs
 * more than writing the files in the first place. So a step qualifies when no later step of its stage
 * touches the filesystem and no other stage builds on, copies from or mounts its stage.
 */
import type { BuildGraph, Step } from "../graph/types.js";

/** Ids of the steps whose layer nothing in this build will read back as files. */
export function layerOnlySteps(graph: BuildGraph): Set<string> {
  const readByOthers = new Set<number>();
  for (const index of graph.order) {
    for (const dep of graph.stages[index]!.dependsOn) if (dep !== index) readByOthers.add(dep);
  }
  const ids = new Set<string>();
  for (const index of graph.order) {
    if (readByOthers.has(index)) continue;
    const steps = graph.stages[index]!.steps;
    // From the end: copies qualify until the first step that needs the filesystem below it.
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i]!;
      if (step.op.kind === "copy") ids.add(step.id);
      if (needsFilesystem(step)) break;
    }
  }
  return ids;
}

/** Does the step read the filesystem of the steps before it? */
function needsFilesystem(step: Step): boolean {
  switch (step.op.kind) {
    case "exec":
      return true;
    case "copy":
      // Without --link, the destination resolves through the layers below.
      return !step.op.link || step.op.chown !== undefined;
    default:
      return step.mkdir !== undefined;
  }
}
