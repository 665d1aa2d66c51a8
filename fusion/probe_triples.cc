#include "fusion/probe_triples.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "fusion/probe_common.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

std::vector<TripleRow> ReadConceptNet100k(const std::string& path, bool labelled) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open the triples file");
  std::vector<TripleRow> rows;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(n);
    std::vector<std::string> f;
    size_t a = 0;
    for (;;) {
      const size_t b = line.find('\t', a);
      f.push_back(line.substr(a, b == std::string::npos ? std::string::npos : b - a));
      if (b == std::string::npos) break;
      a = b + 1;
    }
    if (f.size() != 4) {
      throw Error(ErrorCode::kInvalidArgument,
                  where + ": expected 4 tab-separated fields (relation, head, tail, " +
                      (labelled ? "label" : "weight") + "), got " + std::to_string(f.size()));
    }
    for (int k = 0; k < 3; ++k) {
      if (f[static_cast<size_t>(k)].empty()) {
        throw Error(ErrorCode::kInvalidArgument, where + ": empty " + (k == 0 ? "relation" : k == 1 ? "head" : "tail"));
      }
    }
    TripleRow r{f[0], f[1], f[2], 1};
    if (labelled) {
      if (f[3] != "0" && f[3] != "1") {
        throw Error(ErrorCode::kInvalidArgument, where + ": label must be 0 or 1, got '" + f[3] + "'");
      }
      r.label = f[3] == "1" ? 1 : 0;
    }
    rows.push_back(std::move(r));
  }
  if (in.bad()) throw Error(ErrorCode::kIOError, path + ": read failed");
  if (rows.empty()) throw Error(ErrorCode::kInvalidArgument, path + ": no triples");
  return rows;
}

std::string RelationWords(const std::string& relation) {
  std::string out;
  for (size_t i = 0; i < relation.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(relation[i]);
    if (std::isupper(ch) && i > 0) out.push_back(' ');
    out.push_back(static_cast<char>(std::tolower(ch)));
  }
  return out;
}

std::pair<double, double> BestThreshold(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.empty() || scores.size() != labels.size()) {
    throw Error(ErrorCode::kInvalidArgument, "BestThreshold: scores and labels must be non-empty and of one length");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return scores[x] < scores[y]; });
  // Threshold below everything: all predicted true.
  int64_t positives = 0;
  for (int l : labels) positives += l;
  int64_t correct = positives, best = correct;
  double best_t = scores[order.front()] - 1.0;
  for (size_t i = 0; i < order.size(); ++i) {
    correct += labels[order[i]] ? -1 : 1;  // order[i] now predicted false
    if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]]) continue;
    if (correct > best) {
      best = correct;
      best_t = i + 1 < order.size() ? 0.5 * (scores[order[i]] + scores[order[i + 1]]) : scores[order[i]] + 1.0;
    }
  }
  return {best_t, static_cast<double>(best) / static_cast<double>(scores.size())};
}

namespace {

std::string TripleKey(const std::string& r, const std::string& h, const std::string& t) {
  std::string k = r;
  k.append(1, '\t').append(h).append(1, '\t').append(t);
  return k;
}

class TripleProbeTask final : public encoder::TrainTask {
 public:
  explicit TripleProbeTask(const TripleProbeConfig& c) : c_(c) {
    if (c.positives_per_step <= 0) throw Error(ErrorCode::kInvalidArgument, "positives per step must be positive");
    if (c.max_seq < 8) throw Error(ErrorCode::kInvalidArgument, "--seq must be at least 8");
    encoder::HeadsConfig heads;
    heads.sentence = encoder::SentenceHead::kClassification;
    enc_ = LoadProbeEncoder(c.encoder_dir, heads, c.random_init, c.seed, 2);
    if (c.max_seq > enc_.model->config().max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument, "--seq " + std::to_string(c.max_seq) + " exceeds the encoder's positions");
    }
    train_ = ReadConceptNet100k(c.train_path, false);
    dev1_ = Encode(ReadConceptNet100k(c.dev1_path, true));
    dev2_ = Encode(ReadConceptNet100k(c.dev2_path, true));
    std::unordered_set<std::string> seen;
    for (const TripleRow& r : train_) {
      positives_.insert(TripleKey(r.relation, r.head, r.tail));
      for (const std::string* s : {&r.head, &r.tail}) {
        if (seen.insert(*s).second) concepts_.push_back(*s);
      }
    }
    fingerprint_ = nlohmann::json{{"probe", "triples"},
                                  {"encoder", c.encoder_dir},
                                  {"random_init", c.random_init},
                                  {"train", c.train_path},
                                  {"triples", train_.size()},
                                  {"positives_per_step", c.positives_per_step},
                                  {"max_seq", c.max_seq},
                                  {"seed", c.seed}}
                       .dump();
  }

  std::vector<encoder::ParamArena*> Arenas() override { return {&enc_.model->params()}; }

  encoder::Metrics ForwardBackward(int64_t step) override {
    const int P = c_.positives_per_step;
    const uint64_t order_seed = encoder::DrawSeed(c_.seed, 0, c_.rank, -2);
    std::vector<PairIds> rows;
    encoder::Targets t;
    for (int j = 0; j < P; ++j) {
      const TripleRow& r = train_[static_cast<size_t>(
          EpochOrderItem(order_seed, static_cast<int64_t>(train_.size()), step * P + j))];
      rows.push_back(EncodeTriple(r.relation, r.head, r.tail));
      t.sentence_labels.push_back(1);
      std::mt19937_64 rng(encoder::DrawSeed(c_.seed, step, c_.rank, j));
      const bool corrupt_head = (rng() & 1) != 0;
      std::uniform_int_distribution<size_t> pick(0, concepts_.size() - 1);
      std::string h = r.head, tl = r.tail;
      for (int tries = 0; tries < 100; ++tries) {
        (corrupt_head ? h : tl) = concepts_[pick(rng)];
        if (positives_.count(TripleKey(r.relation, h, tl)) == 0) break;
      }
      rows.push_back(EncodeTriple(r.relation, h, tl));
      t.sentence_labels.push_back(0);
    }
    std::vector<const PairIds*> ptrs;
    tokens_ = 0;
    for (const PairIds& p : rows) {
      ptrs.push_back(&p);
      tokens_ += static_cast<int64_t>(p.ids.size());
    }
    const encoder::Batch b = PadRows(ptrs, enc_.tok.pad_id);
    encoder::StepOptions opt;
    opt.train = true;
    opt.seed = encoder::DrawSeed(c_.seed, step, c_.rank, 1 << 20);
    const float loss = enc_.model->Forward(b, t, opt, &out_);
    int correct = 0;
    for (int i = 0; i < b.batch; ++i) {
      const int pred = out_.sentence_logits(i, 1) > out_.sentence_logits(i, 0) ? 1 : 0;
      correct += pred == t.sentence_labels[static_cast<size_t>(i)];
    }
    enc_.model->Backward(b, t, &out_);
    return {{"loss", loss}, {"train_accuracy", static_cast<double>(correct) / b.batch}};
  }

  encoder::Metrics Evaluate() override {
    const std::vector<double> s1 = Scores(dev1_), s2 = Scores(dev2_);
    const auto [threshold, acc1] = BestThreshold(s1, dev1_.labels);
    int64_t correct = 0;
    for (size_t i = 0; i < s2.size(); ++i) correct += (s2[i] > threshold ? 1 : 0) == dev2_.labels[i];
    return {{"dev2_accuracy", static_cast<double>(correct) / static_cast<double>(s2.size())},
            {"dev1_accuracy", acc1},
            {"threshold", threshold}};
  }

  void SaveModel(const std::string& dir) const override {
    encoder::SaveModelDir(*enc_.model, dir);
    encoder::CopyTokenizerFiles(enc_.tok, dir);
  }
  int64_t TokensPerStep() const override { return tokens_ > 0 ? tokens_ : 2 * c_.positives_per_step; }
  std::string Fingerprint() const override { return fingerprint_; }

 private:
  struct Encoded {
    std::vector<PairIds> rows;
    std::vector<int> labels;
  };

  PairIds EncodeTriple(const std::string& r, const std::string& h, const std::string& t) const {
    return EncodePair(enc_.tok, h, RelationWords(r) + " " + t, c_.max_seq);
  }

  Encoded Encode(const std::vector<TripleRow>& rows) const {
    Encoded e;
    for (const TripleRow& r : rows) {
      e.rows.push_back(EncodeTriple(r.relation, r.head, r.tail));
      e.labels.push_back(r.label);
    }
    return e;
  }

  std::vector<double> Scores(const Encoded& e) {
    std::vector<double> s;
    encoder::Outputs out;
    encoder::Targets none;
    const size_t chunk = 128;
    for (size_t i0 = 0; i0 < e.rows.size(); i0 += chunk) {
      std::vector<const PairIds*> ptrs;
      for (size_t i = i0; i < std::min(e.rows.size(), i0 + chunk); ++i) ptrs.push_back(&e.rows[i]);
      const encoder::Batch b = PadRows(ptrs, enc_.tok.pad_id);
      none.sentence_labels.assign(static_cast<size_t>(b.batch), 0);  // the head runs only with labels
      enc_.model->Forward(b, none, encoder::StepOptions{}, &out);
      for (int i = 0; i < b.batch; ++i) s.push_back(out.sentence_logits(i, 1) - out.sentence_logits(i, 0));
    }
    return s;
  }

  TripleProbeConfig c_;
  ProbeEncoder enc_;
  std::vector<TripleRow> train_;
  Encoded dev1_, dev2_;
  std::unordered_set<std::string> positives_;
  std::vector<std::string> concepts_;
  encoder::Outputs out_;
  int64_t tokens_ = 0;
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<encoder::TrainTask> MakeTripleProbeTask(const TripleProbeConfig& c) {
  return std::make_unique<TripleProbeTask>(c);
}

}  // namespace spade::fusion
