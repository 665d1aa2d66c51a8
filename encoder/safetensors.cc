#include "encoder/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/error.h"

namespace spade::encoder {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

[[noreturn]] void Corrupt(const std::string& source, const std::string& m) {
  throw Error(ErrorCode::kCorruption, source + ": " + m);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

size_t DTypeSize(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

SafetensorsHeader ParseSafetensorsHeader(const uint8_t* data, size_t size, uint64_t file_size,
                                         const std::string& source) {
  if (size < 8 || file_size < 8) {
    Corrupt(source, "truncated: " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  uint64_t n = 0;
  std::memcpy(&n, data, 8);
  if (n > kMaxHeader) Corrupt(source, "header length " + std::to_string(n) + " exceeds the 100 MiB limit");
  if (n > file_size - 8) {
    Corrupt(source, "truncated: header length " + std::to_string(n) + " but only " + std::to_string(file_size - 8) +
                        " bytes follow");
  }
  if (n > size - 8) Corrupt(source, "header length " + std::to_string(n) + " exceeds the bytes given");
  SafetensorsHeader h;
  h.data_offset = 8 + n;
  h.data_size = file_size - 8 - n;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(data + 8, data + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    Corrupt(source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) Corrupt(source, "header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) Corrupt(source, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) Corrupt(source, "__metadata__." + m.key() + " is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!v.is_object()) Corrupt(source, where + ": entry is not an object");
    TensorEntry t;
    t.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) Corrupt(source, where + ": missing dtype");
    t.dtype = dt->get<std::string>();
    const size_t esize = DTypeSize(t.dtype);
    if (esize == 0) Corrupt(source, where + ": unknown dtype '" + t.dtype + "'");
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) Corrupt(source, where + ": missing shape");
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) Corrupt(source, where + ": shape entries must be non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > (uint64_t{1} << 62) / dim) Corrupt(source, where + ": shape overflows");
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned()) {
      Corrupt(source, where + ": data_offsets must be two non-negative integers");
    }
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.begin > t.end) Corrupt(source, where + ": data_offsets begin > end");
    if (t.end > h.data_size) {
      Corrupt(source, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                          ") run past the " + std::to_string(h.data_size) +
                          "-byte data buffer (truncated file or a header that lies)");
    }
    if (numel > (uint64_t{1} << 62) / esize || t.end - t.begin != numel * esize) {
      Corrupt(source, where + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes but " + t.dtype +
                          " shape " + ShapeString(t.shape) + " needs " + std::to_string(numel * esize));
    }
    h.tensors.push_back(std::move(t));
  }
  // Tensors must tile the buffer: no overlap (two names sharing bytes) and no gaps.
  std::vector<const TensorEntry*> order;
  for (const auto& t : h.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const TensorEntry* t : order) {
    if (t->begin < pos) Corrupt(source, "tensor '" + t->name + "': data overlaps the previous tensor");
    if (t->begin > pos) Corrupt(source, "tensor '" + t->name + "': gap in the data buffer before it");
    pos = t->end;
  }
  if (pos != h.data_size) {
    Corrupt(source, std::to_string(h.data_size - pos) + " bytes after the last tensor are not described by the header");
  }
  return h;
}

SafetensorsFile SafetensorsFile::FromBytes(std::vector<uint8_t> bytes, const std::string& source) {
  SafetensorsFile f;
  f.header_ = ParseSafetensorsHeader(bytes.data(), bytes.size(), bytes.size(), source);
  f.bytes_ = std::move(bytes);
  f.source_ = source;
  return f;
}

SafetensorsFile SafetensorsFile::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(ErrorCode::kIOError, path + ": cannot determine size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw Error(ErrorCode::kIOError, path + ": read failed");
  }
  return FromBytes(std::move(bytes), path);
}

const TensorEntry* SafetensorsFile::Find(const std::string& name) const {
  for (const auto& t : header_.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<float> SafetensorsFile::ReadFloat(const TensorEntry& t, const std::vector<int64_t>& expected) const {
  if (!expected.empty() && expected != t.shape) {
    ThrowShapeMismatch(source_ + ": tensor '" + t.name + "'", expected, t.shape);
  }
  const uint8_t* p = bytes_.data() + header_.data_offset + t.begin;
  const size_t esize = DTypeSize(t.dtype);
  const size_t n = static_cast<size_t>((t.end - t.begin) / esize);
  std::vector<float> out(n);
  if (t.dtype == "F32") {
    std::memcpy(out.data(), p, n * 4);
  } else if (t.dtype == "F16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = HalfToFloat(h);
    }
  } else if (t.dtype == "BF16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      const uint32_t bits = static_cast<uint32_t>(h) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  } else if (t.dtype == "F64") {
    for (size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                source_ + ": tensor '" + t.name + "': dtype " + t.dtype + " is not a floating-point type");
  }
  return out;
}

namespace {

// Writes all of `data` to fd or throws.
void WriteAll(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kIOError, path + ": write failed: " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

template <typename Fn>
void AtomicWrite(const std::string& path, Fn&& write_body) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kIOError, tmp + ": cannot create: " + std::strerror(errno));
  try {
    write_body(fd, tmp);
    if (::fsync(fd) != 0) throw Error(ErrorCode::kIOError, tmp + ": fsync failed: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIOError, tmp + ": close failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIOError, path + ": rename failed: " + why);
  }
}

}  // namespace

void WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json j = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (j.contains(t.name) || t.name == "__metadata__") {
      throw Error(ErrorCode::kInvalidArgument, path + ": tensor '" + t.name + "' written twice");
    }
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    j[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + numel * 4}}};
    offset += numel * 4;
  }
  if (!metadata.empty()) j["__metadata__"] = metadata;
  std::string header = j.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // align the data buffer to 8 bytes
  const uint64_t n = header.size();
  AtomicWrite(path, [&](int fd, const std::string& tmp) {
    WriteAll(fd, &n, 8, tmp);
    WriteAll(fd, header.data(), header.size(), tmp);
    for (const auto& t : tensors) {
      uint64_t numel = 1;
      for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
      WriteAll(fd, t.data, numel * 4, tmp);
    }
  });
}

void WriteFileAtomic(const std::string& path, const std::string& contents) {
  AtomicWrite(path, [&](int fd, const std::string& tmp) { WriteAll(fd, contents.data(), contents.size(), tmp); });
}

}  // namespace spade::encoder
