// ELECTRA pretraining: a small generator (ELECTRA-shaped encoder + MLM head) fills masked
// positions with samples from its own distribution; the discriminator (ELECTRA-shaped
// encoder + replaced-token-detection head) labels every token original/replaced.
// Loss = generator MLM loss + rtd_weight * discriminator RTD loss (the paper's lambda = 50).
//
// Embedding sharing: the generator and discriminator share the word, position and token-
// type embeddings and the embeddings LayerNorm (embedding_size must match). The two models
// keep separate arenas; Step() adds the generator's embedding gradients into the
// discriminator's and copies the updated embeddings back, so they stay identical — the
// same math as one shared tensor. Checkpoints save each model on its own (ElectraForMaskedLM
// / ElectraForPreTraining), as Hugging Face publishes them.
#pragma once

#include <cstdint>
#include <vector>

#include "encoder/model.h"
#include "encoder/optim.h"

namespace spade::encoder {

struct ElectraConfig {
  EncoderConfig generator;      // arch kElectra
  EncoderConfig discriminator;  // arch kElectra; same vocab and embedding sizes
  float rtd_weight = 50.0f;
  int32_t mask_token_id = 103;  // [MASK] in BERT vocabularies
  float mask_prob = 0.15f;
};

struct ElectraStep {
  float loss = 0, generator_loss = 0, discriminator_loss = 0;
  float replaced_fraction = 0;  // of masked positions whose sample differs from the original
};

class ElectraPretrainer {
 public:
  explicit ElectraPretrainer(const ElectraConfig& c);
  void Init(uint64_t seed);
  // One forward + backward on `batch` (original ids): masks mask_prob of the non-padding
  // tokens, samples replacements, accumulates gradients of the total loss into both
  // arenas (embeddings summed into the discriminator's). Deterministic for a seed.
  ElectraStep ForwardBackward(const Batch& batch, uint64_t seed);
  // After ForwardBackward and the optimizers' steps: copy the shared embeddings from the
  // discriminator into the generator.
  void SyncSharedEmbeddings();

  Model& generator() { return generator_; }
  Model& discriminator() { return discriminator_; }

 private:
  ElectraConfig config_;
  Model generator_;
  Model discriminator_;
  std::vector<std::pair<int, int>> shared_;  // (generator id, discriminator id)
  Outputs gen_out_, disc_out_;
};

}  // namespace spade::encoder
