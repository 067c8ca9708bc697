/**
 * parseDockerfile: error fixtures (message, line, column), source ranges, heredoc bodies, directives,
 * comments, warnings, the byte-preserving text helpers, and property tests over arbitrary input.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ParseError } from "../src/errors.js";
import { dumpDockerfile } from "../src/frontend/dump.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import type { SourceRange } from "../src/frontend/raw.js";
import { decodeBytes, encodeBytes, goQuote, goToLower } from "../src/frontend/text.js";

const errorsDir = path.join(import.meta.dirname, "..", "fixtures", "dump-errors");

function parseError(src: string | Uint8Array): ParseError {
  try {
    parseDockerfile(src, "Dockerfile");
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error("expected a parse error");
}

describe("error fixtures", () => {
  const names = readdirSync(errorsDir).filter((f) => f.endsWith(".Dockerfile"));
  it("has fixtures", () => expect(names.length).toBeGreaterThan(20));
  for (const f of names.sort()) {
    it(f, () => {
      const want = JSON.parse(
        readFileSync(path.join(errorsDir, f.replace(/\.Dockerfile$/, ".json")), "utf8"),
      );
      const err = parseError(readFileSync(path.join(errorsDir, f)));
      expect(err.message).toContain(want.message);
      expect(err.location?.line).toBe(want.line);
      if (want.column !== undefined) expect(err.location?.column).toBe(want.column);
      expect(err.location?.file).toBe("Dockerfile");
      expect(err.location?.sourceLine).toBeTypeOf("string");
      expect(err.hint).toBeTruthy();
    });
  }
});

describe("64 KiB lines", () => {
  it("accepts 65535 bytes and rejects 65536", () => {
    const ok = `RUN ${"x".repeat(65535 - 4)}\n`;
    expect(parseDockerfile(ok, "D").instructions[0]!.args[0]!.value).toHaveLength(65531);
    expect(parseError(`RUN ${"x".repeat(65536 - 4)}\n`).message).toContain("65535");
  });
  it("counts bytes, not characters", () => {
    expect(parseError(`RUN ${"é".repeat(32767)}`).location?.line).toBe(1);
    expect(parseDockerfile(`RUN ${"é".repeat(32765)}`, "D").instructions).toHaveLength(1);
  });
});

const r = (l1: number, c1: number, l2: number, c2: number): SourceRange => ({
  start: { line: l1, column: c1 },
  end: { line: l2, column: c2 },
});

describe("source ranges", () => {
  it("covers keyword, flags, args and the whole instruction", () => {
    const raw = parseDockerfile("FROM a\n  COPY --from=b  x /y\n", "D");
    const copy = raw.instructions[1]!;
    expect(copy.keywordRange).toEqual(r(2, 3, 2, 7));
    expect(copy.flags[0]!.range).toEqual(r(2, 8, 2, 16));
    expect(copy.flags[0]).toMatchObject({ text: "--from=b", name: "from", value: "b" });
    expect(copy.args.map((a) => a.range)).toEqual([r(2, 18, 2, 19), r(2, 20, 2, 22)]);
    expect(copy.range).toEqual(r(2, 3, 2, 22));
  });

  it("maps offsets through continuation lines", () => {
    const raw = parseDockerfile("RUN --mount=type=cache,target=/x \\\n  # note\n    make \\\n  all\n", "D");
    const run = raw.instructions[0]!;
    expect(run.flags[0]!.range).toEqual(r(1, 5, 1, 33));
    expect(run.args[0]!.value).toBe("make   all");
    expect(run.args[0]!.range).toEqual(r(3, 5, 4, 6));
    expect(run.range).toEqual(r(1, 1, 4, 6));
  });

  it("counts columns in code points", () => {
    const raw = parseDockerfile("LABEL 😀=1 b=2", "D");
    expect(raw.instructions[0]!.args[3]!.range).toEqual(r(1, 11, 1, 12));
  });

  it("gives JSON elements their own ranges", () => {
    const raw = parseDockerfile('CMD ["a", "b c"]', "D");
    expect(raw.instructions[0]!.json).toBe(true);
    expect(raw.instructions[0]!.args.map((a) => a.range)).toEqual([r(1, 6, 1, 9), r(1, 11, 1, 16)]);
  });

  it("ranges ENV pairs by key and value", () => {
    const [key, value, eq] = parseDockerfile("ENV key=value", "D").instructions[0]!.args;
    expect([key!.range, value!.range, eq!.range]).toEqual([r(1, 5, 1, 8), r(1, 9, 1, 14), r(1, 8, 1, 9)]);
  });

  it("ranges ONBUILD's trigger", () => {
    const sub = parseDockerfile("ONBUILD RUN make", "D").instructions[0]!.sub!;
    expect(sub.keywordRange).toEqual(r(1, 9, 1, 12));
    expect(sub.args[0]!.range).toEqual(r(1, 13, 1, 17));
  });

  it("points errors at the offending word", () => {
    const err = parseError("FROM a\nENV a=1 \\\n    bad c=2\n");
    expect(err.location).toMatchObject({ line: 3, column: 5, endColumn: 8, sourceLine: "    bad c=2" });
  });
});

describe("heredocs", () => {
  it("records name, fd, chomp, expand and body", () => {
    const src = "RUN 3<<-EOF cat <<'Q'\n\tone\n\t\ttwo\n\tEOF\n$x\nQ\nRUN next\n";
    const raw = parseDockerfile(src, "D");
    expect(raw.instructions.map((i) => i.lower)).toEqual(["run", "run"]);
    const [a, b] = raw.instructions[0]!.heredocs;
    expect(a).toMatchObject({
      name: "EOF",
      fileDescriptor: 3,
      chomp: true,
      expand: true,
      content: "one\ntwo\n",
    });
    expect(b).toMatchObject({ name: "Q", fileDescriptor: 0, chomp: false, expand: false, content: "$x\n" });
    expect(a!.range).toEqual(r(2, 1, 4, 5));
  });

  it("does not treat heredoc bodies as instructions, comments or continuations", () => {
    const raw = parseDockerfile("COPY <<A /a\n# x \\\nFROM y\\\nA\nFROM z\n", "D");
    expect(raw.instructions.map((i) => i.lower)).toEqual(["copy", "from"]);
    expect(raw.instructions[0]!.heredocs[0]!.content).toBe("# x \\\nFROM y\\\n");
  });

  it("marks quoted delimiters as not expanding", () => {
    const raw = parseDockerfile('RUN <<"E"\nE\nRUN <<E\nE\nRUN <<E"x"\nEx\n', "D");
    expect(raw.instructions.map((i) => i.heredocs[0]!.expand)).toEqual([false, true, false]);
  });
});

describe("directives, comments and warnings", () => {
  it("collects directives with their values", () => {
    const raw = parseDockerfile("# syntax = docker/dockerfile:1\n#CHECK=skip=all\n# escape=`\nFROM a\n", "D");
    expect(raw.directives.map((d) => [d.name, d.value])).toEqual([
      ["syntax", "docker/dockerfile:1"],
      ["check", "skip=all"],
      ["escape", "`"],
    ]);
    expect(raw.escapeChar).toBe("`");
  });

  it("stops directives at the first other line", () => {
    const raw = parseDockerfile("\n# escape=`\nRUN a \\\n b\n", "D");
    expect(raw.escapeChar).toBe("\\");
    expect(raw.directives).toEqual([]);
    expect(raw.instructions[0]!.args[0]!.value).toBe("a  b");
  });

  it("keeps comments directly above an instruction", () => {
    const raw = parseDockerfile("# one\n\n# two\n#three\nFROM a\nRUN b\n", "D");
    expect(raw.instructions[0]!.comments).toEqual(["two", "three"]);
    expect(raw.instructions[1]!.comments).toEqual([]);
  });

  it("warns about empty continuation lines", () => {
    const raw = parseDockerfile("RUN a \\\n\n  b\n", "D");
    expect(raw.warnings).toHaveLength(1);
    expect(raw.warnings[0]!.code).toBe("NoEmptyContinuation");
  });

  it("keeps the original logical line and the physical lines", () => {
    const raw = parseDockerfile("\ufeffRUN a \\\r\n  b\r\n", "-");
    expect(raw.file).toBe("<stdin>");
    expect(raw.instructions[0]!.original).toBe("RUN a   b");
    expect(raw.lines).toEqual(["RUN a \\\r", "  b\r"]);
  });
});

describe("byte-preserving text", () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);
  it("escapes each invalid byte", () => {
    expect(decodeBytes(bytes(0x61, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xe2, 0x82))).toBe(
      "a\udcff\udcc0\udc80\udced\udca0\udc80\udce2\udc82",
    );
    expect(decodeBytes(bytes(0xf4, 0x90, 0x80, 0x80))).toBe("\udcf4\udc90\udc80\udc80");
    expect(decodeBytes(bytes(0xf0, 0x9f, 0x98, 0x80, 0xef, 0xbb, 0xbf))).toBe("😀\ufeff");
  });

  it("round-trips arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(Buffer.from(encodeBytes(decodeBytes(b))).equals(Buffer.from(b))).toBe(true);
      }),
    );
  });

  it("quotes like Go strconv.Quote", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("\x00\x07\x08\t\n\v\f\r\x1b\x7f")).toBe('"\\x00\\a\\b\\t\\n\\v\\f\\r\\x1b\\x7f"');
    expect(goQuote("é☃😀\u00a0\u200b\u3000\u{e0001}")).toBe('"é☃😀\\u00a0\\u200b\\u3000\\U000e0001"');
    expect(goQuote(decodeBytes(bytes(0xff, 0x41)))).toBe('"\\xffA"');
  });

  it("quotes printable ASCII into something JSON can read back", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))),
        }),
        (s) => {
          expect(JSON.parse(goQuote(s))).toBe(s);
        },
      ),
    );
  });

  it("lower-cases per rune like Go", () => {
    expect(goToLower("RUN")).toBe("run");
    expect(goToLower("İΣ")).toBe("iσ");
    expect(goToLower("R\udcffN")).toBe("r\ufffdn");
  });
});

describe("properties", () => {
  const printable = fc.string({
    unit: fc.constantFrom(..."abcXYZ \t\\`\"'=-[],#<{}$\n\r\u00a0é😀0123".split(/(?:)/u)),
    maxLength: 80,
  });
  const keyword = fc.constantFrom(
    "RUN",
    "FROM",
    "ENV",
    "LABEL",
    "COPY",
    "ONBUILD",
    "CMD",
    "ARG",
    "HEALTHCHECK",
    "FOO",
  );

  it("dump never throws anything but ParseError, and ranges stay inside the file", () => {
    fc.assert(
      fc.property(keyword, printable, printable, (kw, a, b) => {
        const src = `${a.replace(/\n/g, " ")}\n${kw} ${b}\n`;
        let raw: ReturnType<typeof parseDockerfile>;
        try {
          raw = parseDockerfile(src, "D");
        } catch (e) {
          expect(e).toBeInstanceOf(ParseError);
          return;
        }
        const out = dumpDockerfile(raw);
        expect(out.endsWith(")\n")).toBe(true);
        expect(out.split("\n")).toHaveLength(raw.instructions.length + 1);
        const lines = raw.lines;
        const inside = (rg: SourceRange) => {
          for (const p of [rg.start, rg.end]) {
            expect(p.line).toBeGreaterThanOrEqual(1);
            expect(p.line).toBeLessThanOrEqual(lines.length);
            expect(p.column).toBeGreaterThanOrEqual(1);
            expect(p.column).toBeLessThanOrEqual(Array.from(lines[p.line - 1]!).length + 1);
          }
          expect(rg.start.line < rg.end.line || rg.start.column <= rg.end.column).toBe(true);
        };
        for (const i of raw.instructions) {
          for (const x of [i, i.sub].filter((v) => v !== undefined)) {
            inside(x.range);
            inside(x.keywordRange);
            for (const f of x.flags) inside(f.range);
            for (const g of x.args) inside(g.range);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("keyword ranges select the keyword text", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("RUN", "from", "Copy", "CMD", "WORKDIR", "FOO"),
        fc.stringMatching(/^[ \t]{0,3}$/),
        fc.stringMatching(/^[a-z ]{0,10}$/),
        (kw, pad, rest) => {
          const raw = parseDockerfile(`${pad}${kw} ${rest}x\n`, "D");
          const k = raw.instructions[0]!.keywordRange;
          expect(raw.lines[0]!.slice(k.start.column - 1, k.end.column - 1)).toBe(kw);
        },
      ),
    );
  });
});
