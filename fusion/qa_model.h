// The QA model: an encoder (BERT/ALBERT/ELECTRA trunk from encoder/) reads each
// "[CLS] question [SEP] choice [SEP]"; M ERNIE aggregator layers (fusion/ernie_layer.h) fuse
// the TransE vector of the concept aligned to each token; the fused [CLS] row, through a
// tanh pooler, is the statement vector s, which also queries KagNet's path encoder
// (fusion/path_encoder.h) over the choice's retrieved paths; the KG-only scorer's
// standardised features ride along. One linear layer scores each choice from
//   z = [s ; paths(s) ; kg_features]        (H + P + F)
// and a softmax over the question's choices gives the cross-entropy loss.
//
// Each part can be switched off (QaModelConfig): M = 0 (no fusion), use_paths = false,
// use_kg_features = false; with all three off it is the plain encoder + multiple-choice
// head. Entity vectors are TransE's, frozen (the KG's `spade kg embed` output).
//
// Shapes: Q questions, C choices each, B = Q*C sequences of T tokens, N = B*T rows,
// H encoder width, De TransE width, P path-encoder width, F = KgFeatureNames().size().
//
// Parameters live in two arenas: the encoder's (its published names, loadable from and
// savable to a Hugging Face directory) and fusion_params() ("fusion.layer.{i}.*",
// "fusion.pooler.*", "fusion.classifier.*", "paths.*").
//
// Not thread-safe: Forward/Backward use per-model caches; the math uses the OpenMP/Eigen
// thread count.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encoder/model.h"
#include "fusion/ernie_layer.h"
#include "fusion/path_encoder.h"
#include "fusion/qa_example.h"
#include "kg/transe.h"

namespace spade::fusion {

struct QaModelConfig {
  // M ERNIE aggregator layers (0 = no fusion). Each layer attends over tokens BEFORE it fuses,
  // so an entity fused into token t reaches the [CLS] row only through the next layer: M = 1
  // cannot carry entity knowledge into the score (only paths and features then see the KG).
  int fusion_layers = 2;
  int entity_heads = 4;           // ERNIE: 4; must divide the TransE width
  int fusion_intermediate = 0;    // F of the fusion layers; 0 = 4H
  bool use_paths = true;          // KagNet path encoder
  int path_hidden = 32;           // LSTM width per direction
  bool use_kg_features = true;    // the KG-only scorer's features
  int kg_features = 0;            // F; set from KgFeatureNames() by the trainer
  float dropout = 0.1f;           // fusion layers and the head
};

struct QaBatchState {
  int questions = 0, choices = 0;
  encoder::Batch batch;
  encoder::Outputs enc;
  encoder::Matrix entities;       // (N, De)
  ErnieMasks masks;
  FusionStackState fusion;
  encoder::Matrix cls, pooled_pre, statement;  // (B, H)
  encoder::DropoutCache statement_drop;
  encoder::Matrix concept_table;  // (Nc_local, De) the batch's path concepts
  std::vector<kg::ConceptId> concept_of_row;
  PathEncoderState paths;
  encoder::Matrix z;              // (B, H + P + F)
  encoder::Matrix scores;         // (Q, C)
  encoder::Matrix d_scores;       // (Q, C)
  float loss = 0;
};

class QaModel {
 public:
  // `encoder` is a Model without heads (LoadModelDir(dir, {}) or built); `transe` must
  // outlive the model. Throws encoder::Error(kInvalidArgument) when the TransE width is not
  // a multiple of entity_heads, or fusion/paths are asked for without embeddings.
  QaModel(std::unique_ptr<encoder::Model> encoder, const kg::TransE* transe, const QaModelConfig& config);

  // Initialises the fusion arena only (the encoder keeps its pretrained weights).
  void InitFusion(uint64_t seed);
  // Sets the head's weights on the KG features (F values): starting from the KG-only
  // scorer's fitted weights, the model begins as that scorer plus small encoder terms
  // instead of having to rediscover them at a fine-tuning learning rate. Throws
  // kInvalidArgument when the model reads no features or the count differs.
  void SetFeatureWeights(const std::vector<double>& weights);

  // Scores `examples` (all with the same number of choices). With labels (every example's
  // label >= 0) also the mean cross-entropy, returned; else 0. Dropout when `train`.
  float Forward(const std::vector<const QaExample*>& examples, bool train, uint64_t seed, QaBatchState* state);
  // Gradients of the loss of the Forward just before it, accumulated into both arenas.
  void Backward(QaBatchState* state);

  encoder::Model& encoder_model() { return *encoder_; }
  const encoder::Model& encoder_model() const { return *encoder_; }
  encoder::ParamArena& fusion_params() { return fusion_arena_; }
  const encoder::ParamArena& fusion_params() const { return fusion_arena_; }
  const QaModelConfig& config() const { return config_; }
  // The relation table the path encoder reads: row r is TransE's r, row R + r is -r (an
  // edge walked backwards: h = t - r).
  const encoder::Matrix& relation_table() const { return relations_; }

 private:
  std::unique_ptr<encoder::Model> encoder_;
  const kg::TransE* transe_;
  QaModelConfig config_;
  encoder::ParamArena fusion_arena_;
  std::unique_ptr<FusionStack> fusion_;
  std::unique_ptr<PathEncoder> path_encoder_;
  encoder::Linear pooler_;      // (H, H)
  encoder::Linear classifier_;  // (1, H + P + F)
  encoder::Matrix relations_;   // (2R, De)
  int entity_dim_ = 0;
};

}  // namespace spade::fusion
