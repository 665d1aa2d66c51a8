// Reader and writer of the safetensors format (https://huggingface.co/docs/safetensors):
//
//   bytes 0..7   little-endian u64 N, the JSON header's length
//   bytes 8..8+N JSON: {"<tensor name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
//                       ..., "__metadata__": {"<str>": "<str>"}}   (padded with spaces)
//   the rest     the data buffer; offsets are relative to its start, row-major, little-endian
//
// The parser trusts nothing in the file: it checks the header length against the file size,
// every entry's dtype, shape and offsets (inside the buffer, exactly numel * dtype size,
// tensors tiling the buffer without overlap or gaps), and names the tensor in every error.
// It never reads outside the bytes it is given; tests/fuzz/encoder_safetensors_fuzz.cc
// fuzzes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spade::encoder {

struct TensorEntry {
  std::string name;
  std::string dtype;            // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;   // [] for a scalar
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // in header order
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data buffer starts in the file (8 + N)
  uint64_t data_size = 0;    // bytes in the data buffer
};

// Bytes per element of a safetensors dtype; 0 when unknown.
size_t DTypeSize(const std::string& dtype);

// Parses a header from the first `size` bytes of a file whose total size is `file_size`
// (size may be just the header prefix; file_size bounds the data). `source` names the file
// in errors. Throws Error(kCorruption) for anything malformed.
SafetensorsHeader ParseSafetensorsHeader(const uint8_t* data, size_t size, uint64_t file_size,
                                         const std::string& source);

// A safetensors file read whole into memory.
class SafetensorsFile {
 public:
  // Throws kNotFound / kIOError / kCorruption naming `path`.
  static SafetensorsFile Open(const std::string& path);
  // Parses an in-memory copy (tests, fuzzing).
  static SafetensorsFile FromBytes(std::vector<uint8_t> bytes, const std::string& source);

  const SafetensorsHeader& header() const { return header_; }
  const TensorEntry* Find(const std::string& name) const;  // nullptr when absent
  // The tensor converted to float32 (from F32, F16, BF16 or F64). Throws kInvalidArgument
  // naming the tensor for another dtype, or when `expected_shape` is non-empty and differs.
  std::vector<float> ReadFloat(const TensorEntry& t, const std::vector<int64_t>& expected_shape = {}) const;
  const std::string& source() const { return source_; }

 private:
  std::vector<uint8_t> bytes_;
  SafetensorsHeader header_;
  std::string source_;
};

struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // numel floats, row-major; written as F32
};

// Writes a complete file atomically: a temporary file in the same directory, fsync, then
// rename over `path`; on failure `path` is untouched and the temporary is removed.
// Throws kIOError naming the path, kInvalidArgument for duplicate names.
void WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Writes `contents` to `path` with the same temporary-file-then-rename protocol.
void WriteFileAtomic(const std::string& path, const std::string& contents);

}  // namespace spade::encoder
