#include "tools/train_progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "data/error.h"
#include "encoder/threads.h"

namespace spade::tools {

void AddTrainLoopFlags(CLI::App* cmd, TrainLoopFlags* f) {
  cmd->add_option("--steps", f->steps, "Total optimizer steps (0 = the default)")->capture_default_str();
  cmd->add_option("--lr", f->lr, "Peak learning rate (0 = the default)")->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "Warm-up as a fraction of the steps")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed of initialisation, data order and dropout")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--log", f->log, "jsonl log (default OUT/log.jsonl)");
  cmd->add_option("--save-every", f->save_every, "Checkpoint every K steps")->capture_default_str();
  cmd->add_option("--eval-every", f->eval_every, "Held-out metrics every K steps")->capture_default_str();
  cmd->add_option("--log-every", f->log_every, "A log line every K steps")->capture_default_str();
  cmd->add_flag("--resume", f->resume, "Continue from OUT/checkpoint.safetensors");
}

encoder::TrainLoopConfig MakeTrainLoopConfig(const TrainLoopFlags& f, const std::string& out, int64_t default_steps,
                                             float default_lr) {
  if (f.steps < 0) throw Error(ErrorCode::kInvalidArgument, "--steps must not be negative");
  if (!(f.lr >= 0) || !std::isfinite(f.lr)) throw Error(ErrorCode::kInvalidArgument, "--lr must be a non-negative number");
  if (!(f.warmup >= 0 && f.warmup < 1)) throw Error(ErrorCode::kInvalidArgument, "--warmup must be in [0, 1)");
  if (f.threads < 0) throw Error(ErrorCode::kInvalidArgument, "--threads must not be negative (0 = all cores)");
  if (f.save_every < 0 || f.eval_every < 0 || f.log_every <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "--save-every and --eval-every must be >= 0, --log-every > 0");
  }
  encoder::SetNumThreads(f.threads);
  encoder::TrainLoopConfig lc;
  lc.steps = f.steps > 0 ? f.steps : default_steps;
  lc.save_every = f.save_every;
  lc.eval_every = f.eval_every;
  lc.log_every = f.log_every;
  lc.out_dir = out;
  lc.log_path = f.log;
  lc.resume = f.resume;
  lc.optimizer.lr = f.lr > 0 ? f.lr : default_lr;
  lc.optimizer.warmup_steps = static_cast<int64_t>(f.warmup * static_cast<float>(lc.steps));
  lc.optimizer.total_steps = lc.steps;
  return lc;
}

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
