/**
 * ARG and ENV scoping as BuildKit's dockerfile2llb does it. The global scope holds the predefined platform
 * args (overridable by build args) and the ARGs before the first FROM (a build arg replaces the default; a
 * default is expanded in the global scope so far); it is visible only to FROM. Inside a stage an ARG takes,
 * in order: the build arg, its own default (expanded in the stage's environment), the global value of the
 * same name. Declared values join the stage environment (used for expansion and RUN's env, not the image
 * config); ENV replaces a same-named value. Proxy build args reach RUN without a declaration, and nowhere else.
 */
import type { ArgInstruction, DockerfileAst } from "../frontend/ast.js";
import type { CompileContext, DeclaredArg, StageState } from "./context.js";
import { expandAt } from "./context.js";
import { platformArgs } from "./platform.js";
import type { CompileOptions } from "./types.js";

/** Proxy variables BuildKit passes to RUN from build args (case-insensitive), in its order. */
const PROXY_KEYS = ["http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"] as const;

/** Build args that are never reported as unused. */
function isBuiltinArg(name: string): boolean {
  return (
    (PROXY_KEYS as readonly string[]).includes(name.toLowerCase()) ||
    name.startsWith("BUILDKIT_") ||
    name === "SOURCE_DATE_EPOCH" ||
    /^(BUILD|TARGET)(PLATFORM|OS|OSVERSION|ARCH|VARIANT)$/.test(name) ||
    name === "TARGETSTAGE"
  );
}

/** The global scope: predefined args (a build arg of the same name wins), then the global ARGs in order. */
export function buildGlobalArgs(
  ctx: CompileContext,
  ast: DockerfileAst,
  options: CompileOptions,
  targetStageName: string,
): Map<string, string> {
  const scope = new Map<string, string>();
  for (const [key, value] of platformArgs(options.buildPlatform, options.platform, targetStageName)) {
    scope.set(key, Object.hasOwn(options.buildArgs, key) ? options.buildArgs[key]! : value);
  }
  for (const inst of ast.globalArgs) {
    for (const decl of inst.args) {
      const key = decl.name.value;
      ctx.declaredArgs.add(key);
      if (Object.hasOwn(options.buildArgs, key)) scope.set(key, options.buildArgs[key]!);
      else if (decl.defaultValue) {
        scope.set(key, expandAt(ctx, decl.defaultValue.value, decl.defaultValue.range, scope));
      }
    }
  }
  return scope;
}

/**
 * Dispatches one ARG instruction in a stage (BuildKit dispatchArg); returns the history text
 * (`ARG a=1 b`).
 */
export function declareStageArgs(ctx: CompileContext, stage: StageState, inst: ArgInstruction): string {
  const parts: string[] = [];
  const buildArgs = ctx.options.buildArgs;
  for (const decl of inst.args) {
    const key = decl.name.value;
    ctx.declaredArgs.add(key);
    let value: string | undefined;
    if (Object.hasOwn(buildArgs, key)) value = buildArgs[key]!;
    else if (decl.defaultValue)
      value = expandAt(ctx, decl.defaultValue.value, decl.defaultValue.range, stage.env);
    else value = ctx.globalArgs.get(key);
    if (value !== undefined) stage.env.set(key, value);
    stage.buildArgs.push(value === undefined ? { key } : { key, value });
    parts.push(value === undefined ? key : `${key}=${value}`);
  }
  return `ARG ${parts.join(" ")}`;
}

/**
 * The ARGs in scope with their effective values (an ENV of the same name wins), first declaration's
 * position, last declaration's value — what BuildKit prints before a RUN in history (`|2 A=1 B=2`).
 */
export function argsInScope(stage: StageState): Array<[string, string]> {
  const out = new Map<string, string>();
  for (const arg of stage.buildArgs as DeclaredArg[]) {
    out.set(arg.key, stage.env.get(arg.key) ?? arg.value ?? "");
  }
  return [...out];
}

/** `|N K=V … ` prefix of RUN's history entry ("" when no ARG is in scope). */
export function runArgsPrefix(stage: StageState): string {
  const args = argsInScope(stage);
  if (args.length === 0) return "";
  return `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(" ")} `;
}

/** `KEY=value` list of an environment map. */
export function envList(env: Map<string, string>): string[] {
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** Sets `key` in an image config Env list, replacing in place (BuildKit addEnv). */
export function setConfigEnv(list: string[] | undefined, key: string, value: string): string[] {
  const env = list ? [...list] : [];
  const i = env.findIndex((e) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  return env;
}

/** Parses an Env list into an ordered map (`K=V`; a bare `K` is K=""). */
export function envFromList(list: readonly string[] | undefined): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of list ?? []) {
    const eq = e.indexOf("=");
    env.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? "" : e.slice(eq + 1));
  }
  return env;
}

/** RUN's proxy variables from build args, both spellings (BuildKit's ProxyEnv), or undefined. */
export function proxyEnvFromBuildArgs(buildArgs: Record<string, string>): string[] | undefined {
  const values = new Map<string, string>();
  for (const key of Object.keys(buildArgs).sort()) {
    const lower = key.toLowerCase();
    if ((PROXY_KEYS as readonly string[]).includes(lower)) values.set(lower, buildArgs[key]!);
  }
  const out: string[] = [];
  for (const key of PROXY_KEYS) {
    const v = values.get(key);
    if (v !== undefined && v !== "") out.push(`${key.toUpperCase()}=${v}`, `${key}=${v}`);
  }
  return out.length > 0 ? out : undefined;
}

/** Build args given but declared nowhere that was compiled (proxies and BuildKit's own excepted), sorted. */
export function unusedBuildArgs(ctx: CompileContext): string[] {
  return Object.keys(ctx.options.buildArgs)
    .filter((k) => !ctx.declaredArgs.has(k) && !isBuiltinArg(k))
    .sort();
}
