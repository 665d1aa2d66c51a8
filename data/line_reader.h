// LineReader: reads a text file line by line, transparently gunzipping `.gz` input
// (zlib reads plain files through the same calls), with line numbers for error messages.
//
// Not thread-safe; one reader per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spade {

class LineReader {
 public:
  // Opens `path`; throws spade::Error kNotFound / kIOError naming the file.
  // Lines longer than `max_line_bytes` are reported by Next() as over-long (their
  // content is skipped up to the next newline) so one broken row cannot exhaust memory.
  explicit LineReader(const std::string& path, size_t max_line_bytes = 1 << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  enum class Status { kLine, kTooLong, kEnd };

  // Reads the next line (without its '\n' or a trailing '\r') into *line. Returns kEnd
  // at a clean end of input. Throws spade::Error kCorruption for a truncated or corrupt
  // gzip stream ("file.gz: truncated gzip stream after line N").
  Status Next(std::string_view* line);

  // Reads whole lines up to about `target_bytes` into *chunk (each ending in '\n'),
  // for handing to a parser thread. Returns the number of lines; 0 at end of input.
  // Over-long lines are kept whole here; the parser reports them.
  size_t NextChunk(size_t target_bytes, std::string* chunk);

  const std::string& path() const { return path_; }
  uint64_t line_number() const { return line_number_; }  // of the last line returned
  // Bytes consumed of the file on disk (compressed bytes for .gz), and its size: for ETA.
  uint64_t file_offset() const;
  uint64_t file_size() const { return file_size_; }

 private:
  bool Fill();  // false at end of input
  void CheckError();

  std::string path_;
  void* gz_ = nullptr;  // gzFile
  size_t max_line_bytes_;
  uint64_t file_size_ = 0;
  uint64_t line_number_ = 0;
  std::string buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string line_;  // storage for lines that straddle buffer refills
};

// sha256 of a whole file, as lowercase hex. Throws spade::Error naming the file.
std::string Sha256File(const std::string& path);

}  // namespace spade
