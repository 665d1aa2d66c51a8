// One training loop for every trainer (pretrain, distill, fine-tune), the shape DESIGN.md
// fixes:  batch = f(seed, step, rank) -> forward -> loss -> backward -> GRADIENTS COMPLETE
// (the one place a data-parallel all-reduce goes) -> clip -> AdamW -> log -> checkpoint.
//
// A TrainTask owns the models and the data; the loop owns the optimizers, the schedule,
// the log, checkpoints and resume. Because a task's batch and dropout masks are pure
// functions of (seed, step, rank), a checkpoint needs only the weights, the optimizer
// state and the step: a run killed at any moment and resumed from its last checkpoint
// ends with bit-identical weights to an uninterrupted run at the same thread count.
//
// Checkpoint: OUT/checkpoint.safetensors, one file written atomically (temporary file,
// fsync, rename), holding for arena a: "a{a}.value.{name}", "a{a}.adam_m.{name}",
// "a{a}.adam_v.{name}", and metadata {"step", "updates.{a}", "fingerprint"}. The fingerprint
// (the task's description of its configuration) must match on --resume, else an error
// names both. A step whose loss or gradient is not finite throws Error(kNumerical) naming
// the step, before any parameter changes; the last checkpoint stays intact.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "encoder/optim.h"
#include "encoder/params.h"

namespace spade::encoder {

// Named scalars in a stable order (a log line's fields after step/loss/lr).
using Metrics = std::vector<std::pair<std::string, double>>;

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  // Trainable arenas; each gets its own AdamW. Stable for the task's lifetime.
  virtual std::vector<ParamArena*> Arenas() = 0;
  // Forward + backward of the batch for `step` (a pure function of the task's seed, step
  // and rank): accumulates gradients into Arenas(). Returns "loss" first, then its parts.
  virtual Metrics ForwardBackward(int64_t step) = 0;
  // After every optimizer update (e.g. ELECTRA re-ties its shared embeddings).
  virtual void AfterUpdate() {}
  // Held-out metrics (no gradient, dropout off).
  virtual Metrics Evaluate() = 0;
  // Asked after each evaluation and once before the first step: true ends the run early
  // (early stopping); the loop then checkpoints and saves the model as at the last step. A
  // task that stops must answer true again after a --resume of the stopped run.
  virtual bool ShouldStop() const { return false; }
  // The finished model in its user-facing layout (config.json, model.safetensors, tokenizer).
  virtual void SaveModel(const std::string& dir) const = 0;
  // Non-padding tokens in one step's batch, for tokens/s.
  virtual int64_t TokensPerStep() const = 0;
  // The configuration a checkpoint must match to be resumed.
  virtual std::string Fingerprint() const = 0;
};

struct TrainLoopConfig {
  int64_t steps = 1000;           // total optimizer updates
  int64_t save_every = 200;       // checkpoint every K updates (and at the end); 0 = only at the end
  int64_t eval_every = 200;       // held-out metrics every K updates (and at the end); 0 = only at the end
  int64_t log_every = 10;         // a training log line every K updates
  std::string out_dir;            // checkpoint.safetensors, the final model (SaveModel)
  std::string log_path;           // jsonl; empty = OUT/log.jsonl
  bool resume = false;            // continue from OUT/checkpoint.safetensors
  AdamWConfig optimizer;          // total_steps is set to `steps` when 0
};

// Called after each logged step with the line just written (for a terminal display).
struct TrainProgress {
  int64_t step = 0, steps = 0;
  double loss = 0, tokens_per_second = 0, eta_seconds = 0;
};
using ProgressCallback = std::function<void(const TrainProgress&)>;

struct TrainResult {
  int64_t steps_run = 0;      // updates done by this call (after any resume)
  int64_t resumed_from = 0;   // 0 = fresh start
  bool stopped_early = false; // the task's ShouldStop ended the run before cfg.steps
  Metrics final_eval;
};

// Runs the loop to cfg.steps; throws Error (kInvalidArgument for bad config or a foreign
// checkpoint, kNumerical for a non-finite loss/gradient, kIOError for writes).
TrainResult RunTrainLoop(TrainTask* task, const TrainLoopConfig& cfg, const ProgressCallback& progress = {});

// Where the gradients of a step are complete. Single-process: nothing to do. Under MPI
// this is where each arena's gradients are all-reduced (averaged over ranks).
void AllReduceGradients(const std::vector<ParamArena*>& arenas);

// Checkpoint I/O, exposed for tests and for tools that inspect a run.
void SaveTrainCheckpoint(const std::string& path, const std::vector<ParamArena*>& arenas,
                         const std::vector<AdamW>& optimizers, int64_t step, const std::string& fingerprint);
// Returns the step; restores values and optimizer state. Throws kCorruption / kInvalidArgument
// naming the file and the tensor or field.
int64_t LoadTrainCheckpoint(const std::string& path, const std::vector<ParamArena*>& arenas,
                            std::vector<AdamW>* optimizers, const std::string& fingerprint);

}  // namespace spade::encoder
