// gzip-compresses a string in memory (zlib, gzip header), for tests of readers that take
// .gz files.
#pragma once

#include <zlib.h>

#include <string>

namespace spade::testing {

inline std::string Gzip(const std::string& text) {
  uLongf bound = compressBound(static_cast<uLong>(text.size())) + 64;
  std::string out(bound, '\0');
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace spade::testing
