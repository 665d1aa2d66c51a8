// One answering pipeline, three scorers. `spade ask` and `spade eval` pick one and read the
// same AnswerResult whatever answered:
//
//   KgOnlyScorer  the KG-only linear scorer (retrieval/scorer.h), numbers unchanged;
//   ModelScorer   a trained QA model directory (fusion/qa_model_io.h): ground -> retrieve
//                 (KgScorer::Score: mentions, paths, features) -> BuildQaExample with the
//                 model's saved example options -> QaModel::Forward(train = false) ->
//                 softmax over the choices;
//   LmScorer      a causal LM by likelihood, zero- or few-shot (encoder/prompting.h), as
//                 `spade lm ask / lm eval` score (same prompts, same demonstration draws).
//
// Explanations. Every scorer that grounds (kg, model) reports the question and answer
// concepts and the KG scorer's top paths per choice. The model scorer adds, per choice:
//   * per path, the path encoder's attention β_pair · α_path (PathEncoderState) — the share
//     of the choice's pooled path vector that path carries — and lists paths by it;
//   * the entities the last fusion layer attended to most: its ENTITY self-attention
//     (ErnieLayerCache::ent.attn.probs, block (b*nHe + h) a (T, T) matrix), averaged over
//     heads and over the statement's entity-bearing query tokens, read per entity-bearing
//     key token. That is the attention mass each entity receives from the statement's
//     entities (its own row included, so a one-entity statement gives weight 1); a concept
//     aligned to several tokens sums their masses, so a statement's weights sum to 1.
//     [CLS] has no entity slot, which is why this, and not a [CLS] row, is used. Empty
//     for a model without fusion layers.
//
// Thread-safety: Answer/AnswerAll of KgOnlyScorer may run concurrently; ModelScorer and
// LmScorer serialise their own model calls (a mutex), so concurrent calls are safe but not
// parallel. Nothing here reads argv or prints; errors are thrown (spade::Error from data/
// and retrieval/, spade::encoder::Error from the models) naming the input.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/mcq.h"
#include "encoder/bpe.h"
#include "encoder/gpt2.h"
#include "encoder/prompting.h"
#include "fusion/qa_model_io.h"
#include "fusion/qa_train.h"
#include "retrieval/scorer.h"

namespace spade::fusion {

struct ExplainedEdge {
  std::string head, relation, tail;  // as stored: head -relation-> tail
};

struct ExplainedPath {
  std::string text;                  // retrieval::FormatPath
  double score = 0;                  // the path finder's score
  int hops = 0;
  std::vector<ExplainedEdge> edges;
  double attention = -1;             // model: β_pair · α_path in its statement; -1 = not computed
};

struct AttendedEntity {
  std::string concept_name;          // graph concept name
  double weight = 0;                 // see the header comment; a statement's weights sum to 1
};

struct ChoiceAnswer {
  std::string label, text;
  double score = 0;                  // the scorer's own scale (linear / logit / LM score)
  double probability = 0;            // softmax of score over the question's choices
  std::vector<std::string> answer_concepts;    // kg, model
  size_t num_paths = 0;                        // kg, model: paths the KG scorer kept
  std::vector<ExplainedPath> paths;            // kg: best first; model: by attention, then best first
  std::vector<AttendedEntity> attended;        // model with fusion layers: heaviest first
  double logprob = 0;                          // lm
  int tokens = 0;                              // lm
};

struct AnswerResult {
  std::string scorer;                          // "kg" | "model" | "lm"
  std::string question;
  std::vector<ChoiceAnswer> choices;           // in the item's order
  int predicted = -1;                          // argmax of score, first on ties
  // kg, model: the predicted choice's question concepts (mentions inside the answer are
  // not question concepts) and every concept grounded in the stem, in text order.
  std::vector<std::string> question_concepts, stem_concepts;
  bool grounded = false;                       // the scorer grounds (kg, model)
  bool no_question_concept = false, no_answer_concept = false, no_path = false;
  // lm
  std::string prompt;
  int shots_used = 0;
  bool truncated = false;
  double seconds = 0;                          // wall time of this item's answer

  const ChoiceAnswer& answer() const { return choices.at(static_cast<size_t>(predicted)); }
  // Nothing of the question or its choices is a concept of the KG (kg, model only).
  bool NothingGrounded() const;
};

// `ask --json`: {"question", "scorer", "answer": {label, text}, "question_concepts",
// "choices": [...]}, the choices by descending score, each {label, text, score,
// probability, answer_concepts, num_paths, paths: [{path, score, hops, edges, [attention]}],
// [attended_entities: [{concept, weight}]], [logprob, tokens]}; lm adds "prompt", "shots".
nlohmann::ordered_json AnswerJson(const AnswerResult& r, size_t max_paths);
// One choice as in AnswerJson (also the per-question choices of `eval --predictions`).
nlohmann::ordered_json ChoiceAnswerJson(const ChoiceAnswer& c, size_t max_paths);

// Called after each answered item with (done, total); may come from any worker thread, one
// call at a time.
using AnswerProgress = std::function<void(size_t done, size_t total)>;

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string name() const = 0;  // "kg" | "model" | "lm"
  // Validates `item` (data::ValidateMcqItem: spade::ParseError naming item.source) and
  // answers it.
  virtual AnswerResult Answer(const data::McqItem& item) const = 0;
  // results[i] answers items[i]. The default runs Answer on `threads` threads; the first
  // error stops the others and is rethrown.
  virtual std::vector<AnswerResult> AnswerAll(const std::vector<data::McqItem>& items, int threads,
                                              const AnswerProgress& progress = {}) const;
};

// The KG-only scorer, today's `spade ask --scorer kg`. `kg` (graph, lemmatizer, transe,
// weights, options) must outlive the scorer; kg.identity is not used.
class KgOnlyScorer final : public Scorer {
 public:
  explicit KgOnlyScorer(const QaKnowledge& kg);
  std::string name() const override { return "kg"; }
  AnswerResult Answer(const data::McqItem& item) const override;
  const retrieval::KgScorer& kg_scorer() const { return scorer_; }

 private:
  const kg::Graph& graph_;
  retrieval::KgScorer scorer_;
};

// A QA model directory with the KG in use. `kg` must outlive the scorer and carry its
// identity (ComputeKgIdentity); the constructor throws LoadQaModel's errors, among them
// CheckKgCompatible's kInvalidArgument naming both KGs when the model was trained on
// another one.
class ModelScorer final : public Scorer {
 public:
  ModelScorer(const std::string& model_dir, const QaKnowledge& kg);
  ~ModelScorer() override;
  std::string name() const override { return "model"; }
  AnswerResult Answer(const data::McqItem& item) const override;
  // Evidence (grounding, paths, features) on `threads` threads, then the model, one
  // question per forward pass; progress advances half an item per half.
  std::vector<AnswerResult> AnswerAll(const std::vector<data::McqItem>& items, int threads,
                                      const AnswerProgress& progress = {}) const override;
  const QaModelInfo& info() const { return loaded_.info; }

 private:
  AnswerResult Finish(const data::McqItem& item, const retrieval::QuestionResult& scored) const;
  const QaKnowledge& kg_;
  LoadedQaModel loaded_;
  retrieval::KgScorer scorer_;
  mutable std::mutex mu_;  // QaModel::Forward is not thread-safe
};

struct LmScorerOptions {
  std::string model_dir;                   // GPT-2 layout: config.json, model.safetensors, vocab.json, merges.txt
  std::vector<data::McqItem> pool;         // demonstrations (answer keys required when shots > 0)
  int shots = 0;                           // K; 0 = zero-shot
  encoder::ChoiceNorm norm = encoder::ChoiceNorm::kMean;
  encoder::PromptFormat format;
  uint64_t seed = 1;                       // demonstration draws, as `spade lm` --seed
};

// The causal LM by likelihood. Demonstrations are drawn as `spade lm` draws them: Answer
// as `lm ask` (query index -1), AnswerAll item i as `lm eval` item i, never the item itself
// (a pool item with the same source "file:line"). score is the ChoiceNorm score,
// probability its softmax. Throws kInvalidArgument when shots > 0 and the pool has no
// more than K labelled questions, or a pool item has no answer key.
class LmScorer final : public Scorer {
 public:
  explicit LmScorer(LmScorerOptions options);
  std::string name() const override { return "lm"; }
  AnswerResult Answer(const data::McqItem& item) const override;
  std::vector<AnswerResult> AnswerAll(const std::vector<data::McqItem>& items, int threads,
                                      const AnswerProgress& progress = {}) const override;

 private:
  AnswerResult AnswerAt(const data::McqItem& item, int query_index) const;
  LmScorerOptions options_;
  std::unique_ptr<encoder::Gpt2Model> model_;
  encoder::ByteLevelBpe bpe_;
  std::vector<encoder::PromptExample> pool_;
  std::unique_ptr<encoder::LmChoiceScorer> scorer_;
  mutable std::mutex mu_;
};

// Accuracy and counts over answered items (`spade eval`).
struct AnswerReport {
  size_t n = 0;
  size_t correct = 0;            // among items with an answer key
  size_t with_key = 0;
  size_t no_question_concept = 0;
  size_t no_answer_concept = 0;
  size_t no_path = 0;
  std::vector<double> seconds;   // per item
  double accuracy() const { return with_key ? static_cast<double>(correct) / with_key : 0.0; }
};
AnswerReport SummarizeAnswers(const std::vector<data::McqItem>& items, const std::vector<AnswerResult>& results);

}  // namespace spade::fusion
