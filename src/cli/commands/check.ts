/**
 * `gantry check FILE [--context DIR] [--format text|json]`: parses and validates a Dockerfile (`-` reads
 * standard input), then runs the lint rules under its `# check=` directive. Text output is one compiler-style
 * diagnostic per finding (`file:line:col: Rule: message`, the line, a caret, a hint) and a summary; JSON is
 * an object with a stable `findings` array. Exit 0 with warnings only, 1 on parse/validation errors or when
 * `error=true` findings exist, 2 on usage errors.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { GantryError, type SourceLocation, UsageError } from "../../errors.js";
import { loadDockerignore } from "../../frontend/dockerignore.js";
import { type LintFinding, lintDockerfile } from "../../frontend/lint/index.js";
import { parseDockerfile } from "../../frontend/parse.js";
import type { RawDockerfile } from "../../frontend/raw.js";
import { validateDockerfile } from "../../frontend/validate.js";
import { locationOf } from "../../frontend/validate-location.js";
import { formatDiagnostic } from "../../util/source-display.js";
import { parseFormat, printJson } from "../global-options.js";

interface CheckOptions {
  context?: string;
  format?: string;
}

/** One finding as `--format json` prints it; field names are stable. */
export interface CheckFindingJson {
  rule: string;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
  severity: "warning" | "error";
  url?: string;
  suggestion?: string;
  hint?: string;
}

async function readSource(file: string): Promise<Uint8Array> {
  try {
    if (file === "-") {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }
    return await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot read ${file}: ${e.code ?? e.message}`, {
      hint: "pass the path of a Dockerfile, or - to read standard input",
    });
  }
}

function findingHint(f: LintFinding): string | undefined {
  const parts: string[] = [];
  if (f.suggestion !== undefined && !f.message.includes("did you mean"))
    parts.push(`did you mean ${f.suggestion}?`);
  if (f.hint) parts.push(f.hint);
  return parts.length > 0 ? parts.join("\n  hint: ") : undefined;
}

function findingJson(raw: RawDockerfile, f: LintFinding): CheckFindingJson {
  const loc: SourceLocation = locationOf(raw, f.range);
  const out: CheckFindingJson = {
    rule: f.rule,
    message: f.message,
    file: loc.file,
    line: f.range.start.line,
    column: f.range.start.column,
    endLine: f.range.end.line,
    endColumn: f.range.end.column,
    severity: f.severity,
  };
  if (f.url) out.url = f.url;
  if (f.suggestion !== undefined) out.suggestion = f.suggestion;
  if (f.hint) out.hint = f.hint;
  return out;
}

function errorJson(err: GantryError): Record<string, unknown> {
  const loc = err.location;
  return {
    code: err.code,
    message: err.message,
    ...(loc ? { file: loc.file, line: loc.line, column: loc.column, endColumn: loc.endColumn } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function runCheck(file: string, opts: CheckOptions): Promise<void> {
  const format = parseFormat(opts.format);
  const display = file === "-" ? "<stdin>" : file;
  let raw: RawDockerfile;
  let findings: LintFinding[];
  let failed: boolean;
  try {
    raw = parseDockerfile(await readSource(file), file);
    const ast = validateDockerfile(raw);
    const contextDir = opts.context ?? (file === "-" ? "." : path.dirname(file));
    const dockerfileInContext = file === "-" ? "-" : path.relative(contextDir, file);
    const { matcher } = await loadDockerignore(contextDir, dockerfileInContext);
    ({ findings, failed } = lintDockerfile(raw, ast, { ignore: matcher }));
  } catch (err) {
    if (format !== "json" || !(err instanceof GantryError)) throw err;
    printJson({ file: display, ok: false, error: errorJson(err), findings: [] });
    process.exitCode = 1;
    return;
  }
  if (format === "json") {
    printJson({ file: display, ok: !failed, findings: findings.map((f) => findingJson(raw, f)) });
  } else {
    for (const f of findings) {
      process.stdout.write(
        `${formatDiagnostic(f.rule, f.message, locationOf(raw, f.range), findingHint(f))}\n`,
      );
    }
    const kind = failed ? "error" : "warning";
    const summary =
      findings.length === 0
        ? `${display}: no problems found`
        : `${display}: ${plural(findings.length, kind)}${failed ? " (check=error=true)" : ""}`;
    process.stdout.write(`${summary}\n`);
  }
  if (failed) process.exitCode = 1;
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate a Dockerfile and run lint checks (honours # check=skip=…;error=…;experimental=…)")
    .argument("<file>", "the Dockerfile, or - for standard input")
    .option(
      "--context <dir>",
      "build context, for .dockerignore checks (default: the Dockerfile's directory)",
    )
    .option("--format <format>", "text or json", "text")
    .action(async (file: string, opts: CheckOptions) => {
      await runCheck(file, opts);
    });
}
