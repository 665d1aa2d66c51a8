#include "encoder/distill_task.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "encoder/model.h"

namespace spade::encoder {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kHeldoutSeed = 0xD157111ULL;  // held-out draws never depend on --seed

std::unique_ptr<Model> LoadTeacher(const std::string& dir) {
  HeadsConfig h;
  h.mlm = true;
  LoadReport report;
  std::unique_ptr<Model> teacher = LoadModelDir(dir, h, {}, &report);
  for (const std::string& name : report.missing_heads) {
    if (name.rfind("pooler", 0) == 0) continue;  // unused by distillation
    throw Error(ErrorCode::kInvalidArgument, dir + "/model.safetensors: the teacher has no MLM head tensor '" + name +
                                                 "'; distillation needs the teacher's masked-LM predictions");
  }
  return teacher;
}

// The row weights of `rows` (token rows the MLM head ran on): 1 where the token is not padding.
std::vector<float> NonPadding(const Batch& b, const std::vector<int32_t>& rows) {
  std::vector<float> w(rows.size(), 1.0f);
  if (b.attention_mask.empty()) return w;
  for (size_t r = 0; r < rows.size(); ++r) w[r] = b.attention_mask[static_cast<size_t>(rows[r])];
  return w;
}

Eigen::Index Argmax(const Matrix& m, Eigen::Index r) {
  Eigen::Index arg = 0;
  m.row(r).maxCoeff(&arg);
  return arg;
}

class DistillTask : public TrainTask {
 public:
  explicit DistillTask(const DistillConfig& c) : c_(c) {
    if (c.batch <= 0 || c.seq <= 0) throw Error(ErrorCode::kInvalidArgument, "--batch and --seq must be positive");
    if (c.eval_batches <= 0) throw Error(ErrorCode::kInvalidArgument, "eval_batches must be positive");
    if (!fs::is_directory(c.corpus_dir)) throw Error(ErrorCode::kNotFound, c.corpus_dir + ": no such corpus directory");
    teacher_ = LoadTeacher(c.teacher_dir);
    tok_ = LoadTextTokenizer(c.teacher_dir);
    const EncoderConfig& tc = teacher_->config();
    if (tok_.vocab_size > tc.vocab_size) {
      throw Error(ErrorCode::kInvalidArgument, c.teacher_dir + ": the tokenizer has " + std::to_string(tok_.vocab_size) +
                                                   " tokens, the teacher's vocab_size is " +
                                                   std::to_string(tc.vocab_size));
    }
    EncoderConfig sc = c.student;
    sc.vocab_size = tc.vocab_size;
    sc.pad_token_id = tc.pad_token_id;
    sc.Validate();
    for (const EncoderConfig* e : {&tc, static_cast<const EncoderConfig*>(&sc)}) {
      if (c.seq > e->max_position_embeddings) {
        throw Error(ErrorCode::kInvalidArgument, "--seq " + std::to_string(c.seq) + " exceeds the " +
                                                     (e == &tc ? "teacher" : "student") +
                                                     "'s max_position_embeddings " +
                                                     std::to_string(e->max_position_embeddings));
      }
    }
    if (sc.type_vocab_size != tc.type_vocab_size) {
      throw Error(ErrorCode::kInvalidArgument, "student type_vocab_size " + std::to_string(sc.type_vocab_size) +
                                                   " differs from the teacher's " + std::to_string(tc.type_vocab_size));
    }
    temperature_ = c.temperature > 0 ? c.temperature : (c.method == DistillMethod::kDistilBert ? 2.0f : 1.0f);
    HeadsConfig h;
    h.mlm = true;
    student_ = std::make_unique<Model>(sc, h);
    const Encoder& se = student_->encoder();
    const Encoder& te = teacher_->encoder();
    if (c.method == DistillMethod::kDistilBert && sc.hidden_size != tc.hidden_size) {
      throw Error(ErrorCode::kInvalidArgument, "distilbert: the student's hidden_size " + std::to_string(sc.hidden_size) +
                                                   " must equal the teacher's " + std::to_string(tc.hidden_size) +
                                                   " (the cosine loss compares them); use --method tinybert");
    }
    if (c.method == DistillMethod::kTinyBert) {
      if (sc.num_attention_heads != tc.num_attention_heads) {
        throw Error(ErrorCode::kInvalidArgument, "tinybert: the student's num_attention_heads " +
                                                     std::to_string(sc.num_attention_heads) +
                                                     " must equal the teacher's " +
                                                     std::to_string(tc.num_attention_heads) +
                                                     " (the attention loss compares head to head)");
      }
      if (se.applied_layers() > te.applied_layers()) {
        throw Error(ErrorCode::kInvalidArgument, "tinybert: the student applies " + std::to_string(se.applied_layers()) +
                                                     " layers, more than the teacher's " +
                                                     std::to_string(te.applied_layers()));
      }
      if (c.total_steps <= 0) throw Error(ErrorCode::kInvalidArgument, "tinybert: total_steps must be positive");
      if (!(c.intermediate_fraction >= 0 && c.intermediate_fraction <= 1)) {
        throw Error(ErrorCode::kInvalidArgument, "tinybert: the intermediate fraction must be in [0, 1]");
      }
      phase_boundary_ = static_cast<int64_t>(std::floor(c.intermediate_fraction * static_cast<double>(c.total_steps)));
      projection_ = std::make_unique<HiddenProjection>(sc.hidden_size, tc.hidden_size);
      projection_->Init(sc.initializer_range, c.seed ^ 0x9E3779B97F4A7C15ULL);
    }
    init_from_teacher_ = c.init_from_teacher < 0 ? c.method == DistillMethod::kDistilBert : c.init_from_teacher != 0;
    student_->Init(c.seed);
    if (init_from_teacher_) copied_layers_ = InitStudentFromTeacher(*teacher_, student_.get());
    train_ = TokenizeCorpusFile(c.corpus_dir + "/train.txt", tok_, c.threads);
    heldout_ = TokenizeCorpusFile(c.corpus_dir + "/heldout.txt", tok_, c.threads);
    BuildFingerprint();
  }

  std::vector<ParamArena*> Arenas() override {
    std::vector<ParamArena*> a = {&student_->params()};
    if (projection_ && !projection_->identity()) a.push_back(&projection_->params());
    return a;
  }

  Metrics ForwardBackward(int64_t step) override {
    PretrainBatch pb = MakeMlmBatch(train_, tok_, Options(c_.seed, c_.rank), step);
    tokens_ = pb.tokens;
    StepOptions opt;
    opt.train = true;
    opt.seed = DrawSeed(c_.seed, step, c_.rank, -1);
    if (c_.method == DistillMethod::kDistilBert) return DistilBertStep(pb, opt);
    return step < phase_boundary_ ? TinyBertIntermediateStep(pb, opt) : TinyBertPredictionStep(pb, opt);
  }

  Metrics Evaluate() override {
    double student_correct = 0, teacher_correct = 0, agree = 0, loss = 0;
    int64_t n = 0;
    Outputs so, to;
    for (int i = 0; i < c_.eval_batches; ++i) {
      PretrainBatch pb = MakeMlmBatch(heldout_, tok_, Options(kHeldoutSeed, 0), i);
      Targets t;
      t.mlm_labels = pb.mlm_labels;
      loss += student_->Forward(pb.batch, t, StepOptions{}, &so);
      teacher_->Forward(pb.batch, t, StepOptions{}, &to);
      for (size_t r = 0; r < so.mlm.rows.size(); ++r) {
        const auto row = static_cast<Eigen::Index>(r);
        const int32_t label = pb.mlm_labels[static_cast<size_t>(so.mlm.rows[r])];
        const Eigen::Index s = Argmax(so.mlm_logits, row), tt = Argmax(to.mlm_logits, row);
        student_correct += s == label;
        teacher_correct += tt == label;
        agree += s == tt;
        ++n;
      }
    }
    const double d = static_cast<double>(std::max<int64_t>(1, n));
    return {{"student_mlm_accuracy", student_correct / d},
            {"teacher_agreement", agree / d},
            {"teacher_mlm_accuracy", teacher_correct / d},
            {"student_mlm_loss", loss / c_.eval_batches}};
  }

  void SaveModel(const std::string& dir) const override {
    SaveModelDir(*student_, dir);
    CopyTokenizerFiles(tok_, dir);
  }
  int64_t TokensPerStep() const override { return tokens_; }
  std::string Fingerprint() const override { return fingerprint_.dump(); }

 private:
  BatchOptions Options(uint64_t seed, int rank) const {
    BatchOptions o;
    o.batch = c_.batch;
    o.seq = c_.seq;
    o.rank = rank;
    o.seed = seed;
    o.masking = c_.masking;
    return o;
  }

  // Teacher and student MLM logits on the same rows: every token, or the masked ones.
  void LogitsForward(const PretrainBatch& pb, const StepOptions& opt, Targets* t) {
    t->mlm_labels = pb.mlm_labels;
    StepOptions teacher_opt;  // frozen: no dropout
    teacher_opt.mlm_all_rows = !c_.ce_masked_only;
    StepOptions student_opt = opt;
    student_opt.mlm_all_rows = !c_.ce_masked_only;
    teacher_->Forward(pb.batch, *t, teacher_opt, &tout_);
    student_->Forward(pb.batch, *t, student_opt, &sout_);
  }

  Metrics DistilBertStep(const PretrainBatch& pb, const StepOptions& opt) {
    Targets t;
    LogitsForward(pb, opt, &t);
    const DistilBertWeights& w = c_.weights;
    const std::vector<float> ce_rows = c_.ce_masked_only ? std::vector<float>{} : NonPadding(pb.batch, sout_.mlm.rows);
    Matrix d_ce, d_cos;
    const float ce = SoftTargetKl(sout_.mlm_logits, tout_.mlm_logits, temperature_, ce_rows, &d_ce);
    const float cos = CosineEmbeddingLoss(sout_.enc.hidden, tout_.enc.hidden, pb.batch.attention_mask, &d_cos);
    const float mlm = sout_.mlm_loss;
    sout_.d_mlm = w.mlm * sout_.d_mlm + w.ce * d_ce;
    EncoderGradients extra;
    extra.layer_outputs.resize(static_cast<size_t>(student_->encoder().applied_layers()));
    extra.layer_outputs.back() = w.cos * d_cos;
    student_->Backward(pb.batch, t, &sout_, &extra);
    return {{"loss", w.ce * ce + w.mlm * mlm + w.cos * cos}, {"ce_loss", ce}, {"mlm_loss", mlm}, {"cos_loss", cos}};
  }

  Metrics TinyBertIntermediateStep(const PretrainBatch& pb, const StepOptions& opt) {
    const Targets none;
    teacher_->Forward(pb.batch, none, StepOptions{}, &tout_);
    student_->Forward(pb.batch, none, opt, &sout_);
    const Encoder& se = student_->encoder();
    const Encoder& te = teacher_->encoder();
    const int M = se.applied_layers(), N = te.applied_layers();
    EncoderGradients extra;
    Matrix& d_emb = se.has_projection() ? extra.embeddings_projected : extra.embeddings;
    const float emb = projection_->Mse(Encoder::LayerInput0(sout_.enc), Encoder::LayerInput0(tout_.enc), {}, &d_emb);
    extra.layer_outputs.resize(static_cast<size_t>(M));
    extra.attn_scores.resize(static_cast<size_t>(M));
    double hidden = 0, att = 0;
    Matrix s_scores, t_scores;
    for (int m = 1; m <= M; ++m) {
      const int j = TeacherLayerFor(m, M, N);
      const size_t i = static_cast<size_t>(m - 1);
      hidden += projection_->Mse(Encoder::LayerOutput(sout_.enc, m - 1), Encoder::LayerOutput(tout_.enc, j - 1), {},
                                 &extra.layer_outputs[i]);
      se.AttentionScores(pb.batch, sout_.enc, m - 1, &s_scores);
      te.AttentionScores(pb.batch, tout_.enc, j - 1, &t_scores);
      att += MseLoss(s_scores, t_scores, {}, &extra.attn_scores[i]);
    }
    student_->Backward(pb.batch, none, &sout_, &extra);
    return {{"loss", emb + hidden + att}, {"emb_loss", emb},  {"hidden_loss", hidden},
            {"att_loss", att},            {"pred_loss", 0.0}, {"phase", 1.0}};
  }

  Metrics TinyBertPredictionStep(const PretrainBatch& pb, const StepOptions& opt) {
    Targets t;
    LogitsForward(pb, opt, &t);
    const std::vector<float> rows = c_.ce_masked_only ? std::vector<float>{} : NonPadding(pb.batch, sout_.mlm.rows);
    const float pred = SoftCrossEntropy(sout_.mlm_logits, tout_.mlm_logits, temperature_, rows, &sout_.d_mlm);
    student_->Backward(pb.batch, t, &sout_);
    return {{"loss", pred},       {"emb_loss", 0.0},  {"hidden_loss", 0.0},
            {"att_loss", 0.0},    {"pred_loss", pred}, {"phase", 2.0}};
  }

  void BuildFingerprint() {
    std::error_code ec;
    const auto teacher_bytes = fs::file_size(c_.teacher_dir + "/model.safetensors", ec);
    fingerprint_ = {{"task", "distill"},
                    {"method", DistillMethodName(c_.method)},
                    {"teacher", nlohmann::json::parse(ConfigToJson(teacher_->config(), "teacher"))},
                    {"teacher_bytes", ec ? 0 : teacher_bytes},
                    {"student", nlohmann::json::parse(ConfigToJson(student_->config(), "student"))},
                    {"batch", c_.batch},
                    {"seq", c_.seq},
                    {"seed", c_.seed},
                    {"rank", c_.rank},
                    {"mask_rate", c_.masking.rate},
                    {"whole_word", c_.masking.whole_word},
                    {"temperature", temperature_},
                    {"ce_masked_only", c_.ce_masked_only},
                    {"init_from_teacher", init_from_teacher_},
                    {"tokenizer", tok_.kind + ":" + std::to_string(tok_.vocab_size)},
                    {"train_tokens", train_.ids.size()}};
    if (c_.method == DistillMethod::kDistilBert) {
      fingerprint_["weights"] = {c_.weights.ce, c_.weights.mlm, c_.weights.cos};
    } else {
      fingerprint_["intermediate_steps"] = phase_boundary_;
    }
  }

  DistillConfig c_;
  std::unique_ptr<Model> teacher_, student_;
  std::unique_ptr<HiddenProjection> projection_;  // tinybert only
  TextTokenizer tok_;
  TokenizedCorpus train_, heldout_;
  float temperature_ = 1;
  bool init_from_teacher_ = false;
  std::vector<int> copied_layers_;
  int64_t phase_boundary_ = 0;
  Outputs sout_, tout_;
  int64_t tokens_ = 0;
  nlohmann::json fingerprint_;
};

}  // namespace

DistillMethod ParseDistillMethod(const std::string& name) {
  if (name == "distilbert") return DistillMethod::kDistilBert;
  if (name == "tinybert") return DistillMethod::kTinyBert;
  throw Error(ErrorCode::kInvalidArgument, "unknown distillation method '" + name + "' (distilbert, tinybert)");
}

std::string DistillMethodName(DistillMethod m) {
  return m == DistillMethod::kDistilBert ? "distilbert" : "tinybert";
}

EncoderConfig StudentPreset(const std::string& name, const EncoderConfig& teacher) {
  EncoderConfig s = teacher;
  const int L = teacher.num_hidden_layers;
  if (name == "small") {
    s.num_hidden_layers = std::max(1, L / 2);
  } else if (name == "tiny") {
    const int heads = teacher.num_attention_heads;
    s.num_hidden_layers = std::max(1, L / 3);
    const int hidden = static_cast<int>(std::lround(teacher.hidden_size * 312.0 / 768.0));
    s.hidden_size = std::max(heads, (hidden + heads / 2) / heads * heads);
    s.intermediate_size = 4 * s.hidden_size;
    if (s.arch == Arch::kBert) {
      s.embedding_size = s.hidden_size;
    } else {
      s.embedding_size = std::min(s.embedding_size, s.hidden_size);
    }
  } else {
    throw Error(ErrorCode::kInvalidArgument, "unknown student preset '" + name + "' (tiny, small)");
  }
  if (s.arch == Arch::kAlbert) s.num_hidden_groups = std::min(s.num_hidden_groups, s.num_hidden_layers);
  return s;
}

std::unique_ptr<TrainTask> MakeDistillTask(const DistillConfig& c) { return std::make_unique<DistillTask>(c); }

}  // namespace spade::encoder
