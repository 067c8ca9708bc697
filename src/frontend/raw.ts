/**
 * The raw instruction tree: what the grammar recognises in a Dockerfile before any instruction-specific
 * meaning is given to it. It mirrors BuildKit's parser.Node (keyword, flags, args, heredocs, ONBUILD
 * sub-instruction) and adds source ranges for every piece, so later stages can point a caret at anything.
 *
 * Text convention ("byte-preserving text"): a Dockerfile is decoded as UTF-8 where every byte that is not
 * part of a valid UTF-8 sequence becomes the lone surrogate U+DC00+byte (U+DC80–U+DCFF), as Python's
 * "surrogateescape" does. This keeps invalid bytes intact through parsing; `quote()` prints them as `\xNN`
 * and `encodeBytes()` turns text back into the original bytes.
 */

/** 1-based line; 1-based column counted in code points of the decoded line. */
export interface SourcePos {
  line: number;
  column: number;
}

/** Half-open range: `end` points just past the last character. May span several physical lines. */
export interface SourceRange {
  start: SourcePos;
  end: SourcePos;
}

/** A flag as BuildKit's parser extracts it: `--name=value` text, plus its parts. */
export interface RawFlag {
  /** The flag word as dumped, e.g. `--from=build` (quotes and escapes already removed). */
  text: string;
  /** Name without the leading `--`, e.g. `from`. */
  name: string;
  /** The value after the first `=`; undefined for `--link` (no `=`). */
  value?: string;
  range: SourceRange;
}

export interface RawArg {
  value: string;
  range: SourceRange;
}

export interface RawHeredoc {
  /** Delimiter with quotes removed. */
  name: string;
  /** The file descriptor prefix (`3<<EOF` → 3); 0 when absent. */
  fileDescriptor: number;
  /** `<<-`: leading tabs were stripped from the body. */
  chomp: boolean;
  /** Delimiter was unquoted, so the body undergoes variable expansion. */
  expand: boolean;
  /** The body, each line with its newline, leading tabs removed when `chomp`. */
  content: string;
  range: SourceRange;
}

export interface RawInstruction {
  /** The keyword as written (`Run`, `FROM`). */
  keyword: string;
  /** The lower-cased keyword, as dumped. */
  lower: string;
  keywordRange: SourceRange;
  flags: RawFlag[];
  args: RawArg[];
  /** Args came from a JSON array (exec form). */
  json: boolean;
  /** ONBUILD's trigger instruction. */
  sub?: RawInstruction;
  heredocs: RawHeredoc[];
  /** Whole instruction including continuation lines (heredoc bodies excluded). */
  range: SourceRange;
  /** The logical line after continuation joining, as BuildKit's Node.Original. */
  original: string;
  /** Comment lines directly above the instruction (text after `#`), for lint rules. */
  comments: string[];
}

export interface RawDirective {
  /** Lower-cased key: syntax, escape or check. */
  name: string;
  value: string;
  range: SourceRange;
}

/** A non-fatal observation made while parsing (e.g. an empty line inside a continuation). */
export interface RawWarning {
  code: "NoEmptyContinuation";
  message: string;
  range: SourceRange;
}

export interface RawDockerfile {
  /** File name used in diagnostics (`-` for standard input is shown as `<stdin>`). */
  file: string;
  /** Physical lines, decoded (byte-preserving text), without newline; for caret display. */
  lines: string[];
  escapeChar: "\\" | "`";
  directives: RawDirective[];
  instructions: RawInstruction[];
  warnings: RawWarning[];
}
