#include "tools/train_progress.h"

#include <unistd.h>

#include <cstdio>

namespace spade::tools {

encoder::ProgressCallback TerminalTrainProgress() {
  const bool tty = ::isatty(2);
  return [tty](const encoder::TrainProgress& p) {
    if (!tty) return;
    const int eta = static_cast<int>(p.eta_seconds);
    std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f  %.0f tok/s  ETA %d:%02d:%02d ", static_cast<long long>(p.step),
                 static_cast<long long>(p.steps), p.loss, p.tokens_per_second, eta / 3600, eta / 60 % 60, eta % 60);
    if (p.step == p.steps) std::fprintf(stderr, "\n");
  };
}

void PrintHeldOut(const encoder::Metrics& metrics) {
  for (const auto& [k, v] : metrics) std::printf("  held-out %s = %.4f\n", k.c_str(), v);
}

}  // namespace spade::tools
