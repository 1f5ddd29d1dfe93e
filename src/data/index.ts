// The CIFAR-10 data layer: reader (folder or .tar.gz), locating + download, protocol splits, P×K sampler.
export { DataError, isDataError, type DataErrorCode } from '../util/errors.js';
export { Rng } from '../util/rng.js';
export { TarReader, writeTar, type TarEntry, type TarSink } from './tar.js';
export {
  readCifar10,
  parseChecksums,
  loadChecksums,
  defaultChecksumFile,
  findBinFolder,
  IMAGE_BYTES,
  RECORD_BYTES,
  NUM_CLASSES,
  RECORDS_PER_FILE,
  BIN_DIR,
  ARCHIVE_NAME,
  TRAIN_FILES,
  TEST_FILE,
  META_FILE,
  type Cifar10,
  type ImageSet,
  type ReadOptions,
  type ChecksumOption,
} from './cifar10.js';
export {
  loadCifar10,
  locateCifar10,
  downloadCifar10,
  defaultSearchDirs,
  nodeFetcher,
  CIFAR10_URL,
  CIFAR10_MD5,
  type Fetcher,
  type FetchResult,
  type DownloadOptions,
  type LocateOptions,
  type LoadOptions,
} from './locate.js';
export { makeSplit, pooledLabels, imageAt, gatherImages, sha256U32, splitToJSON, splitFromJSON, PROTOCOLS, type Protocol, type Split, type SplitDescription } from './protocols.js';
export { PKSampler, type PKBatch } from './sampler.js';
export { repoRoot } from './paths.js';
export { readInshop, locateInshop, parseInshopPartition, inshopCachePath, inshopTrainForK, inshopNormalisation, INSHOP_PARTITION_FILE, INSHOP_HEADER, INSHOP_STATUSES, type Inshop, type InshopOptions, type InshopDescription, type InshopEntry, type InshopSkip, type InshopPartition, type InshopStatus } from './inshop.js';
export { decodeJpeg, checkJpegStructure, encodeJpeg, resizeToChw, JPEG_PIPELINE, type RgbImage, type Fit } from './jpeg.js';
export { LIMITS } from '../util/untrusted.js';
