// General (task-agnostic) distillation of a masked-LM teacher into a smaller student, as a
// TrainTask for the shared loop (train_loop.h): `spade distill`. The teacher is frozen: it
// runs forward only, dropout off, and owns no optimizer. Batches are the corpus's masked-LM
// batches (pretrain_data.h MakeMlmBatch), a pure function of (seed, step, rank), so
// --resume gives bit-identical weights.
//
// Methods (losses from distill.h):
//   distilbert  loss = 5 * KL_T(student MLM logits || teacher's) * T²   (every non-padding token,
//                                                                          or only the masked ones)
//                    + 2 * the student's MLM cross-entropy
//                    + 1 * (1 - cos) between last hidden states (non-padding tokens).
//               Student and teacher widths must match; the student starts from the teacher's
//               embeddings, heads and every other layer (InitStudentFromTeacher) unless
//               init_from_teacher is off. Default T = 2 (DistilBERT's).
//   tinybert    two phases by step: steps [0, S) with S = floor(intermediate_fraction * steps)
//               train the intermediate losses
//                    MSE(W_h E_s, E_t) + sum_m [ MSE(W_h H_s^m, H_t^g(m)) + MSE(A_s^m, A_t^g(m)) ]
//               (E the layer-0 input, H^m the output of layer m, A^m its attention scores with
//               masked entries 0, g(m) = m N / M, W_h one shared projection, identity when
//               the widths match; every token row counts, as in TinyBERT's code); steps
//               [S, steps) train only the prediction-layer loss, the soft cross-entropy
//               between the MLM logits at T (default 1). TinyBERT runs these as its two
//               task-distillation stages; here both run on the corpus's MLM batches.
//               Student and teacher need the same number of attention heads. The student
//               starts from random weights (TinyBERT's) unless init_from_teacher is on and
//               the widths allow it.
//
// Held-out metrics (fixed draws of the held-out split, dropout off): the student's and the
// teacher's MLM accuracy at the masked positions, and the student's agreement with the
// teacher's top-1 prediction there.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "encoder/config.h"
#include "encoder/distill.h"
#include "encoder/pretrain_data.h"
#include "encoder/train_loop.h"

namespace spade::encoder {

enum class DistillMethod { kDistilBert, kTinyBert };
DistillMethod ParseDistillMethod(const std::string& name);  // "distilbert" | "tinybert"; else kInvalidArgument
std::string DistillMethodName(DistillMethod m);

// Student shapes derived from the teacher's config (vocabulary, positions, token types,
// activation and arch are the teacher's):
//   "small"  DistilBERT: the teacher's widths, max(1, L/2) layers (L = the teacher's).
//   "tiny"   TinyBERT-4L-312D proportions: max(1, L/3) layers, hidden 312/768 of the
//            teacher's rounded to a multiple of its head count (the same heads, so the
//            attention loss compares head to head), intermediate 4 x hidden.
// Throws kInvalidArgument naming the preset.
EncoderConfig StudentPreset(const std::string& name, const EncoderConfig& teacher);

struct DistillConfig {
  DistillMethod method = DistillMethod::kDistilBert;
  std::string teacher_dir;    // config.json, model.safetensors (with its MLM head), tokenizer files
  std::string corpus_dir;     // train.txt, heldout.txt (spade corpus build)
  EncoderConfig student;      // vocab_size, pad_token_id are set from the teacher
  int batch = 32, seq = 128;  // B, T
  uint64_t seed = 0;          // student initialisation, data order, dropout
  int rank = 0;
  int threads = 1;            // tokenisation threads
  MaskingOptions masking;
  float temperature = 0;      // 0 = the method's default: 2 (distilbert), 1 (tinybert)
  DistilBertWeights weights;  // distilbert
  bool ce_masked_only = false;  // soft targets at the masked positions only (DistilBERT's
                                // restrict_ce_to_mask); default every non-padding token
  int init_from_teacher = -1;   // -1 = the method's default (distilbert yes, tinybert no); 0/1
  float intermediate_fraction = 0.5f;  // tinybert: share of the steps in the intermediate phase
  int64_t total_steps = 0;    // the loop's steps (tinybert's phase boundary); required for tinybert
  int eval_batches = 8;       // held-out batches per evaluation
};

// Loads the teacher and the corpus splits, builds and initialises the student. Throws Error
// naming the file or field that is wrong (e.g. heads that differ for tinybert, widths for
// distilbert, a teacher without an MLM head).
std::unique_ptr<TrainTask> MakeDistillTask(const DistillConfig& c);

}  // namespace spade::encoder
