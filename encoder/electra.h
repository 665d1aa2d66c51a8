// ELECTRA pretraining: a small generator (ELECTRA-shaped encoder + MLM head) fills masked
// positions with samples from its own distribution; the discriminator (ELECTRA-shaped
// encoder + replaced-token-detection head) labels every token original/replaced.
// Loss = generator MLM loss + rtd_weight * discriminator RTD loss (the paper's lambda = 50).
//
// Embedding sharing: the generator and discriminator share the word, position and token-
// type embeddings and the embeddings LayerNorm (embedding_size must match). The two models
// keep separate arenas; ForwardBackward() adds the generator's embedding gradients into the
// discriminator's and SyncSharedEmbeddings() copies the updated embeddings back, so they
// stay identical — the same math as one shared tensor (tests/encoder/electra_parity_test.cc
// checks it against PyTorch holding one tensor). One AdamW per arena clips each model's
// gradient norm on its own, where the paper clips the joint norm. Checkpoints save each model on its own (ElectraForMaskedLM
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

// The random draws of one step: which tokens the generator sees as [MASK], and the token
// put back at each of them for the discriminator (the generator's sample).
struct ElectraCorruption {
  std::vector<int32_t> masked;    // (M) flat token indices b*T + t, strictly ascending, never padding
  std::vector<int32_t> replaced;  // (M) token id at masked[i] in the discriminator's input
};

// What the two models saw in the last ForwardBackward.
struct ElectraInputs {
  ElectraCorruption corruption;
  Batch masked;           // generator input: mask_token_id at corruption.masked
  Targets generator;      // mlm_labels: the original id at each masked token, -100 elsewhere
  Batch corrupted;        // discriminator input: corruption.replaced at the masked tokens
  // rtd_labels: 1 where the corrupted id differs from the original, else 0 -- a masked
  // token whose sample equals the original is labelled original, as in the paper.
  Targets discriminator;
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
  // The same step with the draws given instead of made: the loss is then a differentiable
  // function of the parameters (finite-difference checks) and a reference implementation
  // can make the same choices (parity with PyTorch). `dropout_seed` plays the role of
  // `seed` above for the dropout streams only. Throws kInvalidArgument for a masked index
  // out of range, not ascending or on padding, a size mismatch, or a replacement id
  // outside the vocabulary.
  ElectraStep ForwardBackward(const Batch& batch, const ElectraCorruption& corruption, uint64_t dropout_seed);
  // After ForwardBackward and the optimizers' steps: copy the shared embeddings from the
  // discriminator into the generator.
  void SyncSharedEmbeddings();

  Model& generator() { return generator_; }
  Model& discriminator() { return discriminator_; }
  // Valid after a ForwardBackward, until the next one.
  const ElectraInputs& last_inputs() const { return inputs_; }

 private:
  // The step in three parts: mask and run the generator, then (after the replacements are
  // drawn or given) build the discriminator's input and labels, run it and backpropagate.
  float GeneratorForward(const Batch& batch, const std::vector<int32_t>& masked, uint64_t seed);
  ElectraStep DiscriminatorForwardAndBackward(const Batch& batch, float generator_loss, uint64_t seed);

  ElectraConfig config_;
  Model generator_;
  Model discriminator_;
  std::vector<std::pair<int, int>> shared_;  // (generator id, discriminator id)
  ElectraInputs inputs_;
  Outputs gen_out_, disc_out_;
};

}  // namespace spade::encoder
