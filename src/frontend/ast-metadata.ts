/**
 * AST builders for the instructions that only change image metadata or build state: ENV, LABEL (key/value
 * pairs, legacy `key value` form), MAINTAINER, EXPOSE, STOPSIGNAL and ARG, with BuildKit's checks.
 */
import type {
  ArgDeclaration,
  ArgInstruction,
  EnvInstruction,
  ExposeInstruction,
  KeyValuePair,
  LabelInstruction,
  MaintainerInstruction,
  StopsignalInstruction,
} from "./ast.js";
import {
  type BuildContext,
  baseFields,
  located,
  requireAtLeastOne,
  requireExactlyOne,
  spanRange,
  upper,
} from "./ast-common.js";
import { parseFlags } from "./ast-flags.js";
import type { RawInstruction } from "./raw.js";
import { instructionError } from "./validate-location.js";

/** ENV/LABEL args come in (key, value, delimiter) triples; delimiter "" marks the legacy form. */
function keyValuePairs(ctx: BuildContext, inst: RawInstruction): KeyValuePair[] {
  requireAtLeastOne(ctx, inst);
  if (inst.args.length % 3 !== 0) {
    throw instructionError(ctx.src, inst.range, `Bad input to ${upper(inst)}, too many arguments`);
  }
  const pairs: KeyValuePair[] = [];
  for (let i = 0; i < inst.args.length; i += 3) {
    const key = inst.args[i]!;
    const value = inst.args[i + 1]!;
    const delim = inst.args[i + 2]!;
    if (key.value === "") {
      throw instructionError(
        ctx.src,
        spanRange(key.range, value.range),
        `${upper(inst)} names can not be blank`,
      );
    }
    pairs.push({
      key: located(key),
      value: located(value),
      legacy: delim.value === "",
      range: spanRange(key.range, value.range),
    });
  }
  return pairs;
}

export function buildEnv(ctx: BuildContext, inst: RawInstruction): EnvInstruction {
  parseFlags(ctx.src, inst, {});
  return { kind: "Env", ...baseFields(inst), pairs: keyValuePairs(ctx, inst) };
}

export function buildLabel(ctx: BuildContext, inst: RawInstruction): LabelInstruction {
  parseFlags(ctx.src, inst, {});
  return { kind: "Label", ...baseFields(inst), pairs: keyValuePairs(ctx, inst) };
}

export function buildMaintainer(ctx: BuildContext, inst: RawInstruction): MaintainerInstruction {
  const arg = requireExactlyOne(ctx, inst);
  parseFlags(ctx.src, inst, {});
  return { kind: "Maintainer", ...baseFields(inst), maintainer: located(arg) };
}

export function buildExpose(ctx: BuildContext, inst: RawInstruction): ExposeInstruction {
  requireAtLeastOne(ctx, inst);
  parseFlags(ctx.src, inst, {});
  return { kind: "Expose", ...baseFields(inst), ports: inst.args.map(located) };
}

/** STOPSIGNAL: exactly one argument; flags are not parsed (as in BuildKit). */
export function buildStopsignal(ctx: BuildContext, inst: RawInstruction): StopsignalInstruction {
  const arg = requireExactlyOne(ctx, inst, "write STOPSIGNAL <signal>, e.g. SIGTERM");
  return { kind: "Stopsignal", ...baseFields(inst), signal: located(arg) };
}

/** ARG: one or more `name[=default]`; flags are not parsed (as in BuildKit). */
export function buildArg(ctx: BuildContext, inst: RawInstruction): ArgInstruction {
  requireAtLeastOne(ctx, inst);
  const args: ArgDeclaration[] = inst.args.map((arg) => {
    const eq = arg.value.indexOf("=");
    if (eq < 0) return { name: located(arg), range: arg.range };
    if (eq === 0) throw instructionError(ctx.src, arg.range, "ARG names can not be blank");
    const r = arg.range;
    const exact =
      r.start.line === r.end.line && r.end.column - r.start.column === Array.from(arg.value).length;
    const nameLen = Array.from(arg.value.slice(0, eq)).length;
    const nameRange = exact
      ? { start: r.start, end: { line: r.start.line, column: r.start.column + nameLen } }
      : r;
    const valueRange = exact
      ? { start: { line: r.start.line, column: r.start.column + nameLen + 1 }, end: r.end }
      : r;
    return {
      name: { value: arg.value.slice(0, eq), range: nameRange },
      defaultValue: { value: arg.value.slice(eq + 1), range: valueRange },
      range: r,
    };
  });
  return { kind: "Arg", ...baseFields(inst), args };
}
