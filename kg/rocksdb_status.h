// The one place rocksdb::Status becomes spade::Error (internal to kg/).
#pragma once

#include <rocksdb/status.h>

#include <string>

#include "data/error.h"

namespace spade::kg {

// Throws spade::Error kIOError "WHAT: <rocksdb message>" unless `s` is ok.
inline void CheckRocks(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) throw IOError(what + ": " + s.ToString());
}

}  // namespace spade::kg
