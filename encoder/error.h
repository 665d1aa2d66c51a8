// Typed errors of spade_encoder (the library is usable alone, so it does not share
// data/error.h). Library code never exits or prints: it throws encoder::Error whose
// message names the tensor or file and, for shape problems, both shapes:
//   "encoder.layer.3.attention.self.query.weight: expected shape (256, 256), got (256, 128)".
// tools/ catches std::exception, prints `spade: error: ...` and picks the exit code.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace spade::encoder {

enum class ErrorCode {
  kInvalidArgument,  // the caller asked for something malformed (bad id, bad shape)
  kNotFound,         // a named file or tensor does not exist
  kCorruption,       // stored data is not what its format promises
  kIOError,          // the operating system failed
  kNumerical,        // a NaN or Inf appeared during training
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// "(2, 3)" / "(7)" / "()": shapes in error messages.
std::string ShapeString(const std::vector<int64_t>& shape);
inline std::string ShapeString(int64_t rows, int64_t cols) { return ShapeString({rows, cols}); }

// Throws kInvalidArgument: "<what>: expected shape <expected>, got <got>".
[[noreturn]] void ThrowShapeMismatch(const std::string& what, const std::vector<int64_t>& expected,
                                     const std::vector<int64_t>& got);

}  // namespace spade::encoder
