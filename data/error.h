// Typed errors shared by data/, kg/, retrieval/ and fusion/.
//
// Library code never exits or prints: it throws spade::Error (or a subclass) whose
// message names the input and position ("train.jsonl:41: choice 'F' ..."). Only
// tools/ catches it, prints `spade: error: ...` and picks the exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace spade {

enum class ErrorCode {
  kInvalidArgument,  // the caller asked for something malformed
  kNotFound,         // a named thing (file, concept, tensor) does not exist
  kCorruption,       // stored data is not what its format promises
  kIOError,          // the operating system or RocksDB failed
  kFormatVersion,    // a store/checkpoint written by another format version
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// A problem with one input row; `where` is "file:line".
class ParseError : public Error {
 public:
  ParseError(const std::string& where, const std::string& reason)
      : Error(ErrorCode::kInvalidArgument, where + ": " + reason), reason_(reason) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

inline Error InvalidArgument(const std::string& m) { return Error(ErrorCode::kInvalidArgument, m); }
inline Error NotFound(const std::string& m) { return Error(ErrorCode::kNotFound, m); }
inline Error Corruption(const std::string& m) { return Error(ErrorCode::kCorruption, m); }
inline Error IOError(const std::string& m) { return Error(ErrorCode::kIOError, m); }

}  // namespace spade
