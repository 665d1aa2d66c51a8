// A tiny GPT-2 that has learned four "what do you X with?" facts posed as prompt text
// (zero- and one-shot), with its byte-level BPE: a model whose right answers are known,
// for tests of prompting and of `spade lm`.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "encoder/bpe.h"
#include "encoder/gpt2.h"
#include "encoder/optim.h"
#include "encoder/prompting.h"

namespace spade::testing {

inline const std::vector<encoder::PromptExample>& LmFacts() {
  static const std::vector<encoder::PromptExample> facts = {
      {"what do you dig with?", {"shovel", "oven", "kite", "violin"}, 0},
      {"what do you bake bread in?", {"kite", "oven", "shovel", "violin"}, 1},
      {"what do you fly in the wind?", {"violin", "shovel", "kite", "oven"}, 2},
      {"what do you play music on?", {"oven", "kite", "shovel", "violin"}, 3},
  };
  return facts;
}

inline encoder::ByteLevelBpe LmFactBpe() {
  std::vector<std::string> corpus;
  for (const auto& f : LmFacts()) {
    corpus.push_back(encoder::BuildPromptContext(encoder::PromptFormat{}, {}, f) +
                     encoder::ChoiceContinuation(f.choices[size_t(f.answer)]));
  }
  encoder::BpeTrainOptions o;
  o.vocab_size = 320;
  o.min_frequency = 1;
  return encoder::ByteLevelBpe::Train(corpus, o);
}

inline encoder::Gpt2Config TinyGpt2Config(int vocab, int positions) {
  encoder::Gpt2Config c;
  c.vocab_size = vocab;
  c.n_positions = positions;
  c.n_embd = 32;
  c.n_layer = 2;
  c.n_head = 2;
  c.resid_pdrop = c.embd_pdrop = c.attn_pdrop = 0;
  return c;
}

// Trains `model` (vocab = bpe's) on each fact zero-shot and after one demonstration (the
// next fact); returns the final causal-LM loss.
inline float TrainOnLmFacts(const encoder::ByteLevelBpe& bpe, encoder::Gpt2Model* model, int steps = 150) {
  using namespace encoder;
  const auto& facts = LmFacts();
  std::vector<std::vector<int32_t>> seqs;
  size_t T = 0;
  for (size_t i = 0; i < facts.size(); ++i) {
    const auto& f = facts[i];
    const auto& d = facts[(i + 1) % facts.size()];
    for (const std::vector<PromptExample>& shots : {std::vector<PromptExample>{}, std::vector<PromptExample>{d}}) {
      std::vector<int32_t> ids = bpe.Encode(BuildPromptContext(PromptFormat{}, shots, f));
      const std::vector<int32_t> answer = bpe.Encode(ChoiceContinuation(f.choices[size_t(f.answer)]));
      ids.insert(ids.end(), answer.begin(), answer.end());
      T = std::max(T, ids.size());
      seqs.push_back(std::move(ids));
    }
  }
  Batch batch;
  batch.batch = static_cast<int>(seqs.size());
  batch.seq = static_cast<int>(T);
  batch.input_ids.assign(seqs.size() * T, 0);
  batch.attention_mask.assign(seqs.size() * T, 0.0f);
  std::vector<int32_t> labels(seqs.size() * T, -100);
  for (size_t b = 0; b < seqs.size(); ++b) {
    for (size_t t = 0; t < seqs[b].size(); ++t) {
      batch.input_ids[b * T + t] = labels[b * T + t] = seqs[b][t];
      batch.attention_mask[b * T + t] = 1.0f;
    }
  }
  AdamWConfig oc;
  oc.lr = 3e-3f;
  oc.weight_decay = 0;
  AdamW opt(model->params(), oc);
  float loss = 0;
  for (int step = 0; step < steps; ++step) {
    model->params().ZeroGrad();
    Gpt2Outputs out;
    loss = model->Forward(batch, labels, StepOptions{}, &out);
    model->Backward(batch, &out);
    opt.Step(&model->params());
  }
  return loss;
}

}  // namespace spade::testing
