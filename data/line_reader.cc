#include "data/line_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "data/error.h"

namespace spade {
namespace {
constexpr size_t kBufferBytes = 1 << 20;
}

LineReader::LineReader(const std::string& path, size_t max_line_bytes)
    : path_(path), max_line_bytes_(max_line_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw NotFound(path + ": cannot open: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw InvalidArgument(path + ": is a directory, expected a file");
  file_size_ = static_cast<uint64_t>(st.st_size);
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) throw IOError(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz, 256 * 1024);
  gz_ = gz;
  buf_.resize(kBufferBytes);
}

LineReader::~LineReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

uint64_t LineReader::file_offset() const {
  long off = gzoffset(static_cast<gzFile>(gz_));
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

void LineReader::CheckError() {
  int errnum = 0;
  const char* msg = gzerror(static_cast<gzFile>(gz_), &errnum);
  if (errnum == Z_OK) return;
  std::string what = errnum == Z_BUF_ERROR ? "truncated gzip stream" : std::string("corrupt input: ") + msg;
  throw Corruption(path_ + ": " + what + " after line " + std::to_string(line_number_));
}

bool LineReader::Fill() {
  if (eof_) return false;
  int n = gzread(static_cast<gzFile>(gz_), buf_.data(), static_cast<unsigned>(buf_.size()));
  if (n < 0) CheckError();
  if (n <= 0) {
    CheckError();  // gzread returns 0 with Z_BUF_ERROR for a truncated stream
    eof_ = true;
    return false;
  }
  pos_ = 0;
  end_ = static_cast<size_t>(n);
  return true;
}

LineReader::Status LineReader::Next(std::string_view* line) {
  line_.clear();
  bool too_long = false;
  bool any = false;
  for (;;) {
    if (pos_ == end_ && !Fill()) {
      if (!any) return Status::kEnd;
      break;  // last line without a trailing newline
    }
    any = true;
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : end_ - pos_;
    if (!too_long) {
      if (line_.size() + take > max_line_bytes_) {
        too_long = true;
        line_.clear();
      } else if (nl && line_.empty()) {
        // Fast path: the whole line is inside the buffer.
        pos_ += take + 1;
        ++line_number_;
        *line = std::string_view(start, take);
        if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
        return Status::kLine;
      } else {
        line_.append(start, take);
      }
    }
    pos_ += take;
    if (nl) {
      ++pos_;
      break;
    }
  }
  ++line_number_;
  if (too_long) return Status::kTooLong;
  *line = line_;
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  return Status::kLine;
}

size_t LineReader::NextChunk(size_t target_bytes, std::string* chunk) {
  chunk->clear();
  size_t lines = 0;
  while (chunk->size() < target_bytes) {
    if (pos_ == end_ && !Fill()) {
      if (!chunk->empty() && chunk->back() != '\n') {
        chunk->push_back('\n');
        ++lines;
      }
      break;
    }
    const char* start = buf_.data() + pos_;
    // Take every complete line in the buffer that fits the target.
    size_t avail = end_ - pos_;
    const char* last_nl = static_cast<const char*>(memrchr(start, '\n', avail));
    if (last_nl == nullptr) {
      chunk->append(start, avail);  // part of a line; keep reading
      pos_ = end_;
      continue;
    }
    size_t take = static_cast<size_t>(last_nl - start) + 1;
    for (const char* p = start; p < start + take; ++p) lines += (*p == '\n');
    chunk->append(start, take);
    pos_ += take;
  }
  // Finish a partial last line so chunks always hold whole lines.
  while (!chunk->empty() && chunk->back() != '\n') {
    if (pos_ == end_ && !Fill()) {
      chunk->push_back('\n');
      ++lines;
      break;
    }
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) + 1 : end_ - pos_;
    chunk->append(start, take);
    pos_ += take;
    if (nl) ++lines;
  }
  line_number_ += lines;
  return lines;
}

}  // namespace spade
