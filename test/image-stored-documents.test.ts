/**
 * Reading the data root's own documents without the schemas: enough checking that a torn or foreign file
 * is never taken for a tag, a manifest record, a manifest or a config.
 */
import { describe, expect, it } from "vitest";
import { sha256Of } from "../src/image/digest.js";
import { ManifestInvalidError } from "../src/image/errors.js";
import { DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from "../src/image/media-types.js";
import {
  readStoredConfig,
  readStoredManifest,
  storedDescriptor,
  storedManifestRecord,
} from "../src/image/stored-documents.js";

const digest = sha256Of("x");

describe("stored documents", () => {
  it("a tag file is a descriptor only with a media type, a valid digest and a whole size", () => {
    expect(storedDescriptor({ mediaType: OCI_MANIFEST, digest, size: 3 })).toEqual({
      mediaType: OCI_MANIFEST,
      digest,
      size: 3,
    });
    for (const bad of [
      undefined,
      null,
      [],
      "text",
      { mediaType: OCI_MANIFEST, digest: "sha256:zz", size: 3 },
      { mediaType: OCI_MANIFEST, digest, size: -1 },
      { mediaType: OCI_MANIFEST, digest, size: 1.5 },
      { digest, size: 1 },
    ]) {
      expect(storedDescriptor(bad)).toBeUndefined();
    }
  });

  it("a manifest record also needs pushedAt, and a subject must be a digest", () => {
    const record = { mediaType: OCI_MANIFEST, digest, size: 3, pushedAt: 1 };
    expect(storedManifestRecord(record)).toEqual(record);
    expect(storedManifestRecord({ ...record, pushedAt: "1" })).toBeUndefined();
    expect(storedManifestRecord({ ...record, subject: "nope" })).toBeUndefined();
    expect(storedManifestRecord({ ...record, subject: digest })).toMatchObject({ subject: digest });
  });

  it("manifests get their kind from mediaType, the descriptor's type, or their shape", () => {
    const image = { schemaVersion: 2, config: { mediaType: "x/y", digest, size: 1 }, layers: [] };
    expect(readStoredManifest(JSON.stringify({ ...image, mediaType: OCI_MANIFEST })).kind).toBe(
      "oci-manifest",
    );
    expect(readStoredManifest(JSON.stringify(image), "").kind).toBe("oci-manifest");
    expect(readStoredManifest(JSON.stringify({ schemaVersion: 2, manifests: [] })).kind).toBe("oci-index");
    expect(readStoredManifest(JSON.stringify({ manifests: [] }), DOCKER_MANIFEST_LIST).kind).toBe(
      "docker-manifest-list",
    );
    expect(() => readStoredManifest(JSON.stringify({ mediaType: OCI_INDEX }))).toThrow(ManifestInvalidError);
    expect(() => readStoredManifest(JSON.stringify({ mediaType: OCI_MANIFEST, layers: [] }))).toThrow(
      ManifestInvalidError,
    );
    expect(() => readStoredManifest("{torn")).toThrow(ManifestInvalidError);
    expect(() => readStoredManifest(JSON.stringify({ mediaType: "text/plain" }))).toThrow(/unsupported/);
  });

  it("a config needs rootfs.diff_ids", () => {
    expect(readStoredConfig(JSON.stringify({ rootfs: { type: "layers", diff_ids: [] } })).rootfs).toEqual({
      type: "layers",
      diff_ids: [],
    });
    expect(() => readStoredConfig(JSON.stringify({ architecture: "amd64" }))).toThrow(ManifestInvalidError);
  });
});
