#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace spade::tools {

Progress::Progress() : enabled_(::isatty(STDERR_FILENO) != 0) {}

void Progress::Update(const std::string& label, uint64_t done, uint64_t total, uint64_t items,
                      const char* item_name) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (label != label_) {
    Finish();
    label_ = label;
    start_ = now;
  } else if (now - last_ < std::chrono::milliseconds(200) && done < total) {
    return;
  }
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  double rate = secs > 0 ? static_cast<double>(items) / secs : 0.0;
  int eta = (frac > 0 && frac < 1) ? static_cast<int>(secs / frac - secs) : 0;
  std::fprintf(stderr, "\r%s %5.1f%%  %.2fM %s/s  ETA %d:%02d   ", label_.c_str(), 100 * frac, rate / 1e6,
               item_name, eta / 60, eta % 60);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace spade::tools
