#include "fusion/qa_train.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq_formats.h"
#include "encoder/distill.h"
#include "encoder/error.h"
#include "encoder/safetensors.h"
#include "fusion/probe_common.h"
#include "fusion/qa_cache.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

std::vector<QaExample> BuildQaExamples(const std::vector<data::McqItem>& items, const QaKnowledge& kg,
                                       const encoder::TextTokenizer& tok, const QaExampleOptions& options,
                                       int threads) {
  retrieval::KgScorer scorer(*kg.graph, *kg.lemmatizer, kg.transe, kg.weights, kg.scorer);
  std::vector<retrieval::QuestionResult> scored;
  retrieval::EvaluateKgScorer(scorer, items, threads, &scored);
  std::vector<QaExample> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) out.push_back(BuildQaExample(items[i], scored[i], kg.weights, tok, options));
  return out;
}

namespace {

std::vector<data::McqItem> ReadItems(const std::string& path) {
  try {
    return data::ReadMcqFile(path);
  } catch (const spade::Error& e) {
    throw Error(ErrorCode::kInvalidArgument, e.what());
  }
}

struct TrainSet {
  std::string path;
  std::vector<QaExample> examples;
};

class QaTrainTask final : public encoder::TrainTask {
 public:
  QaTrainTask(const QaTrainConfig& c, const QaKnowledge& kg) : c_(c), kg_transe_(kg.transe) {
    if (c.questions_per_step <= 0) throw Error(ErrorCode::kInvalidArgument, "questions per step must be positive");
    if (c.train_paths.empty()) throw Error(ErrorCode::kInvalidArgument, "no training file (--train)");
    ProbeEncoder enc = LoadProbeEncoder(c.init_dir, encoder::HeadsConfig{}, c.random_init, c.seed);
    tok_ = std::move(enc.tok);
    if (c.examples.max_seq > enc.model->config().max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument, std::string("--seq ").append(std::to_string(c.examples.max_seq))
                                                   .append(" exceeds the encoder's ")
                                                   .append(std::to_string(enc.model->config().max_position_embeddings))
                                                   .append(" positions"));
    }
    QaModelConfig mc = c.model;
    mc.kg_features = static_cast<int>(retrieval::KgFeatureNames().size());
    model_ = std::make_unique<QaModel>(std::move(enc.model), kg.transe, mc);
    model_->InitFusion(c.seed);
    if (mc.use_kg_features) model_->SetFeatureWeights(kg.weights.weight);
    for (const std::string& p : c.train_paths) {
      TrainSet s{p, CachedQaExamples(p, ReadItems(p), kg, tok_, c.examples, c.threads, c.cache_dir, nullptr)};
      std::erase_if(s.examples, [](const QaExample& e) { return e.label < 0; });
      if (s.examples.empty()) throw Error(ErrorCode::kInvalidArgument, p + ": no question with an answer key");
      total_ += static_cast<int64_t>(s.examples.size());
      train_.push_back(std::move(s));
    }
    dev_ = CachedQaExamples(c.dev_path, ReadItems(c.dev_path), kg, tok_, c.examples, c.threads, c.cache_dir, nullptr);
    for (const QaExample& e : dev_) {
      if (e.label < 0) throw Error(ErrorCode::kInvalidArgument, e.source + ": a dev question without an answer key");
    }
    if (dev_.empty()) throw Error(ErrorCode::kInvalidArgument, c.dev_path + ": no questions");
    nlohmann::json fp = {{"task", "qa"},       {"init", c.init_dir},
                         {"random_init", c.random_init}, {"train", c.train_paths},
                         {"questions", total_}, {"q_per_step", c.questions_per_step},
                         {"seed", c.seed},     {"max_seq", c.examples.max_seq},
                         {"fusion_layers", mc.fusion_layers}, {"paths", mc.use_paths},
                         {"features", mc.use_kg_features}, {"kg", kg.identity.names_sha256},
                         {"teacher", c.teacher_dir}, {"soft_weight", c.soft_weight}, {"temperature", c.temperature}};
    fingerprint_ = fp.dump();
    info_.model = mc;
    info_.examples = c.examples;
    info_.kg = kg.identity;
    // A fresh run ignores what an earlier run left (its first evaluation overwrites OUT/best;
    // the loop refuses a directory holding a checkpoint without --resume). Nothing is deleted.
    if (c.resume) ReadBest();
    if (!c.teacher_dir.empty()) LoadTeacher();
  }

  std::vector<encoder::ParamArena*> Arenas() override {
    return {&model_->encoder_model().params(), &model_->fusion_params()};
  }

  encoder::Metrics ForwardBackward(int64_t step) override {
    // One file per step, proportional to its size; then Q questions of its epoch order.
    const uint64_t pick = encoder::DrawSeed(c_.seed, step, c_.rank, -3);
    int64_t r = static_cast<int64_t>(pick % static_cast<uint64_t>(total_));
    size_t f = 0;
    while (r >= static_cast<int64_t>(train_[f].examples.size())) r -= static_cast<int64_t>(train_[f++].examples.size());
    const TrainSet& s = train_[f];
    const uint64_t order_seed = encoder::DrawSeed(c_.seed, 0, c_.rank, -10 - static_cast<int64_t>(f));
    std::vector<const QaExample*> batch;
    const int64_t n = static_cast<int64_t>(s.examples.size());
    // The position in this file's order: steps that drew this file before this one. Counting
    // them is O(step); the draws are cheap hashes, and it keeps the order a pure function.
    const int64_t visits = VisitsBefore(step, f);
    for (int j = 0; j < c_.questions_per_step; ++j) {
      batch.push_back(&s.examples[static_cast<size_t>(
          EpochOrderItem(order_seed, n, visits * c_.questions_per_step + j))]);
    }
    tokens_ = 0;
    for (const QaExample* e : batch) {
      for (const QaChoice& ch : e->choices) tokens_ += static_cast<int64_t>(ch.ids.size());
    }
    float loss = model_->Forward(batch, true, encoder::DrawSeed(c_.seed, step, c_.rank, 1 << 20), &state_);
    double kl = 0;
    if (teacher_) {
      // The point where the student's choice-score gradient gets the teacher's soft targets.
      teacher_->model->Forward(batch, false, 0, &teacher_state_);
      encoder::Matrix d_soft;
      const std::vector<float> rows(static_cast<size_t>(state_.questions), 1.0f);
      kl = encoder::SoftTargetKl(state_.scores, teacher_state_.scores, c_.temperature, rows, &d_soft);
      const float w = c_.soft_weight;
      state_.d_scores = w * d_soft + (1.0f - w) * state_.d_scores;
      loss = w * static_cast<float>(kl) + (1.0f - w) * loss;
    }
    int correct = 0;
    for (int q = 0; q < state_.questions; ++q) {
      Eigen::Index best = 0;
      state_.scores.row(q).maxCoeff(&best);
      correct += best == batch[static_cast<size_t>(q)]->label;
    }
    model_->Backward(&state_);
    encoder::Metrics m = {{"loss", loss}, {"train_accuracy", static_cast<double>(correct) / c_.questions_per_step}};
    if (teacher_) m.push_back({"distill_kl", kl});
    return m;
  }

  encoder::Metrics Evaluate() override {
    int64_t correct = 0;
    double loss = 0;
    QaBatchState st;
    constexpr size_t kChunk = 16;
    for (size_t q0 = 0; q0 < dev_.size();) {
      // Up to kChunk questions with the same number of choices.
      std::vector<const QaExample*> b;
      for (size_t q = q0; q < std::min(dev_.size(), q0 + kChunk); ++q) {
        if (!b.empty() && dev_[q].choices.size() != b[0]->choices.size()) break;
        b.push_back(&dev_[q]);
      }
      q0 += b.size();
      loss += static_cast<double>(model_->Forward(b, false, 0, &st)) * static_cast<double>(b.size());
      for (size_t q = 0; q < b.size(); ++q) {
        Eigen::Index best = 0;
        st.scores.row(static_cast<Eigen::Index>(q)).maxCoeff(&best);
        correct += best == b[q]->label;
      }
    }
    const double n = static_cast<double>(dev_.size());
    const double acc = static_cast<double>(correct) / n;
    if (acc > best_accuracy_) {
      best_accuracy_ = acc;
      since_best_ = 0;
      SaveBest(acc);
    } else {
      ++since_best_;
    }
    stopped_ = c_.patience > 0 && since_best_ >= c_.patience;
    std::filesystem::create_directories(c_.out_dir);
    encoder::WriteFileAtomic(c_.out_dir + "/early_stop.json",
                             nlohmann::json{{"evaluations_since_best", since_best_}, {"stopped", stopped_}}.dump() + "\n");
    return {{"dev_accuracy", acc}, {"dev_loss", loss / n}, {"best_dev_accuracy", best_accuracy_}};
  }

  void SaveModel(const std::string& dir) const override {
    // The best evaluation's model, not the last step's.
    const std::string best = c_.out_dir + "/best";
    if (std::filesystem::exists(best + "/spade.json") && dir != best) {
      for (const auto& e : std::filesystem::directory_iterator(best)) {
        std::filesystem::copy_file(e.path(), std::filesystem::path(dir) / e.path().filename(),
                                   std::filesystem::copy_options::overwrite_existing);
      }
      return;
    }
    SaveQaModel(*model_, tok_, Info(best_accuracy_), dir);
  }
  bool ShouldStop() const override { return stopped_; }
  int64_t TokensPerStep() const override { return tokens_ > 0 ? tokens_ : c_.questions_per_step * 5 * 32; }
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  int64_t VisitsBefore(int64_t step, size_t file) const {
    if (train_.size() == 1) return step;
    int64_t v = 0;
    for (int64_t s = 0; s < step; ++s) {
      int64_t r = static_cast<int64_t>(encoder::DrawSeed(c_.seed, s, c_.rank, -3) % static_cast<uint64_t>(total_));
      size_t f = 0;
      while (r >= static_cast<int64_t>(train_[f].examples.size())) r -= static_cast<int64_t>(train_[f++].examples.size());
      v += f == file;
    }
    return v;
  }
  void LoadTeacher() {
    teacher_ = std::make_unique<LoadedQaModel>(LoadQaModel(c_.teacher_dir, kg_transe_, info_.kg));
    const bool same_tok = teacher_->tok.vocab_size == tok_.vocab_size && teacher_->tok.kind == tok_.kind &&
                          teacher_->tok.encode("a shovel is used for digging") == tok_.encode("a shovel is used for digging");
    const QaExampleOptions& t = teacher_->info.examples;
    if (!same_tok || t.max_seq != c_.examples.max_seq || t.max_pairs != c_.examples.max_pairs ||
        t.max_paths_per_pair != c_.examples.max_paths_per_pair) {
      throw Error(ErrorCode::kInvalidArgument,
                  c_.teacher_dir + ": the teacher's tokenizer or example options (--seq " + std::to_string(t.max_seq) +
                      ") differ from the student's (" + c_.init_dir + ", --seq " +
                      std::to_string(c_.examples.max_seq) + "): distillation needs the same inputs for both");
    }
  }
  QaModelInfo Info(double acc) const {
    QaModelInfo i = info_;
    i.note = "spade train, init " + c_.init_dir + (c_.random_init ? " (random init)" : "") + ", seed " +
             std::to_string(c_.seed) + ", dev " + c_.dev_path + " accuracy " + std::to_string(acc);
    return i;
  }
  void SaveBest(double acc) {
    const std::string best = c_.out_dir + "/best", tmp = best + ".tmp";
    std::filesystem::remove_all(tmp);
    SaveQaModel(*model_, tok_, Info(acc), tmp);
    encoder::WriteFileAtomic(tmp + "/best.json", nlohmann::json{{"dev_accuracy", acc}}.dump() + "\n");
    std::filesystem::remove_all(best);
    std::filesystem::rename(tmp, best);
  }
  void ReadBest() {
    std::ifstream in(c_.out_dir + "/best/best.json");
    if (in) {
      try {
        best_accuracy_ = nlohmann::json::parse(in).at("dev_accuracy").get<double>();
      } catch (const nlohmann::json::exception&) {
        best_accuracy_ = -1;  // unreadable: the next evaluation rewrites it
      }
    }
    std::ifstream es(c_.out_dir + "/early_stop.json");
    if (!es) return;
    try {
      const nlohmann::json j = nlohmann::json::parse(es);
      since_best_ = j.at("evaluations_since_best").get<int>();
      stopped_ = j.at("stopped").get<bool>();
    } catch (const nlohmann::json::exception&) {
      since_best_ = 0;
      stopped_ = false;
    }
  }

  QaTrainConfig c_;
  encoder::TextTokenizer tok_;
  std::unique_ptr<QaModel> model_;
  std::vector<TrainSet> train_;
  std::vector<QaExample> dev_;
  int64_t total_ = 0;
  QaBatchState state_;
  QaModelInfo info_;
  const kg::TransE* kg_transe_ = nullptr;
  std::unique_ptr<LoadedQaModel> teacher_;
  QaBatchState teacher_state_;
  double best_accuracy_ = -1;
  int since_best_ = 0;
  bool stopped_ = false;
  int64_t tokens_ = 0;
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<encoder::TrainTask> MakeQaTrainTask(const QaTrainConfig& config, const QaKnowledge& kg) {
  return std::make_unique<QaTrainTask>(config, kg);
}

}  // namespace spade::fusion
