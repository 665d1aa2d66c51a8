#include "data/corpus/tar.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "data/error.h"

namespace spade::data::corpus {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxNameBytes = 1 << 16;  // GNU long names
constexpr uint64_t kMaxPaxBytes = 1 << 20;   // pax extended headers

// Field offsets and widths of a ustar header.
struct Field {
  size_t offset, size;
};
constexpr Field kName{0, 100}, kSize{124, 12}, kChecksum{148, 8}, kType{156, 1}, kMagic{257, 6}, kPrefix{345, 155};

std::string CString(const char* block, Field f) {
  const char* p = block + f.offset;
  size_t n = 0;
  while (n < f.size && p[n] != '\0') ++n;
  return std::string(p, n);
}

// Octal number padded with spaces or NULs; GNU base-256 when the top bit is set.
bool ParseNumber(const char* block, Field f, uint64_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(block + f.offset);
  if (p[0] & 0x80) {
    if (p[0] & 0x40) return false;  // negative
    uint64_t v = p[0] & 0x3F;
    for (size_t i = 1; i < f.size; ++i) {
      if (v >> 55) return false;  // would overflow
      v = (v << 8) | p[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < f.size && (p[i] == ' ' || p[i] == '\0')) ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < f.size && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return false;
    v = v * 8 + (p[i] - '0');
    any = true;
  }
  for (; i < f.size; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return false;
  }
  if (!any) return false;
  *out = v;
  return true;
}

bool ChecksumOk(const char* block) {
  uint64_t stored = 0;
  if (!ParseNumber(block, kChecksum, &stored)) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.size;
    unsigned char c = in_field ? ' ' : static_cast<unsigned char>(block[i]);
    unsigned_sum += c;
    signed_sum += static_cast<signed char>(c);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

uint64_t Padded(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// Takes the `path` record of a pax extended header ("<len> key=value\n" records) into
// *path (left alone when there is none); false when the records are malformed.
bool PaxPath(std::string_view data, std::string* path) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t space = data.find(' ', pos);
    if (space == std::string_view::npos) return false;
    uint64_t len = 0;
    for (size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9' || len > kMaxPaxBytes) return false;
      len = len * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    if (len <= space - pos || pos + len > data.size() || data[pos + len - 1] != '\n') return false;
    std::string_view record = data.substr(space + 1, pos + len - 1 - (space + 1));
    if (record.starts_with("path=")) {
      *path = std::string(record.substr(5));
    }
    pos += len;
  }
  return true;
}

}  // namespace

std::unique_ptr<TarReader> TarReader::OpenFile(const std::string& path, uint64_t max_member_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw NotFound(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InvalidArgument(path + ": is a directory, expected a tar archive");
  std::unique_ptr<TarReader> r(new TarReader(path, max_member_bytes));
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) throw IOError(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz, 256 * 1024);
  r->gz_ = gz;
  r->file_size_ = static_cast<uint64_t>(st.st_size);
  return r;
}

std::unique_ptr<TarReader> TarReader::FromMemory(std::string_view bytes, const std::string& name,
                                                 uint64_t max_member_bytes) {
  std::unique_ptr<TarReader> r(new TarReader(name, max_member_bytes));
  r->memory_ = bytes;
  return r;
}

TarReader::~TarReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

uint64_t TarReader::file_offset() const {
  if (gz_ == nullptr) return memory_pos_;
  long off = gzoffset(static_cast<gzFile>(gz_));
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

void TarReader::Fail(const std::string& what) const { throw Corruption(name_ + ": " + what); }

bool TarReader::ReadExact(char* out, size_t n, const std::string& what) {
  size_t got = 0;
  if (gz_ == nullptr) {
    got = std::min(n, memory_.size() - memory_pos_);
    std::memcpy(out, memory_.data() + memory_pos_, got);
    memory_pos_ += got;
  } else {
    gzFile gz = static_cast<gzFile>(gz_);
    while (got < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(gz, out + got, chunk);
      int errnum = Z_OK;
      const char* msg = gzerror(gz, &errnum);
      if (r < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
        Fail(errnum == Z_BUF_ERROR ? "truncated gzip stream in " + what
                                   : "corrupt gzip stream in " + what + " (" + (msg ? msg : "zlib error") + ")");
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
  }
  if (got == n) return true;
  if (got == 0) return false;
  Fail("truncated archive: " + what + " ends early");
}

void TarReader::Skip(uint64_t n, const std::string& what) {
  char buf[4096];
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, sizeof buf));
    if (!ReadExact(buf, chunk, what)) Fail("truncated archive: " + what + " ends early");
    n -= chunk;
  }
}

bool TarReader::Next(TarEntry* entry) {
  std::string long_name;  // from a GNU 'L' or pax 'x' header, for the next member
  char block[kBlock];
  while (!done_) {
    ++members_;
    const std::string where = "member " + std::to_string(members_);
    if (!ReadExact(block, kBlock, where + " header")) {
      done_ = true;  // archives without the two trailing zero blocks still end cleanly
      break;
    }
    if (std::all_of(block, block + kBlock, [](char c) { return c == '\0'; })) {
      done_ = true;
      break;
    }
    if (!ChecksumOk(block)) Fail(where + ": bad header checksum (not a tar archive, or damaged)");
    uint64_t size = 0;
    if (!ParseNumber(block, kSize, &size)) Fail(where + ": bad size field");
    char type = block[kType.offset];
    std::string name = CString(block, kName);
    if (CString(block, kMagic).starts_with("ustar")) {
      std::string prefix = CString(block, kPrefix);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!long_name.empty()) name = std::move(long_name);
    long_name.clear();
    const std::string member = where + " (" + name + ")";
    if (type == 'L' || type == 'x') {
      uint64_t limit = type == 'L' ? kMaxNameBytes : kMaxPaxBytes;
      if (size > limit) Fail(member + ": extended header of " + std::to_string(size) + " bytes is too large");
      std::string data(static_cast<size_t>(size), '\0');
      if (!ReadExact(data.data(), data.size(), member)) Fail("truncated archive: " + member + " ends early");
      Skip(Padded(size) - size, member);
      if (type == 'L') {
        long_name = data.substr(0, data.find('\0'));
      } else if (!PaxPath(data, &long_name)) {
        Fail(member + ": malformed pax extended header");
      }
      continue;
    }
    bool regular = type == '0' || type == '\0' || type == '7';
    bool has_data = !(type >= '1' && type <= '6');
    if (!regular) {
      if (has_data) Skip(Padded(size), member);
      continue;
    }
    if (name.empty()) Fail(where + ": a file with an empty name");
    if (size > max_member_bytes_) {
      Fail(member + ": " + std::to_string(size) + " bytes is over the limit of " + std::to_string(max_member_bytes_));
    }
    entry->name = std::move(name);
    entry->data.resize(static_cast<size_t>(size));
    if (size > 0 && !ReadExact(entry->data.data(), entry->data.size(), member)) {
      Fail("truncated archive: " + member + " ends early");
    }
    Skip(Padded(size) - size, member);
    return true;
  }
  return false;
}

}  // namespace spade::data::corpus
