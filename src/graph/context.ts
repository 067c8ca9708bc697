/**
 * The state the compiler threads through: `CompileContext` (options, source text for locations, the global
 * ARG scope, the stage table, the image resolution cache) and `StageState` (one stage being dispatched: its
 * config, ARG/ENV scope, working directory, user, steps). Also the two helpers every handler uses: locating
 * a source range and expanding a word with the Dockerfile's escape character, errors located at the word.
 */
import { ExpansionError, InstructionError, type SourceLocation } from "../errors.js";
import type { SourceRange } from "../frontend/ast.js";
import { expandWord, expandWords, type ShellLexOptions, type VarSource } from "../frontend/shell/index.js";
import { locationOf, type SourceText } from "../frontend/validate-location.js";
import type { ContainerConfig, Platform } from "../image/oci-types.js";
import type { CompileOptions, ResolvedImage, Step } from "./types.js";

/** A declared ARG of a stage, as BuildKit keeps them (d.buildArgs): value undefined when it has none. */
export interface DeclaredArg {
  key: string;
  value?: string;
}

export interface StageState {
  index: number;
  /** The stage name, or `stage-N` for an unnamed one (BuildKit's label). */
  label: string;
  platform: Platform;
  config: ContainerConfig;
  author?: string;
  /** The environment of the LLB state: image Env, then ENV and ARG values in order (replacing in place). */
  env: Map<string, string>;
  /** ARGs declared in this stage (and inherited from a base stage), in order. */
  buildArgs: DeclaredArg[];
  /** Working directory of the state (absolute); "/" when nothing set it. */
  workdir: string;
  user: string;
  /** CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  steps: Step[];
  /** Stages this one needs. */
  deps: Set<number>;
}

export interface CompileContext {
  src: SourceText;
  escape: "\\" | "`";
  options: CompileOptions;
  /** The global scope: predefined platform args, then global ARGs (build args applied). */
  globalArgs: Map<string, string>;
  /** Lower-cased stage names → index. */
  stageByName: Map<string, number>;
  stageLabels: string[];
  /** Every ARG name declared in the global scope or in a compiled stage (for unusedBuildArgs). */
  declaredArgs: Set<string>;
  /** Image resolution, cached per reference and platform; the error is raised at `range`. */
  resolve(ref: string, platform: Platform, range: SourceRange): Promise<ResolvedImage>;
}

export function locate(ctx: CompileContext, range: SourceRange): SourceLocation {
  return locationOf(ctx.src, range);
}

export function instructionErrorAt(
  ctx: CompileContext,
  range: SourceRange,
  message: string,
  hint?: string,
): InstructionError {
  return new InstructionError(message, { location: locate(ctx, range), hint });
}

/** Narrows `range` to the character at `offset` of `word` when the word is written as-is on one line. */
function pointAt(range: SourceRange, word: string, offset: number | undefined): SourceRange {
  const exact =
    range.start.line === range.end.line && range.end.column - range.start.column === Array.from(word).length;
  if (!exact || offset === undefined) return range;
  const column = range.start.column + Array.from(word.slice(0, offset)).length;
  return { start: { line: range.start.line, column }, end: { line: range.start.line, column: column + 1 } };
}

function relocate(ctx: CompileContext, err: unknown, word: string, range: SourceRange): unknown {
  if (!(err instanceof ExpansionError) || err.location) return err;
  return new ExpansionError(err.message, {
    location: locate(ctx, pointAt(range, word, err.offset)),
    hint: err.hint ?? `set the variable with ARG or ENV, or give it a default: \${name:-default}`,
    offset: err.offset,
    cause: err,
  });
}

/** BuildKit's ProcessWord in `env`, with the Dockerfile's escape character; errors located at `range`. */
export function expandAt(
  ctx: CompileContext,
  word: string,
  range: SourceRange,
  env: VarSource,
  opts: ShellLexOptions = {},
): string {
  try {
    return expandWord(word, env, { escape: ctx.escape, ...opts }).value;
  } catch (err) {
    throw relocate(ctx, err, word, range);
  }
}

/** BuildKit's ProcessWords (expansion, then splitting on unquoted spaces). */
export function expandWordsAt(
  ctx: CompileContext,
  word: string,
  range: SourceRange,
  env: VarSource,
): string[] {
  try {
    return expandWords(word, env, { escape: ctx.escape }).words;
  } catch (err) {
    throw relocate(ctx, err, word, range);
  }
}

/** The stage label used in messages: its name or `stage-N`. */
export function stageLabel(ctx: CompileContext, index: number): string {
  return ctx.stageLabels[index] ?? `stage-${index}`;
}

/** Deep copy of a container config (plain JSON data). */
export function cloneConfig(config: ContainerConfig): ContainerConfig {
  return structuredClone(config);
}
