/**
 * Public surface of the shell-word lexer: BuildKit's ProcessWord (`expandWord`) and ProcessWords
 * (`expandWords`) as pure functions. The graph stage calls these with the ARG/ENV scope of an instruction;
 * lint rules use `matched`/`unmatched` to find undefined variables.
 */

import { ShellWordLexer, type VarLookup, WordSplitter } from "./lexer.js";

export type { VarLookup } from "./lexer.js";
export {
  PatternSyntaxError,
  parseShellPattern,
  replacePattern,
  trimPatternPrefix,
  trimPatternSuffix,
} from "./pattern.js";

export interface ShellLexOptions {
  /** The Dockerfile's escape character (`# escape=`); default backslash. */
  escape?: "\\" | "`";
  /**
   * Quotes are ordinary characters and stay in the result. BuildKit expands COPY/ADD heredoc bodies
   * (unquoted delimiter) this way, always with the backslash escape.
   */
  skipProcessQuotes?: boolean;
  /** Keep quote characters in the result (BuildKit's RawQuotes). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result (BuildKit's RawEscapes). */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written, e.g. `$X`, `${X:-y}` (BuildKit's SkipUnsetEnv). */
  skipUnsetEnv?: boolean;
}

/** A variable scope: a lookup function, a plain record (own properties only) or a map. */
export type VarSource = VarLookup | Readonly<Record<string, string>> | ReadonlyMap<string, string>;

export interface ExpandResult {
  value: string;
  /** Names referenced that were set (possibly empty). */
  matched: Set<string>;
  /** Names referenced that were unset. */
  unmatched: Set<string>;
}

export interface ExpandWordsResult {
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

/** Turns any variable source into a lookup function. */
export function lookupFrom(env: VarSource): VarLookup {
  if (typeof env === "function") return env;
  if (env instanceof Map) return (name) => env.get(name);
  const record = env as Readonly<Record<string, string>>;
  return (name) => (Object.hasOwn(record, name) ? record[name] : undefined);
}

function lexerFor(word: string, env: VarSource, opts?: ShellLexOptions): ShellWordLexer {
  const escapeToken = (opts?.escape ?? "\\").codePointAt(0)!;
  return new ShellWordLexer(word, lookupFrom(env), escapeToken, {
    skipProcessQuotes: opts?.skipProcessQuotes ?? false,
    rawQuotes: opts?.rawQuotes ?? false,
    rawEscapes: opts?.rawEscapes ?? false,
    skipUnsetEnv: opts?.skipUnsetEnv ?? false,
  });
}

/**
 * Expands one word (BuildKit ProcessWord): quotes and escapes removed, variables substituted, spaces kept.
 * Throws ExpansionError (with `offset` into `word`) for bad syntax and `${a:?msg}` failures.
 */
export function expandWord(word: string, env: VarSource, opts?: ShellLexOptions): ExpandResult {
  const lexer = lexerFor(word, env, opts);
  const value = lexer.processAll();
  return { value, matched: lexer.matched, unmatched: lexer.unmatched };
}

/**
 * Expands a word and splits it into words (BuildKit ProcessWords): spaces that are unquoted, unescaped
 * characters of the word or that come from an unquoted expansion separate words; quoted text stays whole.
 * An empty quoted string on its own produces no word, as in BuildKit.
 */
export function expandWords(word: string, env: VarSource, opts?: ShellLexOptions): ExpandWordsResult {
  const lexer = lexerFor(word, env, opts);
  const splitter = new WordSplitter();
  lexer.processAll(splitter);
  return { words: splitter.finish(), matched: lexer.matched, unmatched: lexer.unmatched };
}
