// Pretraining objectives as TrainTasks (train_loop.h), one per method the product is built on:
//   mlm     BERT's masked LM (80/10/10, optional whole-word masking), optional NSP or SOP
//   albert  ALBERT: masked LM + sentence-order prediction on consecutive segments
//   electra ELECTRA: a generator (a fraction of the discriminator's width) fills masked
//           positions by sampling; the discriminator labels every token; lambda = 50;
//           embeddings shared (electra.h)
//   clm     GPT-2's causal LM
// and the presets that size them for 2-core machines. The saved model is a Hugging Face
// directory (config.json, model.safetensors, tokenizer files) that `spade encode` loads
// (`spade lm` for clm); ELECTRA saves the discriminator there and the generator in
// OUT/generator/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "encoder/config.h"
#include "encoder/gpt2.h"
#include "encoder/pretrain_data.h"
#include "encoder/train_loop.h"

namespace spade::encoder {

enum class Objective { kMlm, kAlbert, kElectra, kClm };
Objective ParseObjective(const std::string& name);  // throws kInvalidArgument listing the names
std::string ObjectiveName(Objective o);

// A size preset: the architecture and the batch shape that fits its time budget on 2 cores.
struct PretrainPreset {
  EncoderConfig encoder;  // for mlm/albert/electra (vocab_size set from the tokenizer)
  Gpt2Config gpt2;        // for clm
  int batch = 32, seq = 128;
  int64_t steps = 1000;
  float lr = 5e-4f;
};
// "tiny" (minutes), "small" (at most two hours on 2 cores), "base" (BERT-base; needs far more).
// Throws kInvalidArgument naming the preset.
PretrainPreset MakePreset(const std::string& name, Objective objective);

struct PretrainConfig {
  Objective objective = Objective::kMlm;
  std::string corpus_dir;       // train.txt, heldout.txt, tokenizers/
  std::string tokenizer_dir;    // empty: corpus_dir/tokenizers/{wordpiece|sentencepiece|bpe} by objective
  EncoderConfig encoder;        // architecture (mlm/albert/electra); vocab/pad set from the tokenizer
  Gpt2Config gpt2;              // architecture (clm)
  int batch = 32, seq = 128;
  uint64_t seed = 0;
  int rank = 0;
  int threads = 1;              // tokenisation threads
  SentenceTask sentence = SentenceTask::kNone;  // mlm: none (default) | nsp | sop; albert: sop
  MaskingOptions masking;
  float generator_fraction = 0.25f;  // ELECTRA generator hidden/intermediate size / discriminator's
  float rtd_weight = 50.0f;
  int eval_batches = 8;         // held-out batches per evaluation (fixed draws)
};

// Builds the task: loads the tokenizer and both corpus splits, builds and initialises the
// models. Throws Error naming the file or field that is wrong.
std::unique_ptr<TrainTask> MakePretrainTask(const PretrainConfig& c);

// The tokenizer an objective uses by default: wordpiece (mlm, electra), sentencepiece
// (albert), bpe (clm).
std::string DefaultTokenizerKind(Objective o);

}  // namespace spade::encoder
