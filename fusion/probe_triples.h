// Probe (b) of issue 8: ConceptNet-100k triple classification (Li et al., 2016's split).
// Train on train100k.txt (every row a true triple) with sampled negatives, choose the
// decision threshold on dev1.txt, report accuracy on dev2.txt (both labelled 1/0, half
// negatives).
//
// A triple is read as "[CLS] head [SEP] relation tail [SEP]", the relation in words ("at
// location"); the classification head (2 labels on the pooled [CLS]) gives
// score = logit(true) - logit(false). Each step draws P positives in an epoch-wise shuffled
// order and, for each, one negative that replaces its head or its tail (half each) with a
// concept drawn uniformly from the training set's concepts, redrawn while the corrupted
// triple is a training positive. All encoder weights are fine-tuned.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "encoder/train_loop.h"

namespace spade::fusion {

struct TripleRow {
  std::string relation, head, tail;
  int label = 1;  // 1 true, 0 false
};

// Reads "relation<TAB>head<TAB>tail<TAB>x" rows; x is a weight (train100k) or a 0/1 label
// (dev1/dev2) when `labelled`. Throws encoder::Error naming file:line for a malformed row, an
// empty file or a missing one.
std::vector<TripleRow> ReadConceptNet100k(const std::string& path, bool labelled);

// "AtLocation" -> "at location", "HasA" -> "has a".
std::string RelationWords(const std::string& relation);

// The threshold on `scores` that maximises accuracy against `labels` (a midpoint between
// neighbouring sorted scores; ties resolved to the smallest threshold), and that accuracy.
std::pair<double, double> BestThreshold(const std::vector<double>& scores, const std::vector<int>& labels);

struct TripleProbeConfig {
  std::string encoder_dir;
  bool random_init = false;
  std::string train_path, dev1_path, dev2_path;
  int positives_per_step = 32;  // each with one negative
  int max_seq = 32;
  uint64_t seed = 1;
  int rank = 0;
};

std::unique_ptr<encoder::TrainTask> MakeTripleProbeTask(const TripleProbeConfig& c);

}  // namespace spade::fusion
