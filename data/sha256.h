// SHA-256 (FIPS 180-4), used to record which exact input files a KG was built from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spade {

class Sha256 {
 public:
  void Update(std::string_view bytes);
  std::string HexDigest();  // finishes the hash; call once

 private:
  void Compress(const unsigned char* block);
  uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char block_[64] = {};
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

// Feeds the whole file at `path` into *sha. Throws spade::Error naming the file.
void Sha256Update(Sha256* sha, const std::string& path);

}  // namespace spade
