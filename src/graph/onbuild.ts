/**
 * ONBUILD triggers that run at the start of a stage: those stored in a base image's config.OnBuild (text,
 * parsed here with the frontend parser, one instruction each, located at the stage's FROM as BuildKit does)
 * and those declared with ONBUILD in a base stage of the same Dockerfile (already typed, located at their
 * own line). The triggers are consumed: the stage's config starts with OnBuild cleared.
 */
import { GantryError } from "../errors.js";
import type { DockerfileAst, Instruction, SourceRange } from "../frontend/ast.js";
import { buildInstruction } from "../frontend/ast-build.js";
import { type CompileContext, instructionErrorAt } from "./context.js";
import type { StageHead } from "./stages.js";

function isRange(v: unknown): v is SourceRange {
  const r = v as SourceRange;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.start?.line === "number" &&
    typeof r.end?.line === "number"
  );
}

/** Replaces every source range inside `node` with `range` (the trigger text has no place in the file). */
function relocateRanges<T>(node: T, range: SourceRange): T {
  if (Array.isArray(node)) return node.map((n) => relocateRanges(n, range)) as T;
  if (typeof node !== "object" || node === null) return node;
  if (isRange(node)) return { start: { ...range.start }, end: { ...range.end } } as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = relocateRanges(v, range);
  return out as T;
}

/** Parses the OnBuild entries of a base image into instructions located at the stage's FROM. */
export async function parseImageTriggers(
  ctx: CompileContext,
  triggers: readonly string[],
  imageRef: string,
  fromRange: SourceRange,
): Promise<Instruction[]> {
  if (triggers.length === 0) return [];
  // The parser (chevrotain) is loaded only when a base image has triggers: a cached build never needs it.
  const { parseDockerfile } = await import("../frontend/parse.js");
  return triggers.map((text) => {
    try {
      const raw = parseDockerfile(text, "ONBUILD");
      if (raw.instructions.length !== 1) throw new Error("onbuild trigger should be a single expression");
      const inst = buildInstruction({ src: { file: raw.file, lines: raw.lines } }, raw.instructions[0]!);
      if (inst.kind === "From") throw new Error("FROM isn't allowed as an ONBUILD trigger");
      return relocateRanges(inst, fromRange);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw instructionErrorAt(
        ctx,
        fromRange,
        `invalid ONBUILD trigger ${JSON.stringify(text)} in image ${imageRef}: ${message}`,
        err instanceof GantryError ? err.hint : undefined,
      );
    }
  });
}

/** The ONBUILD instructions of a base stage, as triggers for a stage built FROM it. */
export function stageTriggers(ast: DockerfileAst, head: StageHead): Instruction[] {
  if (head.base.kind !== "stage") return [];
  return ast.stages[head.base.index]!.instructions.flatMap((inst) =>
    inst.kind === "Onbuild" ? [inst.trigger] : [],
  );
}
