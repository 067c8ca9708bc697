import { describe, expect, it } from "vitest";
import { sha256Of } from "../src/image/digest.js";
import { ManifestInvalidError } from "../src/image/errors.js";
import * as mt from "../src/image/media-types.js";
import {
  manifestSubject,
  parseImageConfig,
  parseManifest,
  referencedDescriptors,
  referrerArtifactType,
} from "../src/image/oci-schemas.js";

const d = (seed: string, mediaType: string, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: sha256Of(seed),
  size: seed.length,
  ...extra,
});
const config = d("config", mt.OCI_CONFIG);
const layer = d("layer", mt.OCI_LAYER_GZIP);
const subject = d("subject", mt.OCI_MANIFEST);
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

function expectInvalid(fn: () => unknown, pattern?: RegExp): ManifestInvalidError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ManifestInvalidError);
  const error = caught as ManifestInvalidError;
  expect(error.code).toBe("MANIFEST_INVALID");
  if (pattern) expect(error.message).toMatch(pattern);
  return error;
}

describe("parseManifest: OCI image manifest", () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    artifactType: "application/vnd.example.sbom+json",
    config,
    layers: [layer],
    subject,
    annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
    unknownField: "kept",
  };

  it("parses and lists referenced descriptors (config, layers, subject)", () => {
    const parsed = parseManifest(bytes(manifest));
    expect(parsed.kind).toBe("oci-manifest");
    expect(referencedDescriptors(parsed).map((x) => x.digest)).toEqual([
      config.digest,
      layer.digest,
      subject.digest,
    ]);
    expect(manifestSubject(parsed)?.digest).toBe(subject.digest);
    expect(referrerArtifactType(parsed)).toBe("application/vnd.example.sbom+json");
    expect((parsed.manifest as unknown as Record<string, unknown>).unknownField).toBe("kept");
  });

  it("accepts embedded data that matches the descriptor", () => {
    const embedded = { ...config, data: Buffer.from("config").toString("base64") };
    expect(parseManifest(bytes({ ...manifest, config: embedded })).kind).toBe("oci-manifest");
  });

  it("gives one readable line per problem", () => {
    const error = expectInvalid(() =>
      parseManifest(bytes({ ...manifest, schemaVersion: 1.5, layers: [{ ...layer, size: "big" }] })),
    );
    expect(error.message).toMatch(/^manifest invalid: application\/vnd\.oci\.image\.manifest\.v1\+json: /);
    expect(error.message).toMatch(/schemaVersion: .*; layers\.0\.size: /);
  });

  it("falls back to the config media type as artifactType", () => {
    const { artifactType: _drop, ...plain } = manifest;
    expect(referrerArtifactType(parseManifest(bytes(plain)))).toBe(mt.OCI_CONFIG);
  });

  it("detects the kind from Content-Type when mediaType is absent, and from shape otherwise", () => {
    const { mediaType: _drop, ...noType } = manifest;
    expect(parseManifest(bytes(noType), `${mt.OCI_MANIFEST}; charset=utf-8`).kind).toBe("oci-manifest");
    expect(parseManifest(bytes(noType)).kind).toBe("oci-manifest");
  });

  it("rejects a mediaType that contradicts the Content-Type", () => {
    expectInvalid(() => parseManifest(bytes(manifest), mt.OCI_INDEX), /does not match Content-Type/);
  });

  it.each([
    ["bad digest", { ...manifest, layers: [{ ...layer, digest: "sha256:xyz" }] }, /layers\.0\.digest/],
    ["negative size", { ...manifest, config: { ...config, size: -1 } }, /config\.size/],
    ["schemaVersion 3", { ...manifest, schemaVersion: 3 }, /schemaVersion/],
    ["layers not an array", { ...manifest, layers: "x" }, /layers/],
    ["missing config", { schemaVersion: 2, mediaType: mt.OCI_MANIFEST, layers: [] }, /config/],
    ["annotation not a string", { ...manifest, annotations: { a: 1 } }, /annotations\.a/],
    ["bad media type", { ...manifest, config: { ...config, mediaType: "nonsense" } }, /config\.mediaType/],
    ["bad data field", { ...manifest, config: { ...config, data: "***" } }, /config\.data/],
    [
      "data not matching the digest",
      { ...manifest, config: { ...config, data: Buffer.from("cOnfig").toString("base64") } },
      /config\.data: content does not match digest/,
    ],
    [
      "data not matching the size",
      { ...manifest, config: { ...config, data: Buffer.from("config!").toString("base64") } },
      /config\.data: holds 7 bytes/,
    ],
  ])("rejects %s with a readable message", (_label, doc, pattern) => {
    expectInvalid(() => parseManifest(bytes(doc)), pattern);
  });
});

describe("parseManifest: OCI index", () => {
  const index = {
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [
      d("amd64", mt.OCI_MANIFEST, { platform: { architecture: "amd64", os: "linux" } }),
      d("arm64", mt.OCI_MANIFEST, { platform: { architecture: "arm64", os: "linux", variant: "v8" } }),
    ],
    subject,
  };

  it("parses and lists manifests + subject", () => {
    const parsed = parseManifest(bytes(index));
    expect(parsed.kind).toBe("oci-index");
    expect(referencedDescriptors(parsed)).toHaveLength(3);
  });

  it("detects an index without mediaType by its manifests array", () => {
    const { mediaType: _drop, ...noType } = index;
    expect(parseManifest(bytes(noType)).kind).toBe("oci-index");
  });

  it("rejects a platform without os", () => {
    const bad = { ...index, manifests: [d("x", mt.OCI_MANIFEST, { platform: { architecture: "amd64" } })] };
    expectInvalid(() => parseManifest(bytes(bad)), /manifests\.0\.platform\.os/);
  });
});

describe("parseManifest: Docker v2 schema 2", () => {
  const docker = {
    schemaVersion: 2,
    mediaType: mt.DOCKER_MANIFEST_V2,
    config: d("cfg", mt.DOCKER_CONFIG),
    layers: [d("l1", mt.DOCKER_LAYER_GZIP), d("l2", mt.DOCKER_LAYER_FOREIGN_GZIP, { urls: ["https://x/y"] })],
  };
  const list = {
    schemaVersion: 2,
    mediaType: mt.DOCKER_MANIFEST_LIST,
    manifests: [d("m", mt.DOCKER_MANIFEST_V2, { platform: { architecture: "amd64", os: "linux" } })],
  };

  it("parses a manifest and a manifest list", () => {
    const parsed = parseManifest(bytes(docker), mt.DOCKER_MANIFEST_V2);
    expect(parsed.kind).toBe("docker-manifest");
    expect(referencedDescriptors(parsed)).toHaveLength(3);
    expect(referrerArtifactType(parsed)).toBeUndefined();
    const parsedList = parseManifest(bytes(list));
    expect(parsedList.kind).toBe("docker-manifest-list");
    expect(referencedDescriptors(parsedList).map((x) => x.digest)).toEqual([list.manifests[0]!.digest]);
  });

  it("requires platform on manifest list entries", () => {
    expectInvalid(
      () => parseManifest(bytes({ ...list, manifests: [d("m", mt.DOCKER_MANIFEST_V2)] })),
      /manifests\.0\.platform/,
    );
  });

  it("rejects schema 1", () => {
    expectInvalid(
      () => parseManifest(bytes({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] })),
      /schema 1/,
    );
    expectInvalid(() => parseManifest(bytes({ schemaVersion: 1 }), mt.DOCKER_MANIFEST_V1_SIGNED), /schema 1/);
  });
});

describe("parseManifest: garbage", () => {
  it.each([
    ["not JSON", "{nope", /not valid JSON/],
    ["an array", "[]", /JSON object/],
    ["null", "null", /JSON object/],
    ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0x7d]), /not valid JSON/],
    [
      "unknown media type",
      JSON.stringify({ schemaVersion: 2, mediaType: "application/x-foo" }),
      /unsupported/,
    ],
    ["shapeless", JSON.stringify({ schemaVersion: 2 }), /cannot tell/],
  ])("rejects %s", (_label, input, pattern) => {
    expectInvalid(() => parseManifest(input), pattern);
  });
});

describe("parseImageConfig", () => {
  const valid = {
    architecture: "amd64",
    os: "linux",
    config: {
      Env: ["A=1"],
      Cmd: ["sh"],
      Entrypoint: null,
      ExposedPorts: { "80/tcp": {} },
      Labels: { a: "b" },
    },
    rootfs: { type: "layers", diff_ids: [sha256Of("x")] },
    history: [{ created_by: "RUN x", empty_layer: true }],
  };

  it("accepts a valid config", () => {
    expect(parseImageConfig(bytes(valid)).rootfs.diff_ids).toHaveLength(1);
  });

  it("rejects a wrong rootfs type and bad diff_ids", () => {
    expectInvalid(
      () => parseImageConfig(bytes({ ...valid, rootfs: { type: "fs", diff_ids: [] } })),
      /rootfs\.type/,
    );
    expectInvalid(
      () => parseImageConfig(bytes({ ...valid, rootfs: { type: "layers", diff_ids: ["sha256:1"] } })),
      /rootfs\.diff_ids\.0/,
    );
    expectInvalid(() => parseImageConfig(bytes({ ...valid, config: { Env: "A=1" } })), /config\.Env/);
  });
});

describe("media types", () => {
  it("classifies manifest, index and layer types, ignoring parameters", () => {
    expect(mt.isManifestMediaType(`${mt.DOCKER_MANIFEST_V2}; charset=utf-8`)).toBe(true);
    expect(mt.isIndexMediaType(mt.DOCKER_MANIFEST_LIST)).toBe(true);
    expect(mt.isIndexMediaType(mt.OCI_MANIFEST)).toBe(false);
    expect(mt.isLayerMediaType(mt.OCI_LAYER_ZSTD)).toBe(true);
    expect(mt.OCI_EMPTY_DIGEST).toBe(sha256Of("{}"));
  });
});
