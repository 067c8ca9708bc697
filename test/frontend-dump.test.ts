/**
 * `--dump` output against hand-written expectations: every fixtures/dump/NAME.Dockerfile and
 * fixtures/dockerfiles/NAME.Dockerfile must dump to exactly the bytes of NAME.dump.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dumpDockerfile, dumpInstruction } from "../src/frontend/dump.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { encodeBytes } from "../src/frontend/text.js";

const root = path.join(import.meta.dirname, "..", "fixtures");

function fixturePairs(dir: string): string[] {
  return readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith(".Dockerfile"))
    .map((f) => f.slice(0, -".Dockerfile".length))
    .sort();
}

function dumpBytes(file: string): Buffer {
  return Buffer.from(encodeBytes(dumpDockerfile(parseDockerfile(readFileSync(file), file))));
}

for (const dir of ["dump", "dockerfiles"]) {
  describe(`fixtures/${dir}`, () => {
    const names = fixturePairs(dir);
    it("has fixtures", () => expect(names.length).toBeGreaterThan(5));
    for (const name of names) {
      it(name, () => {
        const base = path.join(root, dir, name);
        const expected = readFileSync(`${base}.dump`);
        const actual = dumpBytes(`${base}.Dockerfile`);
        expect(actual.toString("latin1")).toBe(expected.toString("latin1"));
      });
    }
  });
}

const dump = (src: string | Uint8Array): string => dumpDockerfile(parseDockerfile(src, "Dockerfile"));

describe("dump format", () => {
  it("ends every instruction line with a newline", () => {
    expect(dump("FROM a\nRUN b")).toBe('(from "a")\n(run "b")\n');
  });

  it("prints no args as a bare keyword, unknown instructions with one empty arg", () => {
    expect(dump("CMD\nONBUILD\nFOO\n")).toBe('(cmd)\n(onbuild)\n(foo "")\n');
  });

  it("nests ONBUILD triggers", () => {
    expect(dump("ONBUILD ONBUILD RUN x")).toBe('(onbuild (onbuild (run "x")))\n');
  });

  it("quotes flags and args with Go escapes", () => {
    expect(dump('RUN --a="x y" a\\b\x01\x7f\u00a0é\t"c')).toBe(
      '(run ["--a=x y"] "a\\\\b\\x01\\x7f\\u00a0é\\t\\"c")\n',
    );
  });

  it("a lone escape line gives an instruction with an empty keyword", () => {
    expect(dump("\\\n")).toBe('("")\n');
  });

  it("dumpInstruction has no parentheses", () => {
    const raw = parseDockerfile("COPY --link a b", "Dockerfile");
    expect(dumpInstruction(raw.instructions[0]!)).toBe('copy ["--link"] "a" "b"');
  });

  it("keeps CRLF-free output for CRLF input", () => {
    expect(dump("FROM a\r\nRUN b\r\n")).toBe('(from "a")\n(run "b")\n');
  });
});
