#include "encoder/model.h"

#include <utility>

namespace spade::encoder {

Model::Model(const EncoderConfig& config, const HeadsConfig& heads) : heads_(heads) {
  encoder_ = std::make_unique<Encoder>(config, &arena_);
  const EncoderConfig& c = encoder_->config();
  const int H = c.hidden_size, E = c.embedding_size;
  if (heads.mlm) {
    std::string dense, norm, bias;
    mlm_act_ = c.hidden_act;
    switch (c.arch) {
      case Arch::kBert:
        dense = "cls.predictions.transform.dense";
        norm = "cls.predictions.transform.LayerNorm";
        bias = "cls.predictions.bias";
        break;
      case Arch::kAlbert:
        dense = "predictions.dense";
        norm = "predictions.LayerNorm";
        bias = "predictions.bias";
        break;
      case Arch::kElectra:
        dense = "generator_predictions.dense";
        norm = "generator_predictions.LayerNorm";
        bias = "generator_lm_head.bias";
        mlm_act_ = Activation::kGelu;  // ElectraGeneratorPredictions hard-codes gelu
        break;
    }
    mlm_dense_ = AddLinear(arena_, dense, H, E);
    mlm_norm_ = AddLayerNorm(arena_, norm, E, c.layer_norm_eps);
    mlm_bias_ = arena_.AddVector(bias, c.vocab_size);
  }
  // Without a pooler (ELECTRA) classification reads the [CLS] row through Hugging Face's
  // ElectraClassificationHead: dense, gelu, dropout, out_proj.
  const bool summary_classifier = heads.sentence == SentenceHead::kClassification && !encoder_->has_pooler();
  if (heads.sentence != SentenceHead::kNone && !encoder_->has_pooler() && !summary_classifier) {
    throw Error(ErrorCode::kInvalidArgument, ArchName(c.arch) + ": sentence heads need a pooler");
  }
  switch (heads.sentence) {
    case SentenceHead::kNone: break;
    case SentenceHead::kClassification:
      if (summary_classifier) {
        summary_ = AddLinear(arena_, "classifier.dense", H, H);
        sentence_ = AddLinear(arena_, "classifier.out_proj", H, c.num_labels);
      } else {
        sentence_ = AddLinear(arena_, "classifier", H, c.num_labels);
      }
      break;
    case SentenceHead::kNsp: sentence_ = AddLinear(arena_, "cls.seq_relationship", H, 2); break;
    case SentenceHead::kSop: sentence_ = AddLinear(arena_, "sop_classifier.classifier", H, 2); break;
  }
  if (heads.multiple_choice) {
    if (heads.sentence == SentenceHead::kClassification) {
      throw Error(ErrorCode::kInvalidArgument, "multiple_choice and classification both name 'classifier'");
    }
    // Without a pooler (ELECTRA) the choice score reads the [CLS] row through Hugging Face's
    // ElectraForMultipleChoice SequenceSummary: dense, gelu, dropout.
    if (!encoder_->has_pooler()) summary_ = AddLinear(arena_, "sequence_summary.summary", H, H);
    choice_ = AddLinear(arena_, "classifier", H, 1);
  }
  if (heads.rtd) {
    rtd_dense_ = AddLinear(arena_, "discriminator_predictions.dense", H, H);
    rtd_out_ = AddLinear(arena_, "discriminator_predictions.dense_prediction", H, 1);
  }
  arena_.Allocate();
}

float Model::Forward(const Batch& batch, const Targets& t, const StepOptions& opt, Outputs* out) {
  const EncoderConfig& c = encoder_->config();
  const int B = batch.batch, T = batch.seq;
  const size_t N = static_cast<size_t>(B) * T;
  encoder_->Forward(batch, opt.train, opt.seed, &out->enc);
  out->loss = out->mlm_loss = out->sentence_loss = out->choice_loss = out->rtd_loss = 0;
  const Matrix& hidden = out->enc.hidden;

  if (heads_.mlm && (!t.mlm_labels.empty() || opt.mlm_all_rows)) {
    if (!t.mlm_labels.empty() && t.mlm_labels.size() != N) {
      ThrowShapeMismatch("mlm_labels", {B, T}, {static_cast<int64_t>(t.mlm_labels.size())});
    }
    MlmCache& m = out->mlm;
    m.rows.clear();
    for (size_t n = 0; n < N; ++n) {
      if (opt.mlm_all_rows || t.mlm_labels[n] != -100) m.rows.push_back(static_cast<int32_t>(n));
    }
    m.x.resize(static_cast<Eigen::Index>(m.rows.size()), c.hidden_size);
    for (size_t r = 0; r < m.rows.size(); ++r) m.x.row(static_cast<Eigen::Index>(r)) = hidden.row(m.rows[r]);
    LinearForward(arena_, mlm_dense_, m.x, &m.t_pre);
    ActivationForward(mlm_act_, m.t_pre, &m.t_act);
    LayerNormForward(arena_, mlm_norm_, m.t_act, &m.t, &m.ln);
    out->mlm_logits.resize(m.t.rows(), c.vocab_size);
    out->mlm_logits.noalias() = m.t * arena_.Value(encoder_->word_embeddings()).transpose();
    out->mlm_logits.rowwise() += arena_.Value(mlm_bias_).row(0);
    if (!t.mlm_labels.empty()) {
      std::vector<int32_t> labels(m.rows.size());
      for (size_t r = 0; r < m.rows.size(); ++r) labels[r] = t.mlm_labels[static_cast<size_t>(m.rows[r])];
      out->mlm_loss = SoftmaxCrossEntropy(out->mlm_logits, labels, &out->d_mlm);
      out->loss += out->mlm_loss;
    }
  }
  const bool need_head_in = (heads_.sentence != SentenceHead::kNone && !t.sentence_labels.empty()) ||
                            (heads_.multiple_choice && t.num_choices > 0);
  if (need_head_in) {
    if (summary_.weight >= 0) {
      out->summary_cls.resize(B, c.hidden_size);
      for (int b = 0; b < B; ++b) out->summary_cls.row(b) = hidden.row(static_cast<Eigen::Index>(b) * T);
      LinearForward(arena_, summary_, out->summary_cls, &out->summary_pre);
      ActivationForward(Activation::kGelu, out->summary_pre, &out->head_in);
    } else {
      out->head_in = out->enc.pooled;
    }
    // NSP applies no dropout (BertPreTrainingHeads); the fine-tuning heads do.
    const float p = heads_.sentence == SentenceHead::kNsp ? 0.0f : c.hidden_dropout_prob;
    DropoutForward(p, opt.train, SiteSeed(opt.seed, 7), &out->head_in, &out->head_drop);
  }
  if (heads_.sentence != SentenceHead::kNone && !t.sentence_labels.empty()) {
    LinearForward(arena_, sentence_, out->head_in, &out->sentence_logits);
    out->sentence_loss = SoftmaxCrossEntropy(out->sentence_logits, t.sentence_labels, &out->d_sentence);
    out->loss += out->sentence_loss;
  }
  if (heads_.multiple_choice && t.num_choices > 0) {
    const int C = t.num_choices;
    if (B % C != 0) ThrowShapeMismatch("multiple choice batch (questions x choices)", {B / C * C}, {B});
    Matrix scores;
    LinearForward(arena_, choice_, out->head_in, &scores);  // (B, 1)
    out->choice_logits = Eigen::Map<Matrix>(scores.data(), B / C, C);
    if (!t.choice_labels.empty()) {
      out->choice_loss = SoftmaxCrossEntropy(out->choice_logits, t.choice_labels, &out->d_choice);
      out->loss += out->choice_loss;
    }
  }
  if (heads_.rtd) {
    LinearForward(arena_, rtd_dense_, hidden, &out->rtd_pre);
    ActivationForward(c.hidden_act, out->rtd_pre, &out->rtd_act);
    LinearForward(arena_, rtd_out_, out->rtd_act, &out->rtd_logits);
    if (!t.rtd_labels.empty()) {
      std::vector<float> w = batch.attention_mask.empty() ? std::vector<float>(N, 1.0f) : batch.attention_mask;
      out->rtd_loss = SigmoidCrossEntropy(out->rtd_logits, t.rtd_labels, w, &out->d_rtd);
      out->loss += out->rtd_loss;
    }
  }
  return out->loss;
}

void Model::Backward(const Batch& batch, const Targets& t, Outputs* out, const EncoderGradients* extra) {
  const EncoderConfig& c = encoder_->config();
  const int B = batch.batch, T = batch.seq;
  Matrix d_hidden = Matrix::Zero(static_cast<Eigen::Index>(B) * T, c.hidden_size);
  Matrix d_pooled;
  if (heads_.mlm && !t.mlm_labels.empty()) {
    MlmCache& m = out->mlm;
    Matrix dt, d_act, d_pre, dx;
    ConstMatrixMap w = std::as_const(arena_).Value(encoder_->word_embeddings());
    arena_.Grad(encoder_->word_embeddings()).noalias() += out->d_mlm.transpose() * m.t;
    arena_.Grad(mlm_bias_).row(0) += out->d_mlm.colwise().sum();
    dt.noalias() = out->d_mlm * w;
    LayerNormBackward(arena_, mlm_norm_, dt, m.ln, &d_act);
    ActivationBackward(mlm_act_, m.t_pre, d_act, &d_pre);
    LinearBackward(arena_, mlm_dense_, m.x, d_pre, &dx);
    for (size_t r = 0; r < m.rows.size(); ++r) d_hidden.row(m.rows[r]) += dx.row(static_cast<Eigen::Index>(r));
  }
  Matrix d_head_in;
  if (heads_.sentence != SentenceHead::kNone && !t.sentence_labels.empty()) {
    Matrix dx;
    LinearBackward(arena_, sentence_, out->head_in, out->d_sentence, &dx);
    d_head_in = dx;
  }
  if (heads_.multiple_choice && t.num_choices > 0 && !t.choice_labels.empty()) {
    Matrix d_scores = Eigen::Map<Matrix>(out->d_choice.data(), B, 1);
    Matrix dx;
    LinearBackward(arena_, choice_, out->head_in, d_scores, &dx);
    if (d_head_in.size() == 0) {
      d_head_in = dx;
    } else {
      d_head_in += dx;
    }
  }
  if (d_head_in.size() != 0) {
    DropoutBackward(out->head_drop, &d_head_in);
    if (summary_.weight >= 0) {
      Matrix d_pre, d_cls;
      ActivationBackward(Activation::kGelu, out->summary_pre, d_head_in, &d_pre);
      LinearBackward(arena_, summary_, out->summary_cls, d_pre, &d_cls);
      for (int b = 0; b < B; ++b) d_hidden.row(static_cast<Eigen::Index>(b) * T) += d_cls.row(b);
    } else {
      d_pooled = std::move(d_head_in);
    }
  }
  if (heads_.rtd && !t.rtd_labels.empty()) {
    Matrix d_act, d_pre, dx;
    LinearBackward(arena_, rtd_out_, out->rtd_act, out->d_rtd, &d_act);
    ActivationBackward(c.hidden_act, out->rtd_pre, d_act, &d_pre);
    LinearBackward(arena_, rtd_dense_, out->enc.hidden, d_pre, &dx);
    d_hidden += dx;
  }
  encoder_->Backward(batch, &out->enc, &d_hidden, d_pooled.size() ? &d_pooled : nullptr, extra);
}

}  // namespace spade::encoder
