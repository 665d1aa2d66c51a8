// Probe (a) of issue 8: fine-tune an encoder with the multiple-choice head on a
// CommonsenseQA-style training file for a fixed budget, report accuracy on a dev file.
//
// Each choice is "[CLS] question [SEP] choice [SEP]"; the head scores the pooled [CLS] vector
// (encoder/model.h multiple_choice); softmax over the question's choices, cross-entropy.
// All encoder weights are fine-tuned. Runs as a TrainTask of the shared loop (checkpoints,
// --resume, jsonl log); the questions of step s are positions [s*Q, (s+1)*Q) of an epoch-wise
// shuffled order drawn from the seed. Every question of a file must have the same number of
// choices (CommonsenseQA 5, OpenBookQA 4); the dev file is never trained on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "encoder/train_loop.h"

namespace spade::fusion {

struct McProbeConfig {
  std::string encoder_dir;  // config.json, model.safetensors, tokenizer files
  bool random_init = false; // the same shape, randomly initialised (the baseline)
  std::string train_path, dev_path;  // jsonl (data/mcq.h)
  int questions_per_step = 16;
  int max_seq = 64;
  uint64_t seed = 1;        // head initialisation, data order, dropout
  int rank = 0;
};

// Throws spade::Error / encoder::Error naming the file for unreadable data, a question whose
// choice count differs from the first's (file:line), or a directory without an encoder.
std::unique_ptr<encoder::TrainTask> MakeMcProbeTask(const McProbeConfig& c);

}  // namespace spade::fusion
