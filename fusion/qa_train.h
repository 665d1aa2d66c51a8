// `spade train`: fine-tunes the QA model (fusion/qa_model.h) on multiple-choice files with
// the shared training loop (encoder/train_loop.h: AdamW, warm-up, checkpoints, kill -9 safe
// --resume, NaN stop, jsonl log). Evidence (grounding, paths, KG features) is computed once
// per question by the KG-only scorer on every thread, then the examples are fixed.
//
// Data order: step s draws one training file (probability proportional to its size, from
// (seed, s, rank)) and Q questions of it from that file's epoch permutation, so a batch
// never mixes choice counts (CommonsenseQA 5, OpenBookQA 4, Social IQa 3) and is a pure
// function of (seed, step, rank).
//
// Model selection on dev and early stopping: every evaluation whose dev accuracy beats the
// best so far writes OUT/best/ (atomically, with its accuracy); the final model in OUT/ is the
// best one, not the last. With `patience` K, the run stops after K evaluations in a row
// without a better accuracy. OUT/early_stop.json keeps the count, so a resumed run (best
// accuracy from OUT/best/best.json) selects and stops as an uninterrupted one would.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "encoder/train_loop.h"
#include "fusion/qa_model.h"
#include "fusion/qa_model_io.h"
#include "kg/graph.h"
#include "kg/transe.h"
#include "retrieval/lemmatizer.h"
#include "retrieval/scorer.h"

namespace spade::fusion {

// The KG side a QA model reads, loaded once by the caller and outliving the task.
struct QaKnowledge {
  const kg::Graph* graph = nullptr;
  const retrieval::Lemmatizer* lemmatizer = nullptr;
  const kg::TransE* transe = nullptr;         // required by fusion and paths
  retrieval::KgScorerWeights weights;         // standardises the features (data/models/kg_scorer.json)
  retrieval::KgScorerOptions scorer;
  KgIdentity identity;                        // recorded in the saved model
};

struct QaTrainConfig {
  std::string init_dir;                  // encoder directory (spade pretrain / Hugging Face layout)
  bool random_init = false;              // the encoder's shape, not its weights (baseline rows)
  std::vector<std::string> train_paths;  // any format data/mcq_formats.h reads
  std::string dev_path;
  std::string out_dir;
  QaModelConfig model;
  QaExampleOptions examples;
  int questions_per_step = 8;            // Q
  uint64_t seed = 1;
  int rank = 0;
  int threads = 2;                       // evidence building
  std::string cache_dir;                 // evidence cache (fusion/qa_cache.h); empty = none
  int patience = 0;                      // stop after this many evaluations without a better
                                         // dev accuracy (0 = run every step)
  bool resume = false;                   // continue OUT/best and the patience count (a fresh
                                         // run ignores them)
  // Task-specific distillation (TinyBERT's second stage, prediction layer): a trained QA
  // model directory whose choice scores the student also matches. Loss =
  //   soft_weight * KL(softmax(teacher/T) || softmax(student/T)) * T^2
  //   + (1 - soft_weight) * cross-entropy with the labels.
  // The teacher reads the student's examples, so both must share the tokenizer and the
  // example options; empty = no teacher.
  std::string teacher_dir;
  float soft_weight = 0.5f;
  float temperature = 2.0f;
};

// Builds the examples of `items` (scorer on `threads` threads, then BuildQaExample).
std::vector<QaExample> BuildQaExamples(const std::vector<data::McqItem>& items, const QaKnowledge& kg,
                                       const encoder::TextTokenizer& tok, const QaExampleOptions& options,
                                       int threads);

// Throws encoder::Error naming the file for unreadable data, a dev set without answer keys,
// an encoder directory that does not load, or a teacher whose tokenizer or example options
// differ from the student's.
std::unique_ptr<encoder::TrainTask> MakeQaTrainTask(const QaTrainConfig& config, const QaKnowledge& kg);

}  // namespace spade::fusion
