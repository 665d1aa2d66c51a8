// Zero-, one- and few-shot multiple-choice answering with a causal LM, as GPT-2 and GPT-3
// pose tasks: the task is written as text, K solved demonstrations come before the
// question, and each choice is scored by the likelihood of its tokens as the continuation
// of that text. Nothing is fine-tuned.
//
// Prompt text (PromptFormat defaults; K = shots.size()):
//   [instruction "\n\n"]
//   "Q: " question_1 "\nA: " answer_1 "\n\n"        K demonstrations, in the given order
//   ...
//   "Q: " question "\nA:"                            the context
// and the continuation for a choice c is " " + c. Context and continuation are tokenised
// separately and their ids concatenated, so a choice's tokens never merge with the
// context's last token.
//
// Scores (ChoiceNorm), all from one batched forward pass over the choices:
//   kSum            sum of log p(token) over the choice's tokens
//   kMean           kSum / number of tokens (GPT-3's per-token normalisation)
//   kUnconditional  kSum - the choice's log-likelihood after the bare answer prefix ("A:"),
//                   GPT-3's p(c | context) / p(c | "A:") for choices whose prior differs
//
// When context + longest choice exceed n_positions, whole demonstrations are dropped,
// oldest first; if the question alone is still too long its context is cut from the left
// (the question's end and the answer prefix are kept). A choice longer than the window
// is an error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/bpe.h"
#include "encoder/gpt2.h"

namespace spade::encoder {

struct PromptExample {
  std::string question;
  std::vector<std::string> choices;
  int answer = -1;  // index into choices; required for demonstrations
};

struct PromptFormat {
  std::string instruction;              // task description before the shots; "" = none
  std::string question_prefix = "Q: ";
  std::string answer_prefix = "\nA:";   // the context ends with it; a choice follows " "
  std::string shot_separator = "\n\n";  // between demonstrations and before the question
  bool list_choices = false;            // adds "\nChoices: a, b, c" after each question
};

enum class ChoiceNorm { kSum, kMean, kUnconditional };
ChoiceNorm ParseChoiceNorm(const std::string& name);  // "sum" | "mean" | "unconditional"
std::string ChoiceNormName(ChoiceNorm norm);

// The prompt context for `query` after `shots` (each must have a valid answer). Throws
// kInvalidArgument naming the demonstration whose answer index is out of range.
std::string BuildPromptContext(const PromptFormat& format, const std::vector<PromptExample>& shots,
                               const PromptExample& query);
std::string ChoiceContinuation(const std::string& choice);  // " " + choice

struct ChoiceScore {
  double logprob = 0;        // sum of log p over the choice's tokens, after the context
  int tokens = 0;            // the choice's token count
  double unconditional = 0;  // log-likelihood after the bare answer prefix (kUnconditional only)
  double score = 0;          // by the scorer's ChoiceNorm; higher is better
};

struct ChoiceResult {
  std::vector<ChoiceScore> choices;
  int predicted = -1;     // argmax of score; the first on ties
  std::string context;    // the prompt text scored (before any cut from the left)
  int shots_used = 0;     // demonstrations kept after fitting the window
  int context_tokens = 0;
  bool truncated = false; // the question's own context was cut from the left
};

class LmChoiceScorer {
 public:
  // model and bpe must outlive the scorer.
  LmChoiceScorer(Gpt2Model* model, const ByteLevelBpe* bpe, PromptFormat format, ChoiceNorm norm);

  // Throws kInvalidArgument for a query with no choices, an empty choice, or a choice that
  // alone does not fit in n_positions.
  ChoiceResult Score(const std::vector<PromptExample>& shots, const PromptExample& query) const;

  const PromptFormat& format() const { return format_; }
  ChoiceNorm norm() const { return norm_; }

 private:
  // Log-likelihood of each continuation after the same context ids (one batch).
  std::vector<double> ContinuationLogprobs(const std::vector<int32_t>& context,
                                           const std::vector<std::vector<int32_t>>& continuations) const;
  Gpt2Model* model_;
  const ByteLevelBpe* bpe_;
  PromptFormat format_;
  ChoiceNorm norm_;
};

// K distinct indices in [0, pool_size) other than `exclude` (-1: none), drawn by a
// generator seeded from (seed, exclude). Callers vary the seed per query so each gets its
// own reproducible demonstrations, as GPT-3 draws them per example. Throws
// kInvalidArgument when the pool has fewer than K candidates.
std::vector<int> SampleShots(int pool_size, int k, uint64_t seed, int exclude);

}  // namespace spade::encoder
