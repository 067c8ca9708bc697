/**
 * Validation entry point: a Dockerfile is valid when its typed AST can be built (ast-build.ts applies
 * BuildKit's per-instruction rules and throws `InstructionError` at the offending flag or argument) and every
 * word the builder will expand is well-formed (`${a`, `${a:#x}` … → `ExpansionError` at that word).
 */
import { ExpansionError } from "../errors.js";
import type { DockerfileAst, Instruction, Located } from "./ast.js";
import { buildAst } from "./ast-build.js";
import { expandedWords } from "./expanded-words.js";
import type { RawDockerfile, SourceRange } from "./raw.js";
import { expandWord, expandWords } from "./shell/index.js";
import { instructionError, locationOf, type SourceText } from "./validate-location.js";

export { instructionError, locationOf, type SourceText } from "./validate-location.js";

/** Every name is set (to a non-empty value), so only syntax errors can be raised. */
const everythingSet = (): string => "x";

/** The words of `inst` (and of ONBUILD triggers) whose `${…}` syntax must be valid. */
function wordsToCheck(inst: Instruction): Array<{ word: Located; split: boolean }> {
  const out = expandedWords(inst).map((word) => ({ word, split: false }));
  if (inst.kind === "From") {
    out.push({ word: inst.image, split: false });
    if (inst.platform) out.push({ word: inst.platform, split: false });
  }
  if (inst.kind === "Arg")
    for (const d of inst.args) if (d.defaultValue) out.push({ word: d.defaultValue, split: false });
  if (inst.kind === "Expose") for (const p of inst.ports) out.push({ word: p, split: true });
  return out;
}

/** Narrows a range to the code point at `offset` of `word`, when the word is written as-is on one line. */
function pointAt(range: SourceRange, word: string, offset: number | undefined): SourceRange {
  const exact =
    range.start.line === range.end.line && range.end.column - range.start.column === Array.from(word).length;
  if (!exact || offset === undefined) return range;
  const cps = Array.from(word.slice(0, offset)).length;
  const column = range.start.column + cps;
  return { start: { line: range.start.line, column }, end: { line: range.start.line, column: column + 1 } };
}

/** Throws `ExpansionError` (located) for the first malformed expansion in a builder-expanded word. */
export function checkExpansions(src: SourceText, ast: DockerfileAst): void {
  const all: Instruction[] = [...ast.globalArgs, ...ast.stages.flatMap((s) => [s.from, ...s.instructions])];
  for (const inst of all) {
    for (const { word, split } of wordsToCheck(inst)) {
      try {
        if (split) expandWords(word.value, everythingSet, { escape: ast.escapeChar });
        else expandWord(word.value, everythingSet, { escape: ast.escapeChar });
      } catch (err) {
        if (!(err instanceof ExpansionError)) throw err;
        throw new ExpansionError(`failed to process ${JSON.stringify(word.value)}: ${err.message}`, {
          location: locationOf(src, pointAt(word.range, word.value, err.offset)),
          hint: err.hint ?? "check the braces of the variable reference; write \\$ for a literal dollar sign",
          offset: err.offset,
        });
      }
    }
  }
}

/**
 * `COPY --from` and `RUN --mount=from=` may only name (or index) a stage defined before the current one
 * (BuildKit: "cannot copy from stage …, it needs to be defined before current stage …").
 */
export function checkStageReferences(src: SourceText, ast: DockerfileAst): void {
  const stageLabel = (i: number) => ast.stages[i]!.name ?? `stage-${i}`;
  for (const stage of ast.stages) {
    const refs: Array<{ ref: Located; copy: boolean }> = [];
    for (const inst of stage.instructions) {
      if (inst.kind === "Copy" && inst.from) refs.push({ ref: inst.from, copy: true });
      if (inst.kind === "Run") {
        for (const m of inst.mounts)
          if (m.from !== undefined) refs.push({ ref: { value: m.from, range: m.range }, copy: false });
      }
    }
    for (const { ref, copy } of refs) {
      let target: number | undefined;
      if (/^[0-9]+$/.test(ref.value)) {
        target = Number(ref.value);
        if (target >= ast.stages.length) {
          throw instructionError(
            src,
            ref.range,
            `invalid stage index ${ref.value}`,
            `stages are numbered 0 to ${ast.stages.length - 1}`,
          );
        }
      } else {
        const i = ast.stages.findIndex((s) => s.name === ref.value.toLowerCase());
        target = i < 0 ? undefined : i;
      }
      if (target === undefined || target < stage.index) continue;
      const message = copy
        ? `cannot copy from stage ${JSON.stringify(stageLabel(target))}, it needs to be defined before current stage ${JSON.stringify(stageLabel(stage.index))}`
        : `cannot mount from stage ${JSON.stringify(stageLabel(target))} to ${JSON.stringify(stageLabel(stage.index))}, stage needs to be defined before current command`;
      throw instructionError(src, ref.range, message, "move that stage above this one");
    }
  }
}

/** Builds the typed AST and checks stage references and expansion syntax; throws the first error found. */
export function validateDockerfile(raw: RawDockerfile): DockerfileAst {
  const ast = buildAst(raw);
  checkStageReferences(raw, ast);
  checkExpansions(raw, ast);
  return ast;
}
