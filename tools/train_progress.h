// What the training commands (pretrain, distill, probe) share: the training loop's flags
// (one spelling and one meaning everywhere), a progress line per logged step on a terminal
// (silent when stderr is piped) and the held-out summary.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "encoder/train_loop.h"

namespace spade::tools {

struct TrainLoopFlags {
  int64_t steps = 0;        // 0 = the command's default
  float lr = 0;             // 0 = the command's default
  float warmup = 0.06f;     // fraction of the steps
  uint64_t seed = 1;
  int threads = 0;          // 0 = all cores
  std::string log;          // empty = OUT/log.jsonl
  int64_t save_every = 200, eval_every = 200, log_every = 10;
  bool resume = false;
};

// --steps --lr --warmup --seed --threads --log --save-every --eval-every --log-every --resume.
// `f` holds the defaults shown in --help.
void AddTrainLoopFlags(CLI::App* cmd, TrainLoopFlags* f);
// The loop configuration for OUT; steps/lr fall back to the given defaults when the flags
// are 0. Sets the thread count. Throws spade::Error for a negative or non-finite value.
encoder::TrainLoopConfig MakeTrainLoopConfig(const TrainLoopFlags& f, const std::string& out, int64_t default_steps,
                                             float default_lr);

// "\rstep 120/6000  loss 7.1234  4100 tok/s  ETA 0:23:51" on stderr when it is a terminal.
encoder::ProgressCallback TerminalTrainProgress();
// "  held-out mlm_accuracy = 0.4120" per metric on stdout.
void PrintHeldOut(const encoder::Metrics& metrics);

}  // namespace spade::tools
