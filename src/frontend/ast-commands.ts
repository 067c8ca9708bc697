/**
 * AST builders for the instructions that carry a command or a program: RUN (mounts, network, security,
 * devices), CMD, ENTRYPOINT, SHELL and HEALTHCHECK (durations, retries, NONE/CMD), with BuildKit's checks.
 */
import type {
  CmdInstruction,
  EntrypointInstruction,
  HealthcheckInstruction,
  Located,
  RunInstruction,
  ShellInstruction,
} from "./ast.js";
import {
  argsRange,
  type BuildContext,
  baseFields,
  buildCommand,
  located,
  requireAtLeastOne,
} from "./ast-common.js";
import { parseGoDuration } from "./ast-duration.js";
import { parseFlags } from "./ast-flags.js";
import { parseMount } from "./ast-mounts.js";
import type { RawInstruction } from "./raw.js";
import { suggest } from "./suggest.js";
import { instructionError } from "./validate-location.js";

const NETWORK_MODES = ["default", "none", "host"] as const;
const SECURITY_MODES = ["sandbox", "insecure"] as const;

function oneOf<T extends string>(
  ctx: BuildContext,
  flag: Located | undefined,
  allowed: readonly T[],
  what: string,
): Located<T> | undefined {
  if (!flag) return undefined;
  if (!(allowed as readonly string[]).includes(flag.value)) {
    const close = suggest(flag.value, allowed, true);
    throw instructionError(
      ctx.src,
      flag.range,
      `unsupported ${what} mode "${flag.value}"`,
      close ? `did you mean ${close}?` : `use one of: ${allowed.join(", ")}`,
    );
  }
  return { value: flag.value as T, range: flag.range };
}

export function buildRun(ctx: BuildContext, inst: RawInstruction): RunInstruction {
  const flags = parseFlags(ctx.src, inst, {
    mount: "strings",
    network: "string",
    security: "string",
    device: "strings",
  });
  const mounts = flags.strings("mount").map((spec) => parseMount(ctx.src, spec));
  const network = oneOf(ctx, flags.string("network"), NETWORK_MODES, "network");
  const security = oneOf(ctx, flags.string("security"), SECURITY_MODES, "security");
  return {
    kind: "Run",
    ...baseFields(inst),
    mounts,
    network,
    security,
    devices: flags.strings("device"),
    command: buildCommand(inst, inst.args),
  };
}

export function buildCmd(ctx: BuildContext, inst: RawInstruction): CmdInstruction {
  parseFlags(ctx.src, inst, {});
  return { kind: "Cmd", ...baseFields(inst), command: buildCommand(inst, inst.args) };
}

export function buildEntrypoint(ctx: BuildContext, inst: RawInstruction): EntrypointInstruction {
  parseFlags(ctx.src, inst, {});
  return { kind: "Entrypoint", ...baseFields(inst), command: buildCommand(inst, inst.args) };
}

export function buildShell(ctx: BuildContext, inst: RawInstruction): ShellInstruction {
  parseFlags(ctx.src, inst, {});
  requireAtLeastOne(ctx, inst);
  if (!inst.json) {
    const singleQuoted = /^\s*\[.*'/.test(inst.args[0]?.value ?? "");
    throw instructionError(
      ctx.src,
      argsRange(inst),
      "SHELL requires the arguments to be in JSON form",
      singleQuoted
        ? 'JSON arrays need double quotes: SHELL ["/bin/sh", "-c"]'
        : 'write it as a JSON array, e.g. SHELL ["/bin/bash", "-c"]',
    );
  }
  return { kind: "Shell", ...baseFields(inst), shell: inst.args.map(located) };
}

/** A duration flag in milliseconds (0 when absent or 0); below 1ms is an error, as in BuildKit. */
function durationFlag(ctx: BuildContext, flag: Located | undefined, name: string): number {
  if (!flag) return 0;
  const ns = parseGoDuration(flag.value);
  if (typeof ns !== "number") {
    throw instructionError(ctx.src, flag.range, ns.error, "use a Go duration such as 30s, 1m30s or 500ms");
  }
  if (ns === 0) return 0;
  if (ns < 1e6) {
    throw instructionError(
      ctx.src,
      flag.range,
      `Interval "${name}" cannot be less than 1ms`,
      "use 0 or at least 1ms",
    );
  }
  return ns / 1e6;
}

export function buildHealthcheck(ctx: BuildContext, inst: RawInstruction): HealthcheckInstruction {
  requireAtLeastOne(ctx, inst);
  const [typeArg, ...rest] = inst.args;
  const type = typeArg!.value.toUpperCase();
  if (type === "NONE") {
    if (rest.length > 0) {
      throw instructionError(ctx.src, argsRange(inst, 1), "HEALTHCHECK NONE takes no arguments");
    }
    return { kind: "Healthcheck", ...baseFields(inst), check: { type: "none" } };
  }
  const flags = parseFlags(ctx.src, inst, {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  });
  if (type !== "CMD") {
    throw instructionError(
      ctx.src,
      typeArg!.range,
      `Unknown type "${type}" in HEALTHCHECK (try CMD)`,
      "use HEALTHCHECK [options] CMD command, or HEALTHCHECK NONE",
    );
  }
  const command = buildCommand(inst, rest);
  if (rest.length === 0 || (command.form === "shell" && command.text.trim() === "")) {
    throw instructionError(ctx.src, typeArg!.range, "Missing command after HEALTHCHECK CMD");
  }
  let retries = 0;
  const retriesFlag = flags.string("retries");
  if (retriesFlag) {
    if (!/^[+-]?[0-9]+$/.test(retriesFlag.value) || Math.abs(Number(retriesFlag.value)) > 2 ** 31 - 1) {
      throw instructionError(
        ctx.src,
        retriesFlag.range,
        `invalid value for --retries: "${retriesFlag.value}"`,
        "use a whole number, e.g. --retries=3",
      );
    }
    retries = Number(retriesFlag.value);
    if (retries < 0) {
      throw instructionError(ctx.src, retriesFlag.range, `--retries cannot be negative (${retries})`);
    }
  }
  return {
    kind: "Healthcheck",
    ...baseFields(inst),
    check: {
      type: "cmd",
      interval: durationFlag(ctx, flags.string("interval"), "interval"),
      timeout: durationFlag(ctx, flags.string("timeout"), "timeout"),
      startPeriod: durationFlag(ctx, flags.string("start-period"), "start-period"),
      startInterval: durationFlag(ctx, flags.string("start-interval"), "start-interval"),
      retries,
      command,
    },
  };
}
