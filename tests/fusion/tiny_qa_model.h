// A tiny random QA model (fusion/qa_model.h) for a given KG, saved as a model directory with
// SaveQaModel: an 8-wide one-layer BERT over the shipped bert-base-uncased vocabulary, two
// ERNIE layers, the path encoder and the KG features. Untrained, so it tests the plumbing
// (loading, the KG contract, explanations), never accuracy.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "encoder/model.h"
#include "encoder/pretrain_data.h"
#include "fusion/qa_model.h"
#include "fusion/qa_model_io.h"
#include "kg/graph.h"
#include "kg/transe.h"
#include "retrieval/scorer.h"

namespace spade::fusion::testing {

inline constexpr int kTinyMaxSeq = 48;

// Writes the model directory `dir` (and `dir`.tok with the tokenizer it was built from).
// `transe` must have a width divisible by 2 (the entity heads).
inline void SaveTinyQaModel(const kg::Graph& graph, const kg::TransE& transe, const std::string& dir,
                            uint64_t seed = 1) {
  const std::string tok_dir = dir + ".tok";
  std::filesystem::create_directories(tok_dir);
  std::filesystem::copy_file(std::string(SPADE_SOURCE_DIR) + "/data/tokenizers/bert-base-uncased-vocab.txt",
                             tok_dir + "/vocab.txt", std::filesystem::copy_options::overwrite_existing);
  const encoder::TextTokenizer tok = encoder::LoadTextTokenizer(tok_dir);
  encoder::EncoderConfig c;
  c.vocab_size = tok.vocab_size;
  c.hidden_size = c.embedding_size = 8;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.max_position_embeddings = kTinyMaxSeq;
  c.initializer_range = 0.3f;  // far from uniform attention, so weights differ between tokens
  auto enc = std::make_unique<encoder::Model>(c, encoder::HeadsConfig{});
  enc->Init(seed);
  QaModelInfo info;
  info.model.fusion_layers = 2;
  info.model.entity_heads = 2;
  info.model.fusion_intermediate = 12;
  info.model.path_hidden = 4;
  info.model.kg_features = static_cast<int>(retrieval::KgFeatureNames().size());
  info.examples.max_seq = kTinyMaxSeq;
  info.kg = ComputeKgIdentity(graph, &transe);
  info.note = "tiny random test model";
  QaModel model(std::move(enc), &transe, info.model);
  model.InitFusion(seed);
  SaveQaModel(model, tok, info, dir);
}

}  // namespace spade::fusion::testing
