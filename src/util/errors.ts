/** What went wrong, for callers that branch on it (the message is for people). */
export type DataErrorCode =
  | 'missing' // a file or folder is not there
  | 'truncated' // a file is shorter than the format says, or has the wrong record count
  | 'label' // a label byte is out of range
  | 'checksum' // sha256 / md5 mismatch, or no checksum known for a file
  | 'corrupt' // the gzip stream or the tar structure is damaged
  | 'format' // a file is there but is not what it should be
  | 'network' // a download failed
  | 'config'; // bad arguments (protocol name, P, K, seed …)

/**
 * A user-facing data problem: the message names the file, says what is wrong and how to fix it.
 * Entry points print `message` only (no stack): see `isDataError`.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly code: DataErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** True for a DataError (also across bundle copies, by name). */
export function isDataError(e: unknown): e is DataError {
  return e instanceof DataError || (e instanceof Error && e.name === 'DataError' && 'code' in e);
}
