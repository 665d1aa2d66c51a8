// TarReader: the regular files of a tar archive (POSIX ustar, GNU and pax variants),
// read as a stream from a .tar or .tar.gz/.tgz file (zlib reads both through one call) or
// from memory. Only what corpus tarballs need: names (ustar prefix, GNU long names, pax
// `path`) and file contents; directories, links and devices are skipped.
//
// Every header is validated (checksum, octal fields, sizes within `max_member_bytes`), so a
// damaged or hostile archive raises spade::Error kCorruption naming the archive and the
// member, never reads out of bounds and never allocates more than the limit.
// Not thread-safe; one reader per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spade::data::corpus {

struct TarEntry {
  std::string name;  // path inside the archive, e.g. "package/builds/doc-0.json"
  std::string data;  // the file's contents
};

class TarReader {
 public:
  static constexpr uint64_t kDefaultMaxMemberBytes = 256ull << 20;

  // Opens `path` (gzip-compressed or not). Throws spade::Error kNotFound / kIOError naming it.
  static std::unique_ptr<TarReader> OpenFile(const std::string& path,
                                             uint64_t max_member_bytes = kDefaultMaxMemberBytes);
  // Reads an uncompressed archive held in `bytes` (which must outlive the reader); `name`
  // is used in messages.
  static std::unique_ptr<TarReader> FromMemory(std::string_view bytes, const std::string& name,
                                               uint64_t max_member_bytes = kDefaultMaxMemberBytes);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next regular file; false at the end of the archive (a zero block or a clean end of
  // input). Throws spade::Error kCorruption for a bad header, a truncated member or a
  // truncated/corrupt gzip stream: "brown.tgz: member 3 (package/ca03): truncated".
  bool Next(TarEntry* entry);

  const std::string& name() const { return name_; }
  // Compressed bytes consumed and the file's size on disk (0 for memory), for progress.
  uint64_t file_offset() const;
  uint64_t file_size() const { return file_size_; }

 private:
  TarReader(std::string name, uint64_t max_member_bytes)
      : name_(std::move(name)), max_member_bytes_(max_member_bytes) {}
  // Reads exactly n bytes; false on a clean end before the first byte, throws when the
  // input ends part-way (`what` names the thing being read).
  bool ReadExact(char* out, size_t n, const std::string& what);
  void Skip(uint64_t n, const std::string& what);
  [[noreturn]] void Fail(const std::string& what) const;

  std::string name_;
  uint64_t max_member_bytes_;
  void* gz_ = nullptr;  // gzFile, or null when reading memory
  std::string_view memory_;
  size_t memory_pos_ = 0;
  uint64_t file_size_ = 0;
  uint64_t members_ = 0;  // headers read, for messages
  bool done_ = false;
};

}  // namespace spade::data::corpus
