#include "encoder/error.h"

namespace spade::encoder {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

void ThrowShapeMismatch(const std::string& what, const std::vector<int64_t>& expected,
                        const std::vector<int64_t>& got) {
  throw Error(ErrorCode::kInvalidArgument,
              what + ": expected shape " + ShapeString(expected) + ", got " + ShapeString(got));
}

}  // namespace spade::encoder
