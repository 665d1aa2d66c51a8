// One multiple-choice question made ready for the QA model: per choice the token sequence
// "[CLS] question [SEP] choice [SEP]" in the encoder's tokenizer, the KG concept aligned to
// each token (ERNIE: the first subword of each grounded mention, fusion/mention_align.h),
// the retrieved question→answer paths grouped by concept pair (KagNet), and the KG-only
// scorer's features standardised by its weights (the "small feature head").
//
// Everything here comes from one KgScorer::Score call (grounding, paths, features), so the
// QA model sees exactly the evidence `spade ask --scorer kg` explains.
//
// Thread-safety: BuildQaExample is a pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/mcq.h"
#include "encoder/pretrain_data.h"
#include "retrieval/scorer.h"

namespace spade::fusion {

struct QaPathPair {
  kg::ConceptId question = 0, answer = 0;
  std::vector<retrieval::Path> paths;  // best first
};

struct QaChoice {
  std::vector<int32_t> ids;        // (T_c) [CLS] question [SEP] choice [SEP], T_c <= max_seq
  std::vector<int32_t> type_ids;   // (T_c) 0 up to the first [SEP], 1 after
  std::vector<int32_t> entity;     // (T_c) concept id aligned to the token, -1 for none
  std::vector<QaPathPair> pairs;   // pairs with at least one path, in first-path order
  std::vector<float> kg_features;  // KgFeatureNames() order, (x - mean) / scale
  int dropped_mentions = 0;        // mentions that found no token (overlap, truncation)
};

struct QaExample {
  std::string id;
  std::string source;              // "file:line"
  std::vector<QaChoice> choices;   // in the item's order
  int label = -1;                  // index of the right choice; -1 without an answer key
};

struct QaExampleOptions {
  int max_seq = 64;           // tokens per choice sequence; the question is cut first
  size_t max_paths_per_pair = 5;
  size_t max_pairs = 16;
};

// `scored` is scorer.Score(item) (its choices in the item's order). Throws
// spade::encoder::Error(kInvalidArgument) naming item.source when the tokenizer has no
// [CLS]/[SEP], max_seq cannot hold the special tokens and one token of each side, or
// `scored` does not belong to `item`.
QaExample BuildQaExample(const data::McqItem& item, const retrieval::QuestionResult& scored,
                         const retrieval::KgScorerWeights& weights, const encoder::TextTokenizer& tok,
                         const QaExampleOptions& options = {});

}  // namespace spade::fusion
