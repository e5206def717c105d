// Bytes a browser downloads: raw, gzip (level 9) and brotli (quality 11), as servers send them.
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

/** `{raw, gzip, brotli}` of one file's bytes. */
export function sizesOf(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}
