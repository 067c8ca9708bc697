/** COPY/ADD file operations: the public entry points of src/executor/fileops. */
export { type ApplyCopyInput, applyCopy, isDirectoryForm } from "./apply-copy.js";
export { type ArchiveCompression, detectArchive, extractArchive } from "./archive.js";
export { type ModeFunction, parseChmod } from "./chmod.js";
export { type Downloaded, downloadUrl, type FetchLike } from "./fetch-url.js";
export { createFileOps, type FileOpsOptions } from "./file-ops.js";
export { copyToLayer, type LayerCopyInput } from "./layer-copy.js";
export { LayerWriteRoot } from "./layer-root.js";
export { type Ownership, TargetTree } from "./target-tree.js";
export { resolveChown } from "./user-db.js";
export { DiskWriteRoot, type WriteRoot } from "./write-root.js";
