// Model: an Encoder trunk plus the heads a task needs, all in one ParamArena.
//
// Heads and their published tensor names (no model prefix; see checkpoint.h for prefixes):
//   MLM, tied to the word embeddings   BERT  cls.predictions.{transform.dense,transform.LayerNorm,bias}
//                                      ALBERT predictions.{dense,LayerNorm,bias}
//                                      ELECTRA generator generator_predictions.{dense,LayerNorm},
//                                              generator_lm_head.bias
//   sentence head on pooled [CLS]      classification: classifier; NSP: cls.seq_relationship;
//                                      SOP: sop_classifier.classifier
//   multiple choice on pooled [CLS]    classifier (1, H); batch rows are B' questions x C choices
//   replaced-token detection (ELECTRA) discriminator_predictions.{dense,dense_prediction}
//
// Forward computes the losses of the heads whose targets are given; the total loss is
// their sum. Backward then accumulates d(total)/d(every parameter) into the arena.
// One Model is not thread-safe; the math inside uses the OpenMP/Eigen thread count.
#pragma once

#include <memory>
#include <vector>

#include "encoder/transformer.h"

namespace spade::encoder {

enum class SentenceHead { kNone, kClassification, kNsp, kSop };

struct HeadsConfig {
  bool mlm = false;                          // tied masked-LM head
  SentenceHead sentence = SentenceHead::kNone;
  bool multiple_choice = false;              // classifier (1, H); excludes sentence kClassification
  bool rtd = false;                          // ELECTRA discriminator head
};

struct Targets {
  std::vector<int32_t> mlm_labels;       // (B*T); -100 = not predicted; empty = no MLM loss
  std::vector<int32_t> sentence_labels;  // (B); empty = no sentence loss
  int num_choices = 0;                   // C; batch.batch must be a multiple of C
  std::vector<int32_t> choice_labels;    // (B / C); empty = no multiple-choice loss
  std::vector<float> rtd_labels;         // (B*T) 1 replaced / 0 original; empty = no RTD loss
};

struct StepOptions {
  bool train = false;         // dropout on
  uint64_t seed = 0;          // dropout stream
  bool mlm_all_rows = false;  // MLM logits for every token, not only labelled ones
};

struct MlmCache {
  std::vector<int32_t> rows;  // (R) token rows the head ran on
  Matrix x;                   // (R, H)
  Matrix t_pre, t_act, t;     // (R, E)
  LayerNormCache ln;
};

struct Outputs {
  EncoderState enc;
  MlmCache mlm;
  Matrix mlm_logits;       // (R, V) rows mlm.rows
  Matrix sentence_logits;  // (B, K)
  Matrix choice_logits;    // (B/C, C)
  Matrix rtd_logits;       // (N, 1)
  Matrix rtd_pre, rtd_act;  // (N, H)
  Matrix head_in;          // (B, H) pooled (or sequence summary) after dropout
  Matrix summary_cls, summary_pre;  // (B, H) ELECTRA multiple choice: [CLS] rows, summary pre-gelu
  DropoutCache head_drop;
  float loss = 0, mlm_loss = 0, sentence_loss = 0, choice_loss = 0, rtd_loss = 0;
  // d loss / d logits, kept for Backward.
  Matrix d_mlm, d_sentence, d_choice, d_rtd;
};

class Model {
 public:
  Model(const EncoderConfig& config, const HeadsConfig& heads);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  void Init(uint64_t seed) { encoder_->Init(seed); }
  // Returns the total loss (0 when no targets). Throws kInvalidArgument on bad shapes/ids.
  float Forward(const Batch& batch, const Targets& targets, const StepOptions& opt, Outputs* out);
  // Requires the Outputs of the Forward just before it on the same batch/targets. `extra`
  // (optional) adds gradients at the trunk's intermediates (Encoder::Backward), e.g. a
  // distillation loss on hidden states; the heads' d_mlm etc. may be rescaled before.
  void Backward(const Batch& batch, const Targets& targets, Outputs* out, const EncoderGradients* extra = nullptr);

  ParamArena& params() { return arena_; }
  const ParamArena& params() const { return arena_; }
  const EncoderConfig& config() const { return encoder_->config(); }
  const HeadsConfig& heads() const { return heads_; }
  const Encoder& encoder() const { return *encoder_; }

 private:
  ParamArena arena_;
  HeadsConfig heads_;
  std::unique_ptr<Encoder> encoder_;
  // MLM head
  Linear mlm_dense_;      // (E_out, H)
  LayerNorm mlm_norm_;    // (E_out)
  int mlm_bias_ = -1;     // (V)
  Activation mlm_act_ = Activation::kGelu;
  Linear sentence_;       // (K, H)
  Linear choice_;         // (1, H)
  Linear summary_;        // (H, H) ELECTRA's multiple-choice SequenceSummary ("first", gelu); -1 else
  Linear rtd_dense_;      // (H, H)
  Linear rtd_out_;        // (1, H)
};

}  // namespace spade::encoder
