/**
 * Which COPY steps are written straight to a layer blob (nothing later reads them as files) and which go
 * through a directory that is kept unpacked for the steps after them.
 */
import { describe, expect, it } from "vitest";
import { layerOnlySteps } from "../src/executor/layer-only.js";
import { buildAst } from "../src/frontend/ast-build.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { compileGraph } from "../src/graph/compile.js";
import type { BuildGraph } from "../src/graph/types.js";
import { HOST_PLATFORM } from "./helpers/busybox-image.js";

async function compile(text: string): Promise<BuildGraph> {
  const raw = parseDockerfile(text, "Dockerfile");
  return compileGraph(buildAst(raw), {
    buildArgs: {},
    platform: HOST_PLATFORM,
    buildPlatform: HOST_PLATFORM,
    resolveImage: async () => {
      throw new Error("no image is resolved in these tests");
    },
    sourceLines: raw.lines,
  });
}

const only = async (text: string) => [...layerOnlySteps(await compile(text))].sort();

describe("layer-only COPY steps", () => {
  it("the trailing COPYs of the target stage qualify; a COPY a later step reads does not", async () => {
    expect(await only("FROM scratch\nCOPY a /a\nRUN true\nCOPY b /b\nCOPY c /c\n")).toEqual(["0.3"]);
  });

  it("the big-context shape: one COPY at the end of the only stage", async () => {
    expect(await only("FROM scratch\nCOPY . /app\n")).toEqual(["0.0"]);
  });

  it("COPY --link steps do not read the layers below, so a run of them at the end qualifies", async () => {
    expect(await only("FROM scratch\nRUN true\nCOPY --link a /a\nCOPY --link b /b\n")).toEqual([
      "0.1",
      "0.2",
    ]);
  });

  it("nothing qualifies before a RUN, a WORKDIR that creates a directory, or in a stage others read", async () => {
    expect(await only("FROM scratch\nCOPY a /a\nRUN true\n")).toEqual([]);
    expect(await only("FROM scratch\nCOPY a /a\nWORKDIR /w\n")).toEqual([]);
    const multi = await only(
      "FROM scratch AS gen\nCOPY a /a\nFROM scratch AS tool\nCOPY t /t\nFROM tool\nCOPY --from=gen /a /a\n",
    );
    // gen is copied from and tool is built on: only the final stage's last COPY is layer-only.
    expect(multi).toEqual(["2.0"]);
  });
});
