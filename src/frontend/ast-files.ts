/**
 * AST builders for the instructions that touch the filesystem: COPY and ADD (flags, sources incl. heredoc
 * files, destination), VOLUME, WORKDIR and USER, with BuildKit's argument and flag checks.
 */
import type {
  AddInstruction,
  CopyInstruction,
  CopySource,
  Located,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from "./ast.js";
import {
  type BuildContext,
  baseFields,
  heredocMarkerName,
  located,
  requireAtLeastOne,
  requireExactlyOne,
  toHeredoc,
  upper,
} from "./ast-common.js";
import { type ParsedFlags, parseFlags } from "./ast-flags.js";
import type { RawInstruction } from "./raw.js";
import { instructionError } from "./validate-location.js";

/** COPY/ADD need at least one source and a destination; checked before flags, as in BuildKit. */
function requireSourceAndDest(ctx: BuildContext, inst: RawInstruction): void {
  const name = upper(inst);
  if (inst.args.length < 2) {
    throw instructionError(
      ctx.src,
      inst.args[0]?.range ?? inst.keywordRange,
      `${name} requires at least two arguments, but only one was provided. Destination could not be determined`,
      `write ${name} <src>... <dest>`,
    );
  }
}

/** The fields COPY and ADD share: sources, destination and the common flags (arg count already checked). */
function copyLikeFields(ctx: BuildContext, inst: RawInstruction, flags: ParsedFlags) {
  const name = upper(inst);
  const destArg = inst.args[inst.args.length - 1]!;
  if (!inst.json && heredocMarkerName(destArg.value) !== undefined) {
    throw instructionError(ctx.src, destArg.range, `${name} cannot accept a heredoc as a destination`);
  }
  const heredocs = inst.heredocs.map(toHeredoc);
  const sources: CopySource[] = inst.args.slice(0, -1).map((arg) => {
    const marker = inst.json ? undefined : heredocMarkerName(arg.value);
    const heredoc = marker === undefined ? undefined : heredocs.find((h) => h.name === marker);
    return heredoc ? { type: "heredoc", heredoc, range: arg.range } : { type: "path", path: located(arg) };
  });
  return {
    chown: flags.string("chown"),
    chmod: flags.string("chmod"),
    link: flags.bool("link") ?? false,
    excludes: flags.strings("exclude"),
    sources,
    dest: located(destArg),
    heredocs,
    json: inst.json,
  };
}

export function buildCopy(ctx: BuildContext, inst: RawInstruction): CopyInstruction {
  requireSourceAndDest(ctx, inst);
  const flags = parseFlags(ctx.src, inst, {
    from: "string",
    chown: "string",
    chmod: "string",
    link: "bool",
    parents: "bool",
    exclude: "strings",
  });
  const fields = copyLikeFields(ctx, inst, flags);
  const from: Located | undefined = flags.string("from");
  if (from && /\$./.test(from.value)) {
    throw instructionError(
      ctx.src,
      from.range,
      "'--from' doesn't support variable expansion, define alias stage instead",
      "add a stage `FROM $IMAGE AS src` and use COPY --from=src",
    );
  }
  return { kind: "Copy", ...baseFields(inst), ...fields, from, parents: flags.bool("parents") ?? false };
}

export function buildAdd(ctx: BuildContext, inst: RawInstruction): AddInstruction {
  requireSourceAndDest(ctx, inst);
  const flags = parseFlags(ctx.src, inst, {
    chown: "string",
    chmod: "string",
    link: "bool",
    "keep-git-dir": "bool",
    checksum: "string",
    unpack: "bool",
    exclude: "strings",
  });
  const fields = copyLikeFields(ctx, inst, flags);
  return {
    kind: "Add",
    ...baseFields(inst),
    ...fields,
    keepGitDir: flags.bool("keep-git-dir") ?? false,
    checksum: flags.string("checksum"),
    unpack: flags.bool("unpack"),
  };
}

export function buildVolume(ctx: BuildContext, inst: RawInstruction): VolumeInstruction {
  requireAtLeastOne(ctx, inst);
  parseFlags(ctx.src, inst, {});
  const paths = inst.args.map((arg) => {
    if (arg.value.trim() === "") {
      throw instructionError(ctx.src, arg.range, "VOLUME specified can not be an empty string");
    }
    return { value: arg.value.trim(), range: arg.range };
  });
  return { kind: "Volume", ...baseFields(inst), paths };
}

export function buildWorkdir(ctx: BuildContext, inst: RawInstruction): WorkdirInstruction {
  const arg = requireExactlyOne(ctx, inst, "write WORKDIR /path");
  parseFlags(ctx.src, inst, {});
  return { kind: "Workdir", ...baseFields(inst), path: located(arg) };
}

export function buildUser(ctx: BuildContext, inst: RawInstruction): UserInstruction {
  const arg = requireExactlyOne(ctx, inst, "write USER <user>[:<group>]");
  parseFlags(ctx.src, inst, {});
  return { kind: "User", ...baseFields(inst), user: located(arg) };
}
