/**
 * `buildAst(raw)`: raw instruction tree → typed `DockerfileAst` (stages, global ARGs). Dispatches each raw
 * instruction to its builder by lower-cased keyword, handles FROM (argument count, `AS name`, stage-name
 * syntax, --platform) and ONBUILD (forbidden triggers, typed trigger), and reports unknown instructions with
 * a "did you mean" hint. Every problem is an `InstructionError` located at the offending flag or argument.
 */
import type {
  ArgInstruction,
  DockerfileAst,
  FromInstruction,
  Instruction,
  OnbuildInstruction,
  Stage,
} from "./ast.js";
import { buildCmd, buildEntrypoint, buildHealthcheck, buildRun, buildShell } from "./ast-commands.js";
import { argsRange, type BuildContext, baseFields, located } from "./ast-common.js";
import { buildAdd, buildCopy, buildUser, buildVolume, buildWorkdir } from "./ast-files.js";
import { parseFlags } from "./ast-flags.js";
import {
  buildArg,
  buildEnv,
  buildExpose,
  buildLabel,
  buildMaintainer,
  buildStopsignal,
} from "./ast-metadata.js";
import type { RawDockerfile, RawInstruction } from "./raw.js";
import { suggest } from "./suggest.js";
import { instructionError } from "./validate-location.js";

/** Every instruction keyword BuildKit knows, upper-case, in the order suggestions prefer them. */
export const INSTRUCTION_NAMES = [
  "FROM",
  "RUN",
  "COPY",
  "ADD",
  "CMD",
  "ENTRYPOINT",
  "ENV",
  "ARG",
  "WORKDIR",
  "USER",
  "EXPOSE",
  "LABEL",
  "VOLUME",
  "SHELL",
  "HEALTHCHECK",
  "ONBUILD",
  "STOPSIGNAL",
  "MAINTAINER",
] as const;

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function buildFrom(ctx: BuildContext, inst: RawInstruction): FromInstruction {
  const args = inst.args;
  const hasName = args.length === 3 && args[1]!.value.toLowerCase() === "as";
  if (!hasName && args.length !== 1) {
    const range = args.length === 0 ? inst.keywordRange : argsRange(inst, args.length > 3 ? 3 : 1);
    const hint =
      args.length === 2 || (args.length === 3 && !hasName)
        ? "write FROM <image> AS <name>"
        : args.length > 3
          ? "a stage name cannot contain spaces"
          : "write FROM <image> [AS <name>]";
    throw instructionError(ctx.src, range, "FROM requires either one or three arguments", hint);
  }
  let stageName: FromInstruction["stageName"];
  if (hasName) {
    const nameArg = args[2]!;
    const lower = nameArg.value.toLowerCase();
    if (!VALID_STAGE_NAME.test(lower)) {
      throw instructionError(
        ctx.src,
        nameArg.range,
        `invalid name for build stage: "${nameArg.value}", name can't start with a number or contain symbols`,
        "stage names match [a-z][a-z0-9-_.]*",
      );
    }
    stageName = { value: lower, range: nameArg.range };
  }
  const flags = parseFlags(ctx.src, inst, { platform: "string" });
  return {
    kind: "From",
    ...baseFields(inst),
    image: located(args[0]!),
    platform: flags.string("platform"),
    stageName,
    stageNameAsWritten: hasName ? args[2]!.value : undefined,
    asKeyword: hasName ? located(args[1]!) : undefined,
  };
}

function buildOnbuild(ctx: BuildContext, inst: RawInstruction): OnbuildInstruction {
  const sub = inst.sub;
  if (!sub) throw instructionError(ctx.src, inst.keywordRange, "ONBUILD requires at least one argument");
  parseFlags(ctx.src, inst, {});
  const trigger = sub.keyword.toUpperCase();
  if (trigger === "ONBUILD") {
    throw instructionError(ctx.src, sub.keywordRange, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  if (trigger === "MAINTAINER" || trigger === "FROM") {
    throw instructionError(ctx.src, sub.keywordRange, `${trigger} isn't allowed as an ONBUILD trigger`);
  }
  const expression = inst.original.replace(/^\s*ONBUILD\s*/i, "");
  return { kind: "Onbuild", ...baseFields(inst), trigger: buildInstruction(ctx, sub), expression };
}

type Builder = (ctx: BuildContext, inst: RawInstruction) => Instruction;

const BUILDERS: Record<string, Builder> = {
  from: buildFrom,
  run: buildRun,
  cmd: buildCmd,
  entrypoint: buildEntrypoint,
  shell: buildShell,
  label: buildLabel,
  maintainer: buildMaintainer,
  expose: buildExpose,
  env: buildEnv,
  add: buildAdd,
  copy: buildCopy,
  volume: buildVolume,
  user: buildUser,
  workdir: buildWorkdir,
  arg: buildArg,
  onbuild: buildOnbuild,
  stopsignal: buildStopsignal,
  healthcheck: buildHealthcheck,
};

/** The instruction closest to a misspelt keyword (`RUNN` → `RUN`), if any. */
export function suggestInstruction(keyword: string): string | undefined {
  return suggest(keyword.toUpperCase(), INSTRUCTION_NAMES, true);
}

/** Builds (and validates) one instruction. */
export function buildInstruction(ctx: BuildContext, inst: RawInstruction): Instruction {
  const builder = BUILDERS[inst.keyword.toLowerCase()];
  if (!builder) {
    const close = suggestInstruction(inst.keyword);
    throw instructionError(
      ctx.src,
      inst.keywordRange,
      `unknown instruction: ${inst.keyword}`,
      close ? `did you mean ${close}?` : undefined,
    );
  }
  return builder(ctx, inst);
}

/** Raw tree → typed AST. Throws `InstructionError` (with location and hint) for the first invalid instruction. */
export function buildAst(raw: RawDockerfile): DockerfileAst {
  const ctx: BuildContext = { src: { file: raw.file, lines: raw.lines } };
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const rawInst of raw.instructions) {
    const inst = buildInstruction(ctx, rawInst);
    if (inst.kind === "From") {
      stages.push({ index: stages.length, from: inst, name: inst.stageName?.value, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage) {
      stage.instructions.push(inst);
    } else if (inst.kind === "Arg") {
      globalArgs.push(inst);
    } else {
      throw instructionError(
        ctx.src,
        inst.keywordRange,
        "no build stage in current context",
        "only ARG may come before the first FROM",
      );
    }
  }
  if (stages.length === 0 && raw.instructions.length > 0) {
    const last = raw.instructions[raw.instructions.length - 1]!;
    throw instructionError(
      ctx.src,
      last.keywordRange,
      "dockerfile contains no stages to build",
      "add a FROM instruction",
    );
  }
  return {
    file: raw.file,
    escapeChar: raw.escapeChar,
    directives: raw.directives.map((d) => ({ name: d.name, value: d.value, range: d.range })),
    globalArgs,
    stages,
  };
}

/** Every instruction of the AST in file order (global ARGs, then each stage's FROM and instructions). */
export function allInstructions(ast: DockerfileAst): Instruction[] {
  const out: Instruction[] = [...ast.globalArgs];
  for (const stage of ast.stages) out.push(stage.from, ...stage.instructions);
  return out.sort(
    (a, b) => a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column,
  );
}
