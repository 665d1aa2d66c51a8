#include "fusion/probe_mc.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq.h"
#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "fusion/probe_common.h"

namespace spade::fusion {

namespace {

using encoder::Error;
using encoder::ErrorCode;

struct McSet {
  std::vector<PairIds> rows;    // question q, choice k at q * C + k
  std::vector<int32_t> labels;  // (questions)
  int choices = 0;
  int64_t questions() const { return static_cast<int64_t>(labels.size()); }
};

McSet ReadSet(const std::string& path, const encoder::TextTokenizer& tok, int max_seq) {
  std::vector<data::McqItem> items;
  try {
    items = data::ReadMcqJsonl(path);
  } catch (const spade::Error& e) {
    throw Error(ErrorCode::kInvalidArgument, e.what());
  }
  if (items.empty()) throw Error(ErrorCode::kInvalidArgument, path + ": no questions");
  McSet s;
  s.choices = static_cast<int>(items.front().choices.size());
  for (const data::McqItem& it : items) {
    if (static_cast<int>(it.choices.size()) != s.choices) {
      throw Error(ErrorCode::kInvalidArgument, it.source + ": " + std::to_string(it.choices.size()) +
                                                   " choices where the file's first question has " +
                                                   std::to_string(s.choices));
    }
    const int answer = it.answer_index();
    if (answer < 0) throw Error(ErrorCode::kInvalidArgument, it.source + ": no answerKey (a test split?)");
    for (const data::Choice& ch : it.choices) s.rows.push_back(EncodePair(tok, it.stem, ch.text, max_seq));
    s.labels.push_back(answer);
  }
  return s;
}

class McProbeTask final : public encoder::TrainTask {
 public:
  explicit McProbeTask(const McProbeConfig& c) : c_(c) {
    if (c.questions_per_step <= 0) throw Error(ErrorCode::kInvalidArgument, "questions per step must be positive");
    if (c.max_seq < 8) throw Error(ErrorCode::kInvalidArgument, "--seq must be at least 8");
    encoder::HeadsConfig heads;
    heads.multiple_choice = true;
    enc_ = LoadProbeEncoder(c.encoder_dir, heads, c.random_init, c.seed);
    if (c.max_seq > enc_.model->config().max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument, "--seq " + std::to_string(c.max_seq) + " exceeds the encoder's " +
                                                   std::to_string(enc_.model->config().max_position_embeddings) +
                                                   " positions");
    }
    train_ = ReadSet(c.train_path, enc_.tok, c.max_seq);
    dev_ = ReadSet(c.dev_path, enc_.tok, c.max_seq);
    if (dev_.choices != train_.choices) {
      throw Error(ErrorCode::kInvalidArgument, c.dev_path + ": " + std::to_string(dev_.choices) +
                                                   " choices per question, the training file has " +
                                                   std::to_string(train_.choices));
    }
    fingerprint_ = nlohmann::json{{"probe", "mc"},
                                  {"encoder", c.encoder_dir},
                                  {"random_init", c.random_init},
                                  {"train", c.train_path},
                                  {"questions", train_.questions()},
                                  {"questions_per_step", c.questions_per_step},
                                  {"max_seq", c.max_seq},
                                  {"seed", c.seed}}
                       .dump();
  }

  std::vector<encoder::ParamArena*> Arenas() override { return {&enc_.model->params()}; }

  encoder::Metrics ForwardBackward(int64_t step) override {
    const int Q = c_.questions_per_step, C = train_.choices;
    std::vector<const PairIds*> rows;
    encoder::Targets t;
    t.num_choices = C;
    // Each rank walks its own shuffled order: the data is a function of (seed, step, rank).
    const uint64_t order_seed = encoder::DrawSeed(c_.seed, 0, c_.rank, -2);
    for (int j = 0; j < Q; ++j) {
      const int64_t q = EpochOrderItem(order_seed, train_.questions(), step * Q + j);
      for (int k = 0; k < C; ++k) rows.push_back(&train_.rows[static_cast<size_t>(q * C + k)]);
      t.choice_labels.push_back(train_.labels[static_cast<size_t>(q)]);
    }
    const encoder::Batch b = PadRows(rows, enc_.tok.pad_id);
    tokens_ = 0;
    for (const PairIds* r : rows) tokens_ += static_cast<int64_t>(r->ids.size());
    encoder::StepOptions opt;
    opt.train = true;
    opt.seed = encoder::DrawSeed(c_.seed, step, c_.rank, 1 << 20);
    const float loss = enc_.model->Forward(b, t, opt, &out_);
    int correct = 0;
    for (int j = 0; j < Q; ++j) {
      int best = 0;
      for (int k = 1; k < C; ++k) {
        if (out_.choice_logits(j, k) > out_.choice_logits(j, best)) best = k;
      }
      correct += best == t.choice_labels[static_cast<size_t>(j)];
    }
    enc_.model->Backward(b, t, &out_);
    return {{"loss", loss}, {"train_accuracy", static_cast<double>(correct) / Q}};
  }

  encoder::Metrics Evaluate() override {
    const int C = dev_.choices, chunk = 32;
    int64_t correct = 0;
    double loss = 0;
    encoder::Outputs out;
    for (int64_t q0 = 0; q0 < dev_.questions(); q0 += chunk) {
      const int64_t q1 = std::min<int64_t>(dev_.questions(), q0 + chunk);
      std::vector<const PairIds*> rows;
      encoder::Targets t;
      t.num_choices = C;
      for (int64_t q = q0; q < q1; ++q) {
        for (int k = 0; k < C; ++k) rows.push_back(&dev_.rows[static_cast<size_t>(q * C + k)]);
        t.choice_labels.push_back(dev_.labels[static_cast<size_t>(q)]);
      }
      const encoder::Batch b = PadRows(rows, enc_.tok.pad_id);
      loss += static_cast<double>(enc_.model->Forward(b, t, encoder::StepOptions{}, &out)) * static_cast<double>(q1 - q0);
      for (int64_t q = q0; q < q1; ++q) {
        const int j = static_cast<int>(q - q0);
        int best = 0;
        for (int k = 1; k < C; ++k) {
          if (out.choice_logits(j, k) > out.choice_logits(j, best)) best = k;
        }
        correct += best == dev_.labels[static_cast<size_t>(q)];
      }
    }
    const double n = static_cast<double>(dev_.questions());
    return {{"dev_accuracy", static_cast<double>(correct) / n}, {"dev_loss", loss / n}};
  }

  void SaveModel(const std::string& dir) const override {
    encoder::SaveModelDir(*enc_.model, dir);
    encoder::CopyTokenizerFiles(enc_.tok, dir);
  }
  int64_t TokensPerStep() const override { return tokens_ > 0 ? tokens_ : c_.questions_per_step * train_.choices; }
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  McProbeConfig c_;
  ProbeEncoder enc_;
  McSet train_, dev_;
  encoder::Outputs out_;
  int64_t tokens_ = 0;
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<encoder::TrainTask> MakeMcProbeTask(const McProbeConfig& c) { return std::make_unique<McProbeTask>(c); }

}  // namespace spade::fusion
