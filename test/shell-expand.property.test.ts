// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell words full of ${…}
/**
 * Property tests for the shell-word lexer: invariants that must hold for any input, checked with fast-check.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpansionError } from "../src/errors.js";
import { expandWord, expandWords } from "../src/frontend/shell/index.js";

const SPECIAL = /[$'"\\`]/;

/** Any text, including astral characters, newlines and lone surrogates. */
const anyText = fc.string({ unit: "binary", maxLength: 40 });

/** Text without anything the lexer treats specially (and no leading BOM, which Go's scanner drops). */
const plainText = anyText.filter((s) => !SPECIAL.test(s) && !s.startsWith("\uFEFF"));

/** Small alphabet so that literal patterns actually occur in values. */
const smallAlphabet = fc.constantFrom("a", "b", "c", "/", ".", "\n", "é", "🚀", " ");
const smallText = fc.string({ unit: smallAlphabet, maxLength: 30 });
const smallNonEmpty = fc.string({ unit: smallAlphabet, minLength: 1, maxLength: 4 });

/** Escapes every character that is special to the lexer, so the word means exactly `text`. */
function escapeAll(text: string, escapeChar = "\\"): string {
  let out = "";
  for (const ch of text) out += /[$'"\\`]/.test(ch) ? escapeChar + ch : ch;
  return out;
}

/** Escapes text for use as a literal shell pattern inside `${…}` (escapes stay raw there). */
function literalPattern(text: string): string {
  let out = "";
  for (const ch of text) {
    if (ch === "*" || ch === "?" || ch === "\\" || ch === "}" || ch === "/") out += `\\${ch}`;
    else if (ch === "$" || ch === "'" || ch === '"') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

describe("shell expansion properties", () => {
  it("a word with no $, quotes or escape characters expands to itself", () => {
    fc.assert(
      fc.property(plainText, (word) => {
        expect(expandWord(word, {}).value).toBe(word);
        expect(expandWord(word, {}, { escape: "`" }).value).toBe(word);
      }),
    );
  });

  it("escaping every special character gives the literal text back", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(expandWord(escapeAll(text), { A: "x" }).value).toBe(text);
        expect(expandWord(escapeAll(text, "`"), { A: "x" }, { escape: "`" }).value).toBe(text);
      }),
    );
  });

  it("escaping every character (not only special ones) also gives the text back", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const word = [...text].map((ch) => `\\${ch}`).join("");
        expect(expandWord(word, {}).value).toBe(text);
      }),
    );
  });

  it('double quotes keep everything once \\ " $ are escaped', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const inner = text.replace(/[\\"$]/g, (ch) => `\\${ch}`);
        expect(expandWord(`"${inner}"`, {}).value).toBe(text);
      }),
    );
  });

  it("single quotes keep everything", () => {
    fc.assert(
      fc.property(
        anyText.filter((s) => !s.includes("'")),
        (text) => {
          expect(expandWord(`'${text}'`, { A: "x" }).value).toBe(text);
        },
      ),
    );
  });

  it("expandWords on a non-empty single-quoted string is exactly one word", () => {
    fc.assert(
      fc.property(
        anyText.filter((s) => s.length > 0 && !s.includes("'")),
        (text) => {
          expect(expandWords(`'${text}'`, {}).words).toEqual([text]);
        },
      ),
    );
  });

  it("$name and ${name} give the variable's value, whatever it is", () => {
    fc.assert(
      fc.property(anyText, (value) => {
        expect(expandWord("${A}", { A: value }).value).toBe(value);
        expect(expandWord("$A", { A: value }).value).toBe(value);
        expect(expandWord('"$A"', { A: value }).value).toBe(value);
      }),
    );
  });

  it("${a:-x} is a when a is non-empty, x otherwise; ${a-x} only looks at set/unset", () => {
    fc.assert(
      fc.property(
        anyText,
        plainText.filter((s) => !/[{}]/.test(s)),
        (value, fallback) => {
          const env = { A: value };
          expect(expandWord(`\${A:-${fallback}}`, env).value).toBe(value === "" ? fallback : value);
          expect(expandWord(`\${A-${fallback}}`, env).value).toBe(value);
          expect(expandWord(`\${B-${fallback}}`, env).value).toBe(fallback);
        },
      ),
    );
  });

  it("${a:+x} is x exactly when a is non-empty; ${a+x} when a is set", () => {
    fc.assert(
      fc.property(
        anyText,
        plainText.filter((s) => !/[{}]/.test(s)),
        (value, word) => {
          expect(expandWord(`\${A:+${word}}`, { A: value }).value).toBe(value === "" ? "" : word);
          expect(expandWord(`\${A+${word}}`, { A: value }).value).toBe(word);
          expect(expandWord(`\${B+${word}}`, { A: value }).value).toBe("");
        },
      ),
    );
  });

  it("${a#p} with a literal p strips p exactly when a starts with it; prefix + rest reassembles a", () => {
    fc.assert(
      fc.property(smallText, smallNonEmpty, (value, prefix) => {
        const env = { A: value };
        const rest = expandWord(`\${A#${literalPattern(prefix)}}`, env).value;
        const longest = expandWord(`\${A##${literalPattern(prefix)}}`, env).value;
        expect(longest).toBe(rest); // no wildcard: shortest and longest agree
        if (value.startsWith(prefix)) expect(prefix + rest).toBe(value);
        else expect(rest).toBe(value);
      }),
    );
  });

  it("${a%p} with a literal p strips p exactly when a ends with it", () => {
    fc.assert(
      fc.property(smallText, smallNonEmpty, (value, suffix) => {
        const rest = expandWord(`\${A%${literalPattern(suffix)}}`, { A: value }).value;
        if (value.endsWith(suffix)) expect(rest + suffix).toBe(value);
        else expect(rest).toBe(value);
      }),
    );
  });

  it("${a//p/r} with a literal p equals split/join; ${a/p/r} replaces the first occurrence", () => {
    fc.assert(
      fc.property(
        smallText,
        smallNonEmpty,
        fc.string({ unit: fc.constantFrom("x", "y", "-"), maxLength: 3 }),
        (value, p, r) => {
          const env = { A: value };
          expect(expandWord(`\${A//${literalPattern(p)}/${r}}`, env).value).toBe(value.split(p).join(r));
          const at = value.indexOf(p);
          const first = at < 0 ? value : value.slice(0, at) + r + value.slice(at + p.length);
          expect(expandWord(`\${A/${literalPattern(p)}/${r}}`, env).value).toBe(first);
        },
      ),
    );
  });

  it("${a##*c} leaves no c in the line the match ends on, and ${a#*} / ${a%*} change nothing", () => {
    fc.assert(
      fc.property(smallText, (value) => {
        const env = { A: value };
        expect(expandWord("${A#*}", env).value).toBe(value);
        expect(expandWord("${A%*}", env).value).toBe(value);
        const rest = expandWord("${A##*c}", env).value;
        expect(value.endsWith(rest)).toBe(true);
        const firstLine = value.split("\n")[0]!;
        if (firstLine.includes("c")) expect(rest).toBe(value.slice(firstLine.lastIndexOf("c") + 1));
        else expect(rest).toBe(value);
      }),
    );
  });

  it("shortest-prefix strip never removes more than longest-prefix strip", () => {
    const patternText = fc.string({ unit: fc.constantFrom("a", "b", "*", "?"), maxLength: 5 });
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 12 }),
        patternText,
        (value, pattern) => {
          const env = { A: value };
          const shortest = expandWord(`\${A#${pattern}}`, env).value;
          const longest = expandWord(`\${A##${pattern}}`, env).value;
          expect(shortest.length).toBeGreaterThanOrEqual(longest.length);
          expect(value.endsWith(shortest) && value.endsWith(longest)).toBe(true);
          const shortestSuffix = expandWord(`\${A%${pattern}}`, env).value;
          const longestSuffix = expandWord(`\${A%%${pattern}}`, env).value;
          expect(shortestSuffix.length).toBeGreaterThanOrEqual(longestSuffix.length);
          expect(value.startsWith(shortestSuffix) && value.startsWith(longestSuffix)).toBe(true);
        },
      ),
    );
  });

  it("expandWords of space-separated plain tokens gives the tokens", () => {
    const token = fc.string({
      unit: fc.constantFrom("a", "b", "-", "/", "=", "é"),
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), fc.constantFrom(" ", "  ", "\t"), (tokens, sep) => {
        expect(expandWords(tokens.join(sep), {}).words).toEqual(tokens);
        expect(expandWords("$A", { A: tokens.join(sep) }).words).toEqual(tokens);
      }),
    );
  });

  it("any input either expands or throws ExpansionError (never anything else)", () => {
    const noisy = fc.string({
      unit: fc.constantFrom(
        "$",
        "{",
        "}",
        ":",
        "-",
        "+",
        "?",
        "#",
        "%",
        "/",
        "*",
        "\\",
        "'",
        '"',
        "`",
        "A",
        "x",
        " ",
      ),
      maxLength: 25,
    });
    fc.assert(
      fc.property(noisy, fc.constantFrom<"\\" | "`">("\\", "`"), (word, escapeChar) => {
        try {
          const r = expandWord(word, { A: "a*b", x: "" }, { escape: escapeChar });
          expect(typeof r.value).toBe("string");
          expandWords(word, { A: "a*b", x: "" }, { escape: escapeChar });
        } catch (e) {
          expect(e).toBeInstanceOf(ExpansionError);
          const offset = (e as ExpansionError).offset!;
          expect(offset).toBeGreaterThanOrEqual(0);
          expect(offset).toBeLessThanOrEqual(word.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("expandWord joined output equals expandWords output when nothing is quoted and values have no spaces", () => {
    const token = fc.string({
      unit: fc.constantFrom("a", "$A", "${A}", "${B:-z}", "b"),
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), (tokens) => {
        const word = tokens.join(" ");
        const env = { A: "v" };
        const single = expandWord(word, env).value;
        expect(expandWords(word, env).words).toEqual(single.split(" ").filter((w) => w !== ""));
      }),
    );
  });
});
