/**
 * `.dockerignore` with Docker's semantics (moby/patternmatcher and its ignorefile reader), not gitignore's:
 * a line starting with `#` is a comment, surrounding whitespace is trimmed, patterns are cleaned like Go's
 * filepath.Clean and lose a leading `/`, `!` marks an exception, and the LAST pattern that matches a path or
 * one of its parent directories decides (evaluated level by level as BuildKit's context walker does).
 * This module owns reading the file (and the `<Dockerfile>.dockerignore` precedence rule) and the matcher
 * the context walker uses, including the check that tells a walker whether it may skip an excluded
 * directory. Pattern syntax and matching live in ./glob.ts.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { GantryError } from "../errors.js";
import { cleanPath, PathPattern, PathPatternSyntaxError } from "./glob.js";
import { isSpace } from "./shell/chars.js";

export interface IgnorePattern {
  /** The cleaned pattern, without the leading `!`. */
  pattern: string;
  /** True for `!pattern` (re-includes what earlier patterns excluded). */
  exclusion: boolean;
  /** Where the pattern came from (1-based), when read from a file. */
  file?: string;
  line?: number;
  column?: number;
}

const BOM = "\uFEFF";

/** The code Gantry uses for `.dockerignore` errors. */
export const DOCKERIGNORE_ERROR_CODE = "DOCKERIGNORE";

function trimGoSpace(text: string): { text: string; leading: number } {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.codePointAt(start)!)) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return { text: text.slice(start, end), leading: start };
}

/**
 * Parses `.dockerignore` text into patterns, in file order. Throws GantryError (code DOCKERIGNORE, with a
 * file/line/column location and a hint) for a pattern Docker rejects: `!` alone, an unterminated or empty
 * `[` class, an out-of-order range, a trailing `\`.
 */
export function parseDockerignore(text: string, file = ".dockerignore"): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  // bufio.ScanLines: split on \n, drop one trailing \r; a last line without \n still counts.
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((rawLine, index) => {
    let line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (index === 0 && line.startsWith(BOM)) line = line.slice(1);
    if (line.startsWith("#")) return;
    const trimmed = trimGoSpace(line);
    if (trimmed.text === "") return;
    const lineNumber = index + 1;
    let body = trimmed.text;
    let bodyColumn = trimmed.leading + 1;
    const exclusion = body.startsWith("!");
    if (exclusion) {
      const afterBang = trimGoSpace(body.slice(1));
      bodyColumn += 1 + afterBang.leading;
      body = afterBang.text;
    }
    const fail = (message: string, column: number, hint: string): never => {
      throw new GantryError(DOCKERIGNORE_ERROR_CODE, message, {
        location: { file, line: lineNumber, column, sourceLine: line },
        hint,
      });
    };
    if (body !== "") {
      body = cleanPath(body);
      if (body.length > 1 && body.startsWith("/")) body = body.slice(1);
    }
    // patternmatcher cleans the whole `!`-prefixed text once more.
    let pattern = cleanPath(exclusion ? `!${body}` : body);
    let isExclusion = false;
    if (pattern.startsWith("!")) {
      if (pattern.length === 1) {
        fail(
          'illegal exclusion pattern: "!"',
          trimmed.leading + 1,
          "write a pattern after `!`, e.g. `!keep.txt`",
        );
      }
      isExclusion = true;
      pattern = pattern.slice(1);
    }
    try {
      new PathPattern(pattern);
    } catch (err) {
      if (!(err instanceof PathPatternSyntaxError)) throw err;
      // Point at the problem when the cleaned pattern still appears verbatim in the line.
      const at = line.indexOf(pattern, bodyColumn - 1);
      const column = at >= 0 ? at + err.offset + 1 : bodyColumn;
      fail(
        `bad pattern ${JSON.stringify(pattern)}: ${err.message}`,
        column,
        "escape a literal `[` or `\\` with `\\`; a class needs a closing `]`",
      );
    }
    patterns.push({ pattern, exclusion: isExclusion, file, line: lineNumber, column: bodyColumn });
  });
  return patterns;
}

/** Per-pattern results for a directory, handed down to its entries (see IgnoreMatcher.matchWithParent). */
export interface IgnoreMatchState {
  readonly parentMatched: Uint8Array | undefined;
}

interface CompiledIgnorePattern {
  source: IgnorePattern;
  matcher: PathPattern;
}

/** Decides which context paths are excluded. Paths are slash-separated, relative, without a leading `./`. */
export class IgnoreMatcher {
  private readonly compiled: CompiledIgnorePattern[];
  private readonly exceptions: CompiledIgnorePattern[];

  constructor(readonly patterns: readonly IgnorePattern[]) {
    this.compiled = patterns.map((source) => {
      try {
        return { source, matcher: new PathPattern(source.pattern) };
      } catch (err) {
        if (!(err instanceof PathPatternSyntaxError)) throw err;
        throw new GantryError(
          DOCKERIGNORE_ERROR_CODE,
          `bad pattern ${JSON.stringify(source.pattern)}: ${err.message}`,
          {
            hint: "escape a literal `[` or `\\` with `\\`; a class needs a closing `]`",
            ...(source.file !== undefined && source.line !== undefined
              ? { location: { file: source.file, line: source.line, column: source.column ?? 1 } }
              : {}),
          },
        );
      }
    });
    this.exceptions = this.compiled.filter((p) => p.source.exclusion);
  }

  /** True when nothing is ever excluded. */
  get isEmpty(): boolean {
    return this.compiled.length === 0;
  }

  /**
   * Whether `relPath` is excluded. As BuildKit's context walker (fsutil + patternmatcher
   * MatchesUsingParentResults) decides it: each directory level is matched in turn, a pattern that matched
   * a parent directory keeps matching below it, and the last pattern that matches wins.
   */
  matches(relPath: string): boolean {
    return this.matchWithParent(relPath).excluded;
  }

  /**
   * The incremental form for walkers: pass the state returned for the parent directory (undefined for a
   * top-level entry) to match one level in O(patterns). Without a parent state, the ancestors are matched
   * first, so the result is always the same as `matches`.
   */
  matchWithParent(
    relPath: string,
    parent?: IgnoreMatchState,
  ): { excluded: boolean; state: IgnoreMatchState } {
    const file = normalizeRelPath(relPath);
    if (file === "." || this.compiled.length === 0)
      return { excluded: false, state: { parentMatched: undefined } };
    if (parent !== undefined) return this.matchLevel(file, parent.parentMatched);
    let level: { excluded: boolean; state: IgnoreMatchState } | undefined;
    for (let end = file.indexOf("/"); ; end = file.indexOf("/", end + 1)) {
      level = this.matchLevel(end < 0 ? file : file.slice(0, end), level?.state.parentMatched);
      if (end < 0) return level;
    }
  }

  private matchLevel(
    path: string,
    parentMatched: Uint8Array | undefined,
  ): { excluded: boolean; state: IgnoreMatchState } {
    const matched = new Uint8Array(this.compiled.length);
    let excluded = false;
    this.compiled.forEach(({ source, matcher }, i) => {
      let match = parentMatched?.[i] === 1;
      if (!match) {
        // Only a pattern that could flip the current answer is tried.
        if (source.exclusion !== excluded) return;
        match = matcher.matches(path);
      }
      if (match) {
        matched[i] = 1;
        excluded = !source.exclusion;
      }
    });
    return { excluded, state: { parentMatched: matched } };
  }

  /**
   * Whether a walker must look inside `dirRelPath`: true when the directory is not excluded, or when some
   * `!` exception could re-include a path under it. False means everything under it is excluded and the
   * walker can skip the directory without reading it.
   */
  mayHaveIncludedDescendants(dirRelPath: string): boolean {
    const dir = normalizeRelPath(dirRelPath);
    if (dir === "." || !this.matches(dir)) return true;
    return this.exceptions.some(({ matcher }) => matcher.mayMatchUnder(dir));
  }
}

/** Anything that cleaning would change: empty, `.`/`..` elements, doubled, leading or trailing slashes. */
const NEEDS_CLEANING = /^$|^\/|\/$|\/\/|(^|\/)\.\.?(\/|$)/;

function normalizeRelPath(relPath: string): string {
  if (!NEEDS_CLEANING.test(relPath)) return relPath;
  const p = cleanPath(relPath).replace(/^\/+/, "");
  return p === "" ? "." : p;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw err;
  }
}

/**
 * Loads the ignore rules for a build. For a Dockerfile at `dockerfilePath` (relative to the context, or
 * absolute), `<dockerfilePath>.dockerignore` next to it wins over `<contextDir>/.dockerignore`. Without
 * either file the matcher excludes nothing and `file` is undefined.
 */
export async function loadDockerignore(
  contextDir: string,
  dockerfilePath: string,
): Promise<{ file?: string; matcher: IgnoreMatcher }> {
  const candidates: string[] = [];
  if (dockerfilePath !== "" && dockerfilePath !== "-") {
    candidates.push(`${path.resolve(contextDir, dockerfilePath)}.dockerignore`);
  }
  candidates.push(path.join(path.resolve(contextDir), ".dockerignore"));
  for (const file of candidates) {
    const text = await readIfExists(file);
    if (text === undefined) continue;
    const display = path.relative(process.cwd(), file) || file;
    return { file, matcher: new IgnoreMatcher(parseDockerignore(text, display)) };
  }
  return { matcher: new IgnoreMatcher([]) };
}
