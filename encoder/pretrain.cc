#include "encoder/pretrain.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "encoder/electra.h"
#include "encoder/model.h"

namespace spade::encoder {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kHeldoutSeed = 0x4E1D0E7ULL;  // held-out draws never depend on --seed

EncoderConfig Shape(Arch arch, int H, int E, int L, int heads, int F, int P) {
  EncoderConfig c;
  c.arch = arch;
  c.hidden_size = H;
  c.embedding_size = E;
  c.num_hidden_layers = L;
  c.num_attention_heads = heads;
  c.intermediate_size = F;
  c.max_position_embeddings = P;
  if (arch == Arch::kAlbert) {
    c.hidden_act = Activation::kGeluNew;
    c.hidden_dropout_prob = 0.0f;  // ALBERT's published configs drop dropout
    c.attention_probs_dropout_prob = 0.0f;
    c.layer_norm_eps = 1e-12f;
  }
  return c;
}

Arch ArchOf(Objective o) {
  switch (o) {
    case Objective::kAlbert: return Arch::kAlbert;
    case Objective::kElectra: return Arch::kElectra;
    default: return Arch::kBert;
  }
}

struct Splits {
  TextTokenizer tok;
  TokenizedCorpus train, heldout;
};

Splits LoadSplits(const PretrainConfig& c) {
  Splits s;
  const std::string tdir = c.tokenizer_dir.empty() ? c.corpus_dir + "/tokenizers/" + DefaultTokenizerKind(c.objective)
                                                   : c.tokenizer_dir;
  if (!fs::is_directory(c.corpus_dir)) throw Error(ErrorCode::kNotFound, c.corpus_dir + ": no such corpus directory");
  s.tok = LoadTextTokenizer(tdir);
  s.train = TokenizeCorpusFile(c.corpus_dir + "/train.txt", s.tok, c.threads);
  s.heldout = TokenizeCorpusFile(c.corpus_dir + "/heldout.txt", s.tok, c.threads);
  return s;
}

nlohmann::json BaseFingerprint(const PretrainConfig& c, const Splits& s) {
  std::error_code ec;
  return {{"objective", ObjectiveName(c.objective)},
          {"batch", c.batch},
          {"seq", c.seq},
          {"seed", c.seed},
          {"rank", c.rank},
          {"sentence", static_cast<int>(c.sentence)},
          {"mask_rate", c.masking.rate},
          {"whole_word", c.masking.whole_word},
          {"tokenizer", s.tok.kind + ":" + std::to_string(s.tok.vocab_size)},
          {"train_tokens", s.train.ids.size()}};
}

BatchOptions Options(const PretrainConfig& c) {
  BatchOptions o;
  o.batch = c.batch;
  o.seq = c.seq;
  o.rank = c.rank;
  o.seed = c.seed;
  o.sentence = c.sentence;
  o.masking = c.masking;
  return o;
}

double Accuracy(const Matrix& logits, const std::vector<int32_t>& labels, int64_t* n) {
  double correct = 0;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    Eigen::Index arg;
    logits.row(r).maxCoeff(&arg);
    correct += arg == labels[size_t(r)];
  }
  *n += logits.rows();
  return correct;
}

// Area under the ROC curve by ranks (ties averaged).
double Auc(std::vector<std::pair<float, int>> scored) {
  std::sort(scored.begin(), scored.end());
  double pos = 0, neg = 0, rank_sum = 0;
  for (size_t i = 0; i < scored.size();) {
    size_t j = i;
    while (j < scored.size() && scored[j].first == scored[i].first) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (scored[k].second) {
        rank_sum += avg_rank;
        ++pos;
      } else {
        ++neg;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

// ---- mlm / albert ----
class MaskedLmTask : public TrainTask {
 public:
  MaskedLmTask(const PretrainConfig& c, Splits s) : c_(c), s_(std::move(s)) {
    EncoderConfig e = c.encoder;
    e.vocab_size = s_.tok.vocab_size;
    e.pad_token_id = s_.tok.pad_id;
    HeadsConfig h;
    h.mlm = true;
    h.sentence = c.sentence == SentenceTask::kSop ? SentenceHead::kSop
                 : c.sentence == SentenceTask::kNsp ? SentenceHead::kNsp
                                                    : SentenceHead::kNone;
    model_ = std::make_unique<Model>(e, h);
    model_->Init(c.seed);
    fingerprint_ = BaseFingerprint(c, s_);
    fingerprint_["config"] = nlohmann::json::parse(ConfigToJson(e, HeadsToArchitecture(e, h)));
  }
  std::vector<ParamArena*> Arenas() override { return {&model_->params()}; }
  Metrics ForwardBackward(int64_t step) override {
    PretrainBatch pb = MakeMlmBatch(s_.train, s_.tok, Options(c_), step);
    tokens_ = pb.tokens;
    Targets t;
    t.mlm_labels = std::move(pb.mlm_labels);
    t.sentence_labels = std::move(pb.sentence_labels);
    StepOptions opt;
    opt.train = true;
    opt.seed = DrawSeed(c_.seed, step, c_.rank, -1);
    const float loss = model_->Forward(pb.batch, t, opt, &out_);
    model_->Backward(pb.batch, t, &out_);
    Metrics m = {{"loss", loss}, {"mlm_loss", out_.mlm_loss}};
    if (c_.sentence != SentenceTask::kNone) m.push_back({SentenceName() + "_loss", out_.sentence_loss});
    return m;
  }
  Metrics Evaluate() override {
    BatchOptions o = Options(c_);
    o.seed = kHeldoutSeed;
    o.rank = 0;
    double mlm_correct = 0, sent_correct = 0, mlm_loss = 0, sent_loss = 0;
    int64_t mlm_n = 0, sent_n = 0;
    Outputs out;
    for (int i = 0; i < c_.eval_batches; ++i) {
      PretrainBatch pb = MakeMlmBatch(s_.heldout, s_.tok, o, i);
      Targets t;
      t.mlm_labels = pb.mlm_labels;
      t.sentence_labels = pb.sentence_labels;
      model_->Forward(pb.batch, t, StepOptions{}, &out);
      std::vector<int32_t> row_labels;
      for (int32_t r : out.mlm.rows) row_labels.push_back(pb.mlm_labels[size_t(r)]);
      mlm_correct += Accuracy(out.mlm_logits, row_labels, &mlm_n);
      mlm_loss += out.mlm_loss;
      if (!t.sentence_labels.empty()) {
        sent_correct += Accuracy(out.sentence_logits, t.sentence_labels, &sent_n);
        sent_loss += out.sentence_loss;
      }
    }
    Metrics m = {{"mlm_accuracy", mlm_correct / std::max<int64_t>(1, mlm_n)},
                 {"mlm_loss", mlm_loss / c_.eval_batches}};
    if (sent_n > 0) {
      m.push_back({SentenceName() + "_accuracy", sent_correct / static_cast<double>(sent_n)});
      m.push_back({SentenceName() + "_loss", sent_loss / c_.eval_batches});
    }
    return m;
  }
  void SaveModel(const std::string& dir) const override {
    SaveModelDir(*model_, dir);
    CopyTokenizerFiles(s_.tok, dir);
  }
  int64_t TokensPerStep() const override { return tokens_; }
  std::string Fingerprint() const override { return fingerprint_.dump(); }

 private:
  std::string SentenceName() const { return c_.sentence == SentenceTask::kSop ? "sop" : "nsp"; }
  PretrainConfig c_;
  Splits s_;
  std::unique_ptr<Model> model_;
  Outputs out_;
  int64_t tokens_ = 0;
  nlohmann::json fingerprint_;
};

// ---- electra ----
ElectraConfig MakeElectraConfig(const PretrainConfig& c, const TextTokenizer& tok) {
  ElectraConfig ec;
  EncoderConfig d = c.encoder;
  d.arch = Arch::kElectra;
  d.vocab_size = tok.vocab_size;
  d.pad_token_id = tok.pad_id;
  EncoderConfig g = d;
  const float f = c.generator_fraction;
  if (!(f > 0 && f <= 1)) {
    throw Error(ErrorCode::kInvalidArgument, "--generator-fraction must be in (0, 1], got " + std::to_string(f));
  }
  const int head_dim = d.hidden_size / d.num_attention_heads;
  g.num_attention_heads = std::max(1, static_cast<int>(std::lround(d.num_attention_heads * f)));
  g.hidden_size = g.num_attention_heads * head_dim;
  g.intermediate_size = std::max(1, static_cast<int>(std::lround(d.intermediate_size * f)));
  ec.generator = g;
  ec.discriminator = d;
  ec.rtd_weight = c.rtd_weight;
  ec.mask_token_id = tok.mask_id;
  ec.mask_prob = c.masking.rate;
  return ec;
}

class ElectraTask : public TrainTask {
 public:
  ElectraTask(const PretrainConfig& c, Splits s) : c_(c), s_(std::move(s)), ec_(MakeElectraConfig(c, s_.tok)) {
    p_ = std::make_unique<ElectraPretrainer>(ec_);
    p_->Init(c.seed);
    fingerprint_ = BaseFingerprint(c, s_);
    fingerprint_["generator"] = nlohmann::json::parse(ConfigToJson(ec_.generator, "ElectraForMaskedLM"));
    fingerprint_["discriminator"] = nlohmann::json::parse(ConfigToJson(ec_.discriminator, "ElectraForPreTraining"));
    fingerprint_["rtd_weight"] = ec_.rtd_weight;
  }
  std::vector<ParamArena*> Arenas() override { return {&p_->discriminator().params(), &p_->generator().params()}; }
  Metrics ForwardBackward(int64_t step) override {
    PretrainBatch pb = MakeMlmBatch(s_.train, s_.tok, Options(c_), step);
    tokens_ = pb.tokens;
    Batch b = pb.batch;
    b.input_ids = pb.original_ids;  // the pretrainer masks and samples itself
    const ElectraStep r = p_->ForwardBackward(b, DrawSeed(c_.seed, step, c_.rank, -1));
    return {{"loss", r.loss},
            {"generator_loss", r.generator_loss},
            {"discriminator_loss", r.discriminator_loss},
            {"replaced_fraction", r.replaced_fraction}};
  }
  void AfterUpdate() override { p_->SyncSharedEmbeddings(); }
  Metrics Evaluate() override {
    // Dropout off; the generator's samples are drawn from a fixed held-out stream.
    BatchOptions o = Options(c_);
    o.seed = kHeldoutSeed;
    o.rank = 0;
    MaskingOptions mo = c_.masking;
    mo.mask_fraction = 1.0f;
    mo.random_fraction = 0.0f;
    o.masking = mo;
    double gen_correct = 0, rtd_correct = 0;
    int64_t gen_n = 0, rtd_n = 0;
    std::vector<std::pair<float, int>> scored;
    Outputs gout, dout;
    for (int i = 0; i < c_.eval_batches; ++i) {
      PretrainBatch pb = MakeMlmBatch(s_.heldout, s_.tok, o, i);
      Targets gt;
      gt.mlm_labels = pb.mlm_labels;
      p_->generator().Forward(pb.batch, gt, StepOptions{}, &gout);
      std::vector<int32_t> row_labels;
      for (int32_t r : gout.mlm.rows) row_labels.push_back(pb.mlm_labels[size_t(r)]);
      gen_correct += Accuracy(gout.mlm_logits, row_labels, &gen_n);
      Batch corrupted = pb.batch;
      corrupted.input_ids = pb.original_ids;
      std::vector<float> labels(corrupted.input_ids.size(), 0.0f);
      std::mt19937_64 rng(DrawSeed(kHeldoutSeed, i, 0, -2));
      for (size_t k = 0; k < gout.mlm.rows.size(); ++k) {
        auto logits = gout.mlm_logits.row(static_cast<Eigen::Index>(k));
        std::vector<double> p(static_cast<size_t>(logits.size()));
        const float mx = logits.maxCoeff();
        for (Eigen::Index v = 0; v < logits.size(); ++v) p[size_t(v)] = std::exp(double(logits(v) - mx));
        std::discrete_distribution<int32_t> dist(p.begin(), p.end());
        const size_t n = size_t(gout.mlm.rows[k]);
        corrupted.input_ids[n] = dist(rng);
        labels[n] = corrupted.input_ids[n] != pb.original_ids[n] ? 1.0f : 0.0f;
      }
      Targets dt;
      dt.rtd_labels = labels;
      p_->discriminator().Forward(corrupted, dt, StepOptions{}, &dout);
      for (size_t n = 0; n < labels.size(); ++n) {
        if (corrupted.attention_mask[n] == 0.0f) continue;
        const float logit = dout.rtd_logits(static_cast<Eigen::Index>(n), 0);
        rtd_correct += (logit > 0) == (labels[n] > 0.5f);
        ++rtd_n;
        scored.push_back({logit, labels[n] > 0.5f});
      }
    }
    return {{"generator_mlm_accuracy", gen_correct / std::max<int64_t>(1, gen_n)},
            {"rtd_accuracy", rtd_correct / std::max<int64_t>(1, rtd_n)},
            {"rtd_auc", Auc(std::move(scored))}};
  }
  void SaveModel(const std::string& dir) const override {
    SaveModelDir(p_->discriminator(), dir);
    CopyTokenizerFiles(s_.tok, dir);
    SaveModelDir(p_->generator(), dir + "/generator");
    CopyTokenizerFiles(s_.tok, dir + "/generator");
  }
  int64_t TokensPerStep() const override { return tokens_; }
  std::string Fingerprint() const override { return fingerprint_.dump(); }

 private:
  PretrainConfig c_;
  Splits s_;
  ElectraConfig ec_;
  std::unique_ptr<ElectraPretrainer> p_;
  int64_t tokens_ = 0;
  nlohmann::json fingerprint_;
};

// ---- clm ----
class CausalLmTask : public TrainTask {
 public:
  CausalLmTask(const PretrainConfig& c, Splits s) : c_(c), s_(std::move(s)) {
    Gpt2Config g = c.gpt2;
    g.vocab_size = s_.tok.vocab_size;
    if (c.seq > g.n_positions) {
      throw Error(ErrorCode::kInvalidArgument, "--seq " + std::to_string(c.seq) + " exceeds n_positions " +
                                                   std::to_string(g.n_positions));
    }
    model_ = std::make_unique<Gpt2Model>(g);
    model_->Init(c.seed);
    fingerprint_ = BaseFingerprint(c, s_);
    fingerprint_["config"] = nlohmann::json::parse(Gpt2ConfigToJson(g));
  }
  std::vector<ParamArena*> Arenas() override { return {&model_->params()}; }
  Metrics ForwardBackward(int64_t step) override {
    PretrainBatch pb = MakeClmBatch(s_.train, s_.tok, Options(c_), step);
    tokens_ = pb.tokens;
    StepOptions opt;
    opt.train = true;
    opt.seed = DrawSeed(c_.seed, step, c_.rank, -1);
    const float loss = model_->Forward(pb.batch, pb.mlm_labels, opt, &out_);
    model_->Backward(pb.batch, &out_);
    return {{"loss", loss}};
  }
  Metrics Evaluate() override {
    BatchOptions o = Options(c_);
    o.seed = kHeldoutSeed;
    o.rank = 0;
    double loss = 0;
    Gpt2Outputs out;
    for (int i = 0; i < c_.eval_batches; ++i) {
      PretrainBatch pb = MakeClmBatch(s_.heldout, s_.tok, o, i);
      loss += model_->Forward(pb.batch, pb.mlm_labels, StepOptions{}, &out);
    }
    loss /= c_.eval_batches;
    return {{"loss", loss}, {"perplexity", std::exp(loss)}};
  }
  void SaveModel(const std::string& dir) const override {
    SaveGpt2Dir(*model_, dir);
    CopyTokenizerFiles(s_.tok, dir);
  }
  int64_t TokensPerStep() const override { return tokens_; }
  std::string Fingerprint() const override { return fingerprint_.dump(); }

 private:
  PretrainConfig c_;
  Splits s_;
  std::unique_ptr<Gpt2Model> model_;
  Gpt2Outputs out_;
  int64_t tokens_ = 0;
  nlohmann::json fingerprint_;
};

}  // namespace

Objective ParseObjective(const std::string& name) {
  if (name == "mlm") return Objective::kMlm;
  if (name == "albert") return Objective::kAlbert;
  if (name == "electra") return Objective::kElectra;
  if (name == "clm") return Objective::kClm;
  throw Error(ErrorCode::kInvalidArgument, "unknown objective '" + name + "' (mlm, albert, electra, clm)");
}

std::string ObjectiveName(Objective o) {
  switch (o) {
    case Objective::kMlm: return "mlm";
    case Objective::kAlbert: return "albert";
    case Objective::kElectra: return "electra";
    case Objective::kClm: return "clm";
  }
  return "?";
}

std::string DefaultTokenizerKind(Objective o) {
  switch (o) {
    case Objective::kAlbert: return "sentencepiece";
    case Objective::kClm: return "bpe";
    default: return "wordpiece";
  }
}

PretrainPreset MakePreset(const std::string& name, Objective objective) {
  PretrainPreset p;
  const Arch arch = ArchOf(objective);
  const bool albert = arch == Arch::kAlbert;
  if (name == "tiny") {
    p.encoder = Shape(arch, 128, albert ? 64 : 128, 2, 2, 512, 128);
    p.gpt2.n_embd = 128;
    p.gpt2.n_layer = 2;
    p.gpt2.n_head = 2;
    p.gpt2.n_positions = 128;
    p.batch = 16;
    p.seq = 64;
    p.steps = 300;
    p.lr = 1e-3f;
  } else if (name == "small") {
    p.encoder = Shape(arch, 256, albert ? 128 : 256, 4, 4, 1024, 128);
    p.gpt2.n_embd = 256;
    p.gpt2.n_layer = 4;
    p.gpt2.n_head = 4;
    p.gpt2.n_positions = 128;
    p.batch = 32;
    p.seq = 128;
    p.steps = 3000;  // 3,000 x 4,096 tokens: ~42 min at 4,860 tokens/s (MLM, 2 threads, quiet), ~1.7 h at 2,000
    p.lr = 5e-4f;
  } else if (name == "base") {
    p.encoder = Shape(arch, 768, albert ? 128 : 768, 12, 12, 3072, 512);
    p.gpt2 = Gpt2Config{};
    p.batch = 32;
    p.seq = 128;
    p.steps = 100000;
    p.lr = 1e-4f;
  } else {
    throw Error(ErrorCode::kInvalidArgument, "unknown preset '" + name + "' (tiny, small, base)");
  }
  if (albert) p.encoder.sharing = Sharing::kAll;
  return p;
}

std::unique_ptr<TrainTask> MakePretrainTask(const PretrainConfig& c) {
  if (c.batch <= 0 || c.seq <= 0) throw Error(ErrorCode::kInvalidArgument, "--batch and --seq must be positive");
  if (c.eval_batches <= 0) throw Error(ErrorCode::kInvalidArgument, "eval_batches must be positive");
  if (c.objective != Objective::kClm) {
    c.encoder.Validate();
    if (c.seq > c.encoder.max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument, "--seq " + std::to_string(c.seq) + " exceeds max_position_embeddings " +
                                                   std::to_string(c.encoder.max_position_embeddings));
    }
  }
  Splits s = LoadSplits(c);
  switch (c.objective) {
    case Objective::kMlm:
    case Objective::kAlbert: return std::make_unique<MaskedLmTask>(c, std::move(s));
    case Objective::kElectra: return std::make_unique<ElectraTask>(c, std::move(s));
    case Objective::kClm: return std::make_unique<CausalLmTask>(c, std::move(s));
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown objective");
}

}  // namespace spade::encoder
