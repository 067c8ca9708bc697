/**
 * Typed errors shared by every stage of the pipeline. Each error has a stable `code`; an optional source
 * location (file, line, column) and hint let the CLI print `file:line:col`, the line, a caret and what to do.
 * Errors are created where they happen and mapped to exit codes / HTTP bodies once, at the edge.
 */

/** A position in a source file. Lines and columns are 1-based; `endColumn` is exclusive. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  endColumn?: number;
  /** The text of the line, without its newline, for the caret display. */
  sourceLine?: string;
}

export interface GantryErrorOptions {
  location?: SourceLocation;
  hint?: string;
  cause?: unknown;
}

/** Base of every error Gantry raises on purpose. Anything else reaching the edge is a bug. */
export class GantryError extends Error {
  readonly code: string;
  readonly location?: SourceLocation;
  readonly hint?: string;

  constructor(code: string, message: string, options: GantryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
  }
}

/** The command line itself is wrong (unknown flag, missing argument). Exit code 2. */
export class UsageError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("USAGE", message, options);
  }
}

/** The Dockerfile cannot be parsed (the errors BuildKit's parser raises). */
export class ParseError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("PARSE", message, options);
  }
}

/** The Dockerfile parses but an instruction is invalid (flags, argument counts, names). */
export class InstructionError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("INSTRUCTION", message, options);
  }
}

/** A variable expansion failed (`${a:?msg}`, bad modifier, unterminated `${`). */
export class ExpansionError extends GantryError {
  /** Index into the expanded word where the problem is, so callers can point a caret at it. */
  readonly offset?: number;
  constructor(message: string, options: GantryErrorOptions & { offset?: number } = {}) {
    super("EXPANSION", message, options);
    this.offset = options.offset;
  }
}

/** Lint findings promoted to an error by `# check=error=true`. */
export class LintError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("LINT", message, options);
  }
}

/** Exit codes: 0 ok, 1 failure, 2 usage error. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}
