/**
 * Helpers shared by the per-instruction AST builders: the fields every instruction has, argument-count
 * checks with BuildKit's messages, ranges spanning several args, the command (exec/shell + heredocs) of
 * RUN/CMD/ENTRYPOINT/HEALTHCHECK, and heredoc markers in COPY/ADD arguments.
 */
import type { AstCommand, AstFlag, AstHeredoc, Located } from "./ast.js";
import type { RawArg, RawHeredoc, RawInstruction, SourceRange } from "./raw.js";
import { instructionError, type SourceText } from "./validate-location.js";

/** Everything an instruction builder needs besides the instruction. */
export interface BuildContext {
  src: SourceText;
}

export interface BaseFields {
  keyword: string;
  keywordRange: SourceRange;
  range: SourceRange;
  flags: AstFlag[];
  original: string;
  comments: string[];
}

export function baseFields(inst: RawInstruction): BaseFields {
  return {
    keyword: inst.keyword,
    keywordRange: inst.keywordRange,
    range: inst.range,
    flags: inst.flags.map((f) =>
      f.value === undefined
        ? { name: f.name, range: f.range }
        : { name: f.name, value: f.value, range: f.range },
    ),
    original: inst.original,
    comments: inst.comments,
  };
}

export function located(arg: RawArg): Located {
  return { value: arg.value, range: arg.range };
}

/** The range from the start of `first` to the end of `last`. */
export function spanRange(first: SourceRange, last: SourceRange): SourceRange {
  return { start: first.start, end: last.end };
}

/** The range covering args[from..] (or the keyword when there are none). */
export function argsRange(inst: RawInstruction, from = 0): SourceRange {
  const args = inst.args.slice(from);
  if (args.length === 0) return inst.keywordRange;
  return spanRange(args[0]!.range, args[args.length - 1]!.range);
}

export function upper(inst: RawInstruction): string {
  return inst.keyword.toUpperCase();
}

export function requireAtLeastOne(ctx: BuildContext, inst: RawInstruction): void {
  if (inst.args.length === 0 && !inst.sub) {
    throw instructionError(ctx.src, inst.keywordRange, `${upper(inst)} requires at least one argument`);
  }
}

export function requireExactlyOne(ctx: BuildContext, inst: RawInstruction, hint?: string): RawArg {
  if (inst.args.length !== 1) {
    const range = inst.args.length === 0 ? inst.keywordRange : argsRange(inst, 1);
    throw instructionError(ctx.src, range, `${upper(inst)} requires exactly one argument`, hint);
  }
  return inst.args[0]!;
}

export function toHeredoc(h: RawHeredoc): AstHeredoc {
  return {
    name: h.name,
    fileDescriptor: h.fileDescriptor,
    chomp: h.chomp,
    expand: h.expand,
    content: h.content,
    range: h.range,
  };
}

/** The command made of `args` (exec form when the instruction was JSON, else one shell-form string). */
export function buildCommand(inst: RawInstruction, args: RawArg[]): AstCommand {
  const heredocs = inst.heredocs.map(toHeredoc);
  const range = args.length > 0 ? spanRange(args[0]!.range, args[args.length - 1]!.range) : inst.range;
  if (inst.json) return { form: "exec", args: args.map(located), heredocs, range };
  return { form: "shell", text: args.map((a) => a.value).join(" "), heredocs, range };
}

const HEREDOC_WORD = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/** The delimiter named by a `<<EOF` / `<<-"EOF"` word, or undefined when the word is not a heredoc marker. */
export function heredocMarkerName(word: string): string | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m?.[3]) return undefined;
  let name = m[3];
  if (name.length >= 2 && (name[0] === '"' || name[0] === "'") && name[name.length - 1] === name[0]) {
    name = name.slice(1, -1);
  }
  return name.replace(/\\(.)/g, "$1");
}
