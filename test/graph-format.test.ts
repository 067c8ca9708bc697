/**
 * The small pure pieces of the graph compiler: Go's `%q` quoting and Duration printing (history text must
 * match BuildKit byte for byte) and containerd-style platform parsing and normalisation.
 */
import { describe, expect, it } from "vitest";
import { goDuration, goList, goQuote, goQuotedList } from "../src/graph/go-format.js";
import { formatPlatform, parsePlatform, platformMatches } from "../src/graph/platform.js";

describe("Go formatting", () => {
  it("quotes like strconv.Quote", () => {
    expect(goQuote('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(goQuote("tab\tnl\n\x01\x7f")).toBe('"tab\\tnl\\n\\x01\\x7f"');
    expect(goQuote("héllo ☃")).toBe('"héllo ☃"');
    expect(goQuote("bad\udcff")).toBe('"bad\\xff"');
    expect(goQuotedList(["/bin/sh", "-c", "echo hi"])).toBe('["/bin/sh" "-c" "echo hi"]');
    expect(goList(["/a", "/b"])).toBe("[/a /b]");
  });

  it("prints durations like time.Duration.String", () => {
    const s = 1e9;
    expect([0, 500e6, 1.5 * s, 30 * s, 90 * s, 3600 * s, 3661.5 * s, 1500, 250].map(goDuration)).toEqual([
      "0s",
      "500ms",
      "1.5s",
      "30s",
      "1m30s",
      "1h0m0s",
      "1h1m1.5s",
      "1.5µs",
      "250ns",
    ]);
  });
});

describe("platforms", () => {
  const host = { os: "linux", architecture: "amd64" };
  it("parses and normalises as containerd", () => {
    expect(parsePlatform("linux/amd64", host)).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/aarch64", host)).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux/arm64/v8", host)).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux/arm", host)).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(parsePlatform("arm64", host)).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux", host)).toEqual(host);
    expect(formatPlatform(parsePlatform("linux/arm/6", host))).toBe("linux/arm/v6");
    for (const bad of ["", "linux/", "a/b/c/d", "plan9x"])
      expect(() => parsePlatform(bad, host)).toThrow(/platform|operating/);
  });

  it("matches index entries by os, arch and variant", () => {
    expect(
      platformMatches(
        { os: "linux", architecture: "arm64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ),
    ).toBe(true);
    expect(
      platformMatches(
        { os: "linux", architecture: "arm", variant: "v6" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ),
    ).toBe(false);
    expect(platformMatches(host, { os: "windows", architecture: "amd64" })).toBe(false);
  });
});
