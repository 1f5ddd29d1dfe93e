// The In-shop pieces the tests use, in one object: the reader and JPEG pipeline (tq.data), the top-k metric (tq.hash);
// the fixture writer is test/fixtures/inshop.js.
import * as tq from '../dist/index.js';

/** The module with readInshop, topKAccuracy, decodeJpeg, resizeToChw, isDataError …. */
export async function loadInshopModule() {
  return { ...tq.data, topKAccuracy: tq.hash.topKAccuracy, INSHOP_TOPK: tq.hash.INSHOP_TOPK };
}
