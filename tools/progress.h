// Terminal progress for long work: "\r<label> 42.0%  1.3M rows/s  ETA 0:12" on stderr,
// throttled, and silent when stderr is not a terminal (piped or in CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace spade::tools {

class Progress {
 public:
  Progress();
  // Reports `done` of `total` work units (bytes) and `items` processed (rows).
  void Update(const std::string& label, uint64_t done, uint64_t total, uint64_t items,
              const char* item_name = "rows");
  void Finish();  // ends the line, if one was drawn
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace spade::tools
