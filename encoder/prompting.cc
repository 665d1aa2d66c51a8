#include "encoder/prompting.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "encoder/error.h"

namespace spade::encoder {

ChoiceNorm ParseChoiceNorm(const std::string& name) {
  if (name == "sum") return ChoiceNorm::kSum;
  if (name == "mean") return ChoiceNorm::kMean;
  if (name == "unconditional") return ChoiceNorm::kUnconditional;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown choice normalisation '" + name + "' (expected sum, mean or unconditional)");
}

std::string ChoiceNormName(ChoiceNorm norm) {
  switch (norm) {
    case ChoiceNorm::kSum: return "sum";
    case ChoiceNorm::kMean: return "mean";
    case ChoiceNorm::kUnconditional: return "unconditional";
  }
  return "sum";
}

namespace {

void AppendQuestion(const PromptFormat& f, const PromptExample& e, std::string* out) {
  *out += f.question_prefix;
  *out += e.question;
  if (f.list_choices && !e.choices.empty()) {
    *out += "\nChoices: ";
    for (size_t i = 0; i < e.choices.size(); ++i) {
      if (i) *out += ", ";
      *out += e.choices[i];
    }
  }
  *out += f.answer_prefix;
}

}  // namespace

std::string BuildPromptContext(const PromptFormat& format, const std::vector<PromptExample>& shots,
                               const PromptExample& query) {
  std::string out;
  if (!format.instruction.empty()) out += format.instruction + format.shot_separator;
  for (size_t i = 0; i < shots.size(); ++i) {
    const PromptExample& s = shots[i];
    if (s.answer < 0 || s.answer >= static_cast<int>(s.choices.size())) {
      throw Error(ErrorCode::kInvalidArgument, "demonstration " + std::to_string(i) + " ('" + s.question +
                                                   "'): answer index " + std::to_string(s.answer) +
                                                   " is not among its " + std::to_string(s.choices.size()) +
                                                   " choices");
    }
    AppendQuestion(format, s, &out);
    out += ChoiceContinuation(s.choices[size_t(s.answer)]);
    out += format.shot_separator;
  }
  AppendQuestion(format, query, &out);
  return out;
}

std::string ChoiceContinuation(const std::string& choice) { return " " + choice; }

LmChoiceScorer::LmChoiceScorer(Gpt2Model* model, const ByteLevelBpe* bpe, PromptFormat format, ChoiceNorm norm)
    : model_(model), bpe_(bpe), format_(std::move(format)), norm_(norm) {
  if (bpe_->vocab_size() > model_->config().vocab_size) {
    throw Error(ErrorCode::kInvalidArgument, "tokenizer has " + std::to_string(bpe_->vocab_size()) +
                                                 " tokens but the model's vocab_size is " +
                                                 std::to_string(model_->config().vocab_size));
  }
}

std::vector<double> LmChoiceScorer::ContinuationLogprobs(
    const std::vector<int32_t>& context, const std::vector<std::vector<int32_t>>& continuations) const {
  Batch batch;
  batch.batch = static_cast<int>(continuations.size());
  size_t longest = 0;
  for (const auto& c : continuations) longest = std::max(longest, c.size());
  batch.seq = static_cast<int>(context.size() + longest);
  const size_t T = static_cast<size_t>(batch.seq);
  batch.input_ids.assign(continuations.size() * T, 0);
  batch.attention_mask.assign(continuations.size() * T, 0.0f);
  for (size_t b = 0; b < continuations.size(); ++b) {
    int32_t* ids = batch.input_ids.data() + b * T;
    std::copy(context.begin(), context.end(), ids);
    std::copy(continuations[b].begin(), continuations[b].end(), ids + context.size());
    std::fill_n(batch.attention_mask.begin() + static_cast<std::ptrdiff_t>(b * T),
                context.size() + continuations[b].size(), 1.0f);
  }
  const std::vector<int> starts(continuations.size(), static_cast<int>(context.size()));
  const std::vector<float> sums = model_->ScoreContinuations(batch, starts);
  return {sums.begin(), sums.end()};
}

ChoiceResult LmChoiceScorer::Score(const std::vector<PromptExample>& shots, const PromptExample& query) const {
  if (query.choices.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "question '" + query.question + "' has no choices");
  }
  const size_t window = static_cast<size_t>(model_->config().n_positions);
  std::vector<std::vector<int32_t>> conts;
  size_t longest = 0;
  for (size_t i = 0; i < query.choices.size(); ++i) {
    if (query.choices[i].empty()) {
      throw Error(ErrorCode::kInvalidArgument, "question '" + query.question + "': choice " +
                                                   std::to_string(i) + " is empty");
    }
    conts.push_back(bpe_->Encode(ChoiceContinuation(query.choices[i])));
    if (conts.back().size() + 1 > window) {
      throw Error(ErrorCode::kInvalidArgument,
                  "question '" + query.question + "': choice '" + query.choices[i] + "' is " +
                      std::to_string(conts.back().size()) + " tokens; with at least one context token it does not "
                      "fit n_positions " + std::to_string(window));
    }
    longest = std::max(longest, conts.back().size());
  }

  ChoiceResult result;
  std::vector<int32_t> context;
  for (size_t drop = 0; drop <= shots.size(); ++drop) {
    const std::vector<PromptExample> kept(shots.begin() + static_cast<std::ptrdiff_t>(drop), shots.end());
    result.context = BuildPromptContext(format_, kept, query);
    context = bpe_->Encode(result.context);
    result.shots_used = static_cast<int>(kept.size());
    if (context.size() + longest <= window) break;
  }
  if (context.size() + longest > window) {
    context.erase(context.begin(), context.end() - static_cast<std::ptrdiff_t>(window - longest));
    result.truncated = true;
  }
  if (context.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "question '" + query.question + "': the prompt encodes to no tokens");
  }
  result.context_tokens = static_cast<int>(context.size());

  const std::vector<double> lp = ContinuationLogprobs(context, conts);
  std::vector<double> uncond;
  if (norm_ == ChoiceNorm::kUnconditional) {
    const size_t first = format_.answer_prefix.find_first_not_of(" \t\r\n");
    std::vector<int32_t> bare;
    if (first != std::string::npos) bare = bpe_->Encode(format_.answer_prefix.substr(first));
    if (bare.empty()) {
      const int32_t eot = bpe_->TokenToId("<|endoftext|>");
      if (eot < 0) {
        throw Error(ErrorCode::kInvalidArgument,
                    "unconditional scoring needs a non-blank answer prefix or an <|endoftext|> token");
      }
      bare = {eot};
    }
    uncond = ContinuationLogprobs(bare, conts);
  }

  for (size_t i = 0; i < conts.size(); ++i) {
    ChoiceScore s;
    s.logprob = lp[i];
    s.tokens = static_cast<int>(conts[i].size());
    switch (norm_) {
      case ChoiceNorm::kSum: s.score = s.logprob; break;
      case ChoiceNorm::kMean: s.score = s.logprob / s.tokens; break;
      case ChoiceNorm::kUnconditional:
        s.unconditional = uncond[i];
        s.score = s.logprob - s.unconditional;
        break;
    }
    result.choices.push_back(s);
  }
  result.predicted = static_cast<int>(
      std::max_element(result.choices.begin(), result.choices.end(),
                       [](const ChoiceScore& a, const ChoiceScore& b) { return a.score < b.score; }) -
      result.choices.begin());
  return result;
}

std::vector<int> SampleShots(int pool_size, int k, uint64_t seed, int exclude) {
  const int candidates = pool_size - (exclude >= 0 && exclude < pool_size ? 1 : 0);
  if (k < 0 || k > candidates) {
    throw Error(ErrorCode::kInvalidArgument, "cannot draw " + std::to_string(k) + " demonstrations from " +
                                                 std::to_string(candidates) + " candidates");
  }
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(exclude + 1));
  // Partial Fisher-Yates; pools are training sets (~10^4 items), so an index vector is fine.
  std::vector<int> idx(static_cast<size_t>(pool_size));
  std::iota(idx.begin(), idx.end(), 0);
  if (exclude >= 0 && exclude < pool_size) idx.erase(idx.begin() + exclude);
  for (int i = 0; i < k; ++i) {
    std::uniform_int_distribution<size_t> pick(static_cast<size_t>(i), idx.size() - 1);
    std::swap(idx[static_cast<size_t>(i)], idx[pick(rng)]);
  }
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace spade::encoder
