// The KG-only answer scorer: for each choice of a multiple-choice question it grounds the
// question and the choice, finds the paths and the schema subgraph between them, turns
// them into a few features (path counts by length and relation group, best path score,
// TransE plausibility, specificity of the answer concept, ...) and scores the choice with a
// linear model over standardised features. Trained as a conditional logit (softmax over a
// question's choices) by TrainKgScorer; the weights are a small JSON file
// (data/models/kg_scorer.json).
//
// Thread-safety: a KgScorer is immutable after construction; Score may run concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/mcq.h"
#include "kg/graph.h"
#include "kg/transe.h"
#include "retrieval/grounding.h"
#include "retrieval/paths.h"
#include "retrieval/subgraph.h"

namespace spade::retrieval {

// Names of the features, in order; the weights file must list exactly these.
const std::vector<std::string>& KgFeatureNames();

struct KgScorerWeights {
  std::vector<double> mean;    // per feature, subtracted first
  std::vector<double> scale;   // per feature, divided by next (>0)
  std::vector<double> weight;  // per feature
  std::string note;            // how they were trained (command, data, accuracy)

  // Reads / writes the JSON file. Load throws spade::Error kNotFound (no file),
  // kCorruption (not valid JSON or missing arrays) or kInvalidArgument (feature names
  // differ from KgFeatureNames(): retrain with `spade train-kg-scorer`).
  static KgScorerWeights Load(const std::string& path);
  void Save(const std::string& path) const;
  // All-zero weights with unit scale (every choice scores 0).
  static KgScorerWeights Zero();
};

struct KgScorerOptions {
  PathOptions paths = {.max_hops = 3, .max_paths_per_pair = 20, .min_score = 0.15,
                       .enumeration_limit = 2000};
  size_t max_question_concepts = 12;  // the first ones in text order; question_concept kept
  size_t max_answer_concepts = 4;
  size_t top_paths = 5;               // kept per choice for explanations
  // Let paths pass through "something", "person", ... as KagNet does. They count in the
  // features (the shipped weights were fitted so: 34.3% CSQA dev vs 31.7% without), but
  // explanations (top_paths) prefer paths that avoid them.
  bool over_general_transit = true;
};

struct ChoiceResult {
  std::string label;
  std::string text;
  std::vector<Mention> question_concepts;
  std::vector<Mention> answer_concepts;
  std::vector<Path> top_paths;   // best first, across all pairs; paths through over-general
                                 // concepts only after the others
  size_t num_paths = 0;          // kept paths over all pairs
  std::vector<double> features;  // KgFeatureNames() order
  double score = 0;              // linear score
  double probability = 0;        // softmax over the question's choices
};

struct QuestionResult {
  std::vector<ChoiceResult> choices;  // in the item's order
  int predicted = -1;                 // index of the best choice (first on ties)
  bool no_question_concept = false;   // the stem grounded to nothing
  bool no_answer_concept = false;     // some choice grounded to nothing
  bool no_path = false;               // no choice has any path
};

class KgScorer {
 public:
  // `embeddings` may be null (TransE features are then 0 and paths use relation weights).
  // References must outlive the scorer.
  KgScorer(const kg::Graph& graph, const Lemmatizer& lemmatizer, const kg::TransE* embeddings,
           KgScorerWeights weights, KgScorerOptions options = {});

  // Validates `item` (data::ValidateMcqItem rules: non-empty stem, >= 2 choices, unique
  // labels; spade::ParseError naming item.source otherwise) and scores every choice.
  QuestionResult Score(const data::McqItem& item) const;

  const PathFinder& path_finder() const { return finder_; }
  const Grounder& grounder() const { return grounder_; }
  const KgScorerWeights& weights() const { return weights_; }

 private:
  const kg::Graph& graph_;
  const kg::TransE* embeddings_;
  Grounder grounder_;
  PathFinder finder_;
  KgScorerWeights weights_;
  KgScorerOptions options_;
  std::vector<int> relation_group_;  // per RelationId, index into the relation features or -1
  std::vector<bool> general_;        // over-general concepts (OverGeneralMask)
};

// Fits the weights: features[q][c] are the feature vectors of question q's choices, answers[q]
// the index of its right choice. Standardises, then full-batch gradient descent on the mean
// softmax cross-entropy + l2 * |w|^2. Returns the weights; *train_accuracy if non-null.
KgScorerWeights TrainKgScorer(const std::vector<std::vector<std::vector<double>>>& features,
                              const std::vector<int>& answers, int iterations = 500,
                              double learning_rate = 0.5, double l2 = 1e-3,
                              double* train_accuracy = nullptr);

}  // namespace spade::retrieval

namespace spade::retrieval {

struct EvalReport {
  size_t n = 0;
  size_t correct = 0;            // among items with an answer key
  size_t with_key = 0;
  size_t no_question_concept = 0;
  size_t no_answer_concept = 0;  // items where some choice grounded to nothing
  size_t no_path = 0;
  std::vector<double> seconds;   // per item, Score() wall time
  double accuracy() const { return with_key ? static_cast<double>(correct) / with_key : 0.0; }
};

// Scores every item on `threads` threads; results[i] belongs to items[i]. Validation errors
// (spade::ParseError naming item.source) propagate.
EvalReport EvaluateKgScorer(const KgScorer& scorer, const std::vector<data::McqItem>& items,
                            int threads, std::vector<QuestionResult>* results);

}  // namespace spade::retrieval
