/**
 * The instructions that only change the image config (and the stage's state): ENV, LABEL, USER, WORKDIR
 * (which also creates its directory), EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT,
 * MAINTAINER, ONBUILD and ARG, each as BuildKit's dispatch functions do it, with the same history text.
 */
import { posix } from "node:path";
import type {
  AstCommand,
  CmdInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  SourceRange,
  StopsignalInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from "../frontend/ast.js";
import type { ContainerConfig } from "../image/oci-types.js";
import {
  type CompileContext,
  expandAt,
  expandWordsAt,
  instructionErrorAt,
  type StageState,
} from "./context.js";
import { shellOf } from "./dispatch-run.js";
import { goDuration, goList, goQuotedList } from "./go-format.js";
import { setConfigEnv } from "./scope.js";

/** What a config instruction contributes to its step besides the config. */
export interface ConfigEffect {
  createdBy: string;
  emptyLayer: boolean;
  mkdir?: string;
  noHistory?: boolean;
}

const meta = (createdBy: string): ConfigEffect => ({ createdBy, emptyLayer: true });

export function dispatchEnv(ctx: CompileContext, stage: StageState, inst: EnvInstruction): ConfigEffect {
  // Every pair is expanded in the environment as it was before this instruction.
  const before = new Map(stage.env);
  const parts: string[] = [];
  for (const pair of inst.pairs) {
    const key = expandAt(ctx, pair.key.value, pair.key.range, before);
    const value = expandAt(ctx, pair.value.value, pair.value.range, before);
    stage.env.set(key, value);
    stage.config.Env = setConfigEnv(stage.config.Env, key, value);
    parts.push(`${key}=${value}`);
  }
  return meta(`ENV ${parts.join(" ")}`);
}

export function dispatchLabel(ctx: CompileContext, stage: StageState, inst: LabelInstruction): ConfigEffect {
  const labels = { ...(stage.config.Labels ?? {}) };
  const parts: string[] = [];
  for (const pair of inst.pairs) {
    const key = expandAt(ctx, pair.key.value, pair.key.range, stage.env);
    const value = expandAt(ctx, pair.value.value, pair.value.range, stage.env);
    labels[key] = value;
    parts.push(`${key}=${value}`);
  }
  stage.config.Labels = labels;
  return meta(`LABEL ${parts.join(" ")}`);
}

export function dispatchUser(stage: StageState, user: string): ConfigEffect {
  stage.config.User = user;
  stage.user = user;
  return meta(`USER ${user}`);
}

/** BuildKit's NormalizeWorkdir: relative to the config's WorkingDir, cleaned, absolute. */
export function normalizeWorkdir(current: string, requested: string): string {
  const joined = posix.isAbsolute(requested) ? requested : posix.join("/", current, requested);
  const clean = posix.normalize(joined);
  return clean.length > 1 ? clean.replace(/\/+$/, "") : clean;
}

export function dispatchWorkdir(
  ctx: CompileContext,
  stage: StageState,
  inst: WorkdirInstruction,
): ConfigEffect {
  const requested = expandAt(ctx, inst.path.value, inst.path.range, stage.env);
  if (requested === "")
    throw instructionErrorAt(ctx, inst.path.range, "cannot normalize nothing", "WORKDIR needs a path");
  const wd = normalizeWorkdir(stage.config.WorkingDir ?? "", requested);
  stage.config.WorkingDir = wd;
  stage.workdir = wd;
  if (wd === "/") return meta(`WORKDIR ${wd}`);
  return { createdBy: `WORKDIR ${wd}`, emptyLayer: false, mkdir: wd };
}

/** `[ip:][hostPort:]port[-end][/proto]` → `port/proto` keys, as BuildKit's parsePortSpec. */
function parsePortSpec(ctx: CompileContext, range: SourceRange, raw: string): string[] {
  const fail = (message: string): never =>
    throw_(instructionErrorAt(ctx, range, message, "write EXPOSE 80, 80/tcp, 53/udp or 8000-8010/tcp"));
  const parts = raw.split(":");
  const containerPart = parts[parts.length - 1]!;
  const hostPort = parts.length >= 2 ? parts[parts.length - 2]! : "";
  const slash = containerPart.indexOf("/");
  const port = slash < 0 ? containerPart : containerPart.slice(0, slash);
  const proto = (slash < 0 ? "" : containerPart.slice(slash + 1)).toLowerCase() || "tcp";
  if (port === "") fail(`no port specified: ${containerPart}<empty>`);
  if (!["tcp", "udp", "sctp"].includes(proto)) fail(`invalid proto: ${proto}`);
  const range_ = (text: string): [number, number] | undefined => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(text);
    if (!m) return undefined;
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > 65535 || end > 65535 || end < start) return undefined;
    return [start, end];
  };
  const ports = range_(port);
  if (!ports) fail(`invalid containerPort: ${port}`);
  if (hostPort !== "" && !range_(hostPort)) fail(`invalid hostPort: ${hostPort}`);
  const [start, end] = ports!;
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

function throw_(err: Error): never {
  throw err;
}

export function dispatchExpose(
  ctx: CompileContext,
  stage: StageState,
  inst: ExposeInstruction,
): ConfigEffect {
  const specs: string[] = [];
  for (const p of inst.ports) {
    for (const word of expandWordsAt(ctx, p.value, p.range, stage.env))
      specs.push(...parsePortSpec(ctx, p.range, word));
  }
  const exposed = { ...(stage.config.ExposedPorts ?? {}) };
  for (const s of specs) exposed[s] = {};
  stage.config.ExposedPorts = exposed;
  return meta(`EXPOSE ${goList(specs)}`);
}

export function dispatchVolume(
  ctx: CompileContext,
  stage: StageState,
  inst: VolumeInstruction,
): ConfigEffect {
  const volumes = { ...(stage.config.Volumes ?? {}) };
  const paths: string[] = [];
  for (const p of inst.paths) {
    const v = expandAt(ctx, p.value, p.range, stage.env);
    if (v === "") throw instructionErrorAt(ctx, p.range, "VOLUME specified can not be an empty string");
    volumes[v] = {};
    paths.push(v);
  }
  stage.config.Volumes = volumes;
  return meta(`VOLUME ${goList(paths)}`);
}

/** Linux signal names moby/sys/signal knows (without SIG). */
const SIGNALS = new Set(
  "ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX".split(
    " ",
  ),
);

function validSignal(raw: string): boolean {
  if (/^[0-9]+$/.test(raw)) return Number(raw) > 0 && Number(raw) <= 64;
  const name = raw.toUpperCase().replace(/^SIG/, "");
  if (SIGNALS.has(name)) return true;
  const rt = /^RTM(IN\+|AX-)([0-9]+)$/.exec(name);
  return rt !== null && Number(rt[2]) >= 1 && Number(rt[2]) <= 15;
}

export function dispatchStopsignal(
  ctx: CompileContext,
  stage: StageState,
  inst: StopsignalInstruction,
): ConfigEffect {
  const signal = expandAt(ctx, inst.signal.value, inst.signal.range, stage.env);
  if (!validSignal(signal)) {
    throw instructionErrorAt(
      ctx,
      inst.signal.range,
      `Invalid signal: ${signal}`,
      "use a signal name such as SIGTERM or a number",
    );
  }
  stage.config.StopSignal = signal;
  return meta(`STOPSIGNAL ${signal}`);
}

export function dispatchHealthcheck(stage: StageState, inst: HealthcheckInstruction): ConfigEffect {
  const check = inst.check;
  const ms = (v: number) => Math.round(v * 1e6);
  const hc: NonNullable<ContainerConfig["Healthcheck"]> =
    check.type === "none"
      ? { Test: ["NONE"] }
      : {
          Test:
            check.command.form === "exec"
              ? ["CMD", ...check.command.args.map((a) => a.value)]
              : ["CMD-SHELL", check.command.text],
        };
  const durations =
    check.type === "none"
      ? [0, 0, 0, 0]
      : [check.interval, check.timeout, check.startPeriod, check.startInterval].map(ms);
  const retries = check.type === "none" ? 0 : check.retries;
  const [interval, timeout, startPeriod, startInterval] = durations as [number, number, number, number];
  if (interval) hc.Interval = interval;
  if (timeout) hc.Timeout = timeout;
  if (startPeriod) hc.StartPeriod = startPeriod;
  if (startInterval) hc.StartInterval = startInterval;
  if (retries) hc.Retries = retries;
  stage.config.Healthcheck = hc;
  const text = `{Test:${goList(hc.Test!)} Interval:${goDuration(interval)} Timeout:${goDuration(timeout)} StartPeriod:${goDuration(startPeriod)} StartInterval:${goDuration(startInterval)} Retries:${retries}}`;
  return meta(`HEALTHCHECK ${text}`);
}

export function dispatchShell(stage: StageState, shell: string[]): ConfigEffect {
  stage.config.Shell = shell;
  return meta(`SHELL ${goList(shell)}`);
}

/** Exec form as written; shell form wrapped in the stage's SHELL. */
function commandArgs(stage: StageState, command: AstCommand): string[] {
  return command.form === "exec" ? command.args.map((a) => a.value) : [...shellOf(stage), command.text];
}

export function dispatchCmd(stage: StageState, inst: CmdInstruction): ConfigEffect {
  const args = commandArgs(stage, inst.command);
  stage.config.Cmd = args;
  stage.config.ArgsEscaped = true;
  stage.cmdSet = true;
  return meta(`CMD ${goQuotedList(args)}`);
}

/** ENTRYPOINT; a CMD inherited from the base (not set in this stage) is reset. */
export function dispatchEntrypoint(stage: StageState, inst: EntrypointInstruction): ConfigEffect {
  const args = commandArgs(stage, inst.command);
  stage.config.Entrypoint = args;
  if (!stage.cmdSet) delete stage.config.Cmd;
  return meta(`ENTRYPOINT ${goQuotedList(args)}`);
}

export function dispatchMaintainer(stage: StageState, maintainer: string): ConfigEffect {
  stage.author = maintainer;
  return meta(`MAINTAINER ${maintainer}`);
}

export function dispatchOnbuild(stage: StageState, expression: string): ConfigEffect {
  stage.config.OnBuild = [...(stage.config.OnBuild ?? []), expression];
  return { createdBy: `ONBUILD ${expression}`, emptyLayer: true, noHistory: true };
}
