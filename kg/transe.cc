#include "kg/transe.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "data/error.h"
#include "kg/normalize.h"
#include "kg/store.h"

namespace spade::kg {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the TransE blob is written little-endian straight from memory");

constexpr char kMagic[4] = {'S', 'T', 'R', 'E'};

void NormaliseRow(float* v, int dim) {
  double sq = 0;
  for (int i = 0; i < dim; ++i) sq += double(v[i]) * v[i];
  if (sq <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sq));
  for (int i = 0; i < dim; ++i) v[i] *= inv;
}

// x = h + r - t into `diff` (D); returns the distance in the given norm.
double Residual(const float* h, const float* r, const float* t, int dim, int norm, float* diff) {
  double acc = 0;
  for (int i = 0; i < dim; ++i) {
    diff[i] = h[i] + r[i] - t[i];
    acc += norm == 1 ? std::fabs(diff[i]) : double(diff[i]) * diff[i];
  }
  return norm == 1 ? acc : std::sqrt(acc);
}

// d||x|| / dx into `diff` in place: sign(x) for L1, x / ||x|| for L2.
void DistanceGradient(float* diff, int dim, int norm, double distance) {
  for (int i = 0; i < dim; ++i) {
    if (norm == 1) {
      diff[i] = diff[i] > 0 ? 1.f : (diff[i] < 0 ? -1.f : 0.f);
    } else {
      diff[i] = distance > 0 ? static_cast<float>(diff[i] / distance) : 0.f;
    }
  }
}

void CheckTriples(size_t n, size_t r, std::span<const Triple> triples) {
  for (const Triple& t : triples) {
    if (t.head >= n || t.tail >= n || t.relation >= r) {
      throw InvalidArgument("TransE: triple (" + std::to_string(t.head) + ", " +
                            std::to_string(t.relation) + ", " + std::to_string(t.tail) +
                            ") out of range for " + std::to_string(n) + " concepts, " +
                            std::to_string(r) + " relations");
    }
  }
}

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <typename T>
T Get(std::string_view bytes, size_t* pos) {
  T v;
  std::memcpy(&v, bytes.data() + *pos, sizeof(v));
  *pos += sizeof(v);
  return v;
}

}  // namespace

TransE::TransE(size_t num_concepts, size_t num_relations, int dim, int norm, float margin,
               uint64_t seed)
    : num_concepts_(num_concepts),
      num_relations_(num_relations),
      dim_(dim),
      norm_(norm),
      margin_(margin) {
  if (dim < 1 || dim > 4096) throw InvalidArgument("TransE: dim must be 1..4096, got " + std::to_string(dim));
  if (norm != 1 && norm != 2) throw InvalidArgument("TransE: norm must be 1 or 2, got " + std::to_string(norm));
  std::mt19937_64 rng(seed);
  const float bound = 6.0f / std::sqrt(static_cast<float>(dim));
  std::uniform_real_distribution<float> uni(-bound, bound);
  concepts_.resize(num_concepts * dim);
  relations_.resize(num_relations * dim);
  for (float& x : relations_) x = uni(rng);
  for (size_t r = 0; r < num_relations; ++r) NormaliseRow(relations_.data() + r * dim, dim);
  for (float& x : concepts_) x = uni(rng);
  for (size_t c = 0; c < num_concepts; ++c) NormaliseRow(concepts_.data() + c * dim, dim);
}

float TransE::Distance(ConceptId h, RelationId r, ConceptId t) const {
  std::vector<float> diff(dim_);
  return static_cast<float>(Residual(concept_vector(h).data(), relation_vector(r).data(),
                                     concept_vector(t).data(), dim_, norm_, diff.data()));
}

float TransE::EdgeScore(ConceptId h, RelationId r, ConceptId t) const {
  const float* hv = concept_vector(h).data();
  const float* tv = concept_vector(t).data();
  const float* rv = relation_vector(r).data();
  double dot = 0, nr = 0, nd = 0;
  for (int i = 0; i < dim_; ++i) {
    const double d = double(tv[i]) - hv[i];
    dot += d * rv[i];
    nr += double(rv[i]) * rv[i];
    nd += d * d;
  }
  if (nr <= 0 || nd <= 0) return 0.5f;
  return static_cast<float>((1.0 + dot / std::sqrt(nr * nd)) / 2.0);
}

double TransE::PairLoss(const Triple& positive, const Triple& negative,
                        std::vector<float>* grad_concepts,
                        std::vector<float>* grad_relations) const {
  std::vector<float> dp(dim_), dn(dim_);
  const double pos = Residual(concept_vector(positive.head).data(),
                              relation_vector(positive.relation).data(),
                              concept_vector(positive.tail).data(), dim_, norm_, dp.data());
  const double neg = Residual(concept_vector(negative.head).data(),
                              relation_vector(negative.relation).data(),
                              concept_vector(negative.tail).data(), dim_, norm_, dn.data());
  const double loss = margin_ + pos - neg;
  if (loss <= 0) return 0;
  if (grad_concepts && grad_relations) {
    DistanceGradient(dp.data(), dim_, norm_, pos);
    DistanceGradient(dn.data(), dim_, norm_, neg);
    auto acc = [&](std::vector<float>* g, size_t row, const std::vector<float>& d, float sign) {
      float* out = g->data() + row * dim_;
      for (int i = 0; i < dim_; ++i) out[i] += sign * d[i];
    };
    // d(pos)/dh = g, d/dr = g, d/dt = -g; the corrupted triple enters with a minus sign.
    acc(grad_concepts, positive.head, dp, 1.f);
    acc(grad_relations, positive.relation, dp, 1.f);
    acc(grad_concepts, positive.tail, dp, -1.f);
    acc(grad_concepts, negative.head, dn, -1.f);
    acc(grad_relations, negative.relation, dn, -1.f);
    acc(grad_concepts, negative.tail, dn, 1.f);
  }
  return loss;
}

TransE TransE::Train(const Graph& graph, const TransEOptions& options,
                     const std::function<void(const TransEProgress&)>& progress) {
  const std::vector<Triple> triples = graph.triples();
  return Train(graph.num_concepts(), graph.num_relations(), triples, options, progress);
}

TransE TransE::Train(size_t num_concepts, size_t num_relations, std::span<const Triple> triples,
                     const TransEOptions& options,
                     const std::function<void(const TransEProgress&)>& progress) {
  CheckTriples(num_concepts, num_relations, triples);
  if (num_concepts < 2) throw InvalidArgument("TransE: need at least 2 concepts to corrupt triples");
  if (options.epochs < 0) throw InvalidArgument("TransE: epochs must be >= 0");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    throw InvalidArgument("TransE: learning rate must be a positive number, got " +
                          std::to_string(options.learning_rate));
  }
  if (options.threads < 1 || options.threads > 256) {
    throw InvalidArgument("TransE: threads must be 1..256, got " + std::to_string(options.threads));
  }
  TransE model(num_concepts, num_relations, options.dim, options.norm, options.margin, options.seed);
  const int dim = options.dim;
  const int threads = options.threads;
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint32_t> order(triples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::mt19937_64 shuffle_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);

  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    std::vector<double> losses(threads, 0.0);
    auto worker = [&](int w) {
      std::mt19937_64 rng(options.seed * 1000003ULL + epoch * 7919ULL + w);
      std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(num_concepts - 1));
      std::vector<float> dp(dim), dn(dim);
      float* C = model.concepts_.data();
      float* R = model.relations_.data();
      const float lr = options.learning_rate;
      double loss = 0;
      for (size_t k = w; k < order.size(); k += threads) {
        const Triple& pos = triples[order[k]];
        Triple neg = pos;
        const bool corrupt_head = (rng() & 1) != 0;
        for (int tries = 0; tries < 4; ++tries) {
          (corrupt_head ? neg.head : neg.tail) = pick(rng);
          if (neg.head != pos.head || neg.tail != pos.tail) break;
        }
        float* h = C + size_t(pos.head) * dim;
        float* t = C + size_t(pos.tail) * dim;
        float* r = R + size_t(pos.relation) * dim;
        float* h2 = C + size_t(neg.head) * dim;
        float* t2 = C + size_t(neg.tail) * dim;
        const double dpos = Residual(h, r, t, dim, options.norm, dp.data());
        const double dneg = Residual(h2, r, t2, dim, options.norm, dn.data());
        const double l = options.margin + dpos - dneg;
        if (l <= 0) continue;
        loss += l;
        DistanceGradient(dp.data(), dim, options.norm, dpos);
        DistanceGradient(dn.data(), dim, options.norm, dneg);
        for (int i = 0; i < dim; ++i) {
          h[i] -= lr * dp[i];
          t[i] += lr * dp[i];
          r[i] -= lr * (dp[i] - dn[i]);
          h2[i] += lr * dn[i];
          t2[i] -= lr * dn[i];
        }
        NormaliseRow(h, dim);
        NormaliseRow(t, dim);
        NormaliseRow(h2, dim);
        NormaliseRow(t2, dim);
      }
      losses[w] = loss;
    };
    if (threads == 1) {
      worker(0);
    } else {
      std::vector<std::thread> pool;
      for (int w = 0; w < threads; ++w) pool.emplace_back(worker, w);
      for (auto& th : pool) th.join();
    }
    double total = 0;
    for (double l : losses) total += l;
    const double mean = triples.empty() ? 0.0 : total / static_cast<double>(triples.size());
    if (!std::isfinite(mean)) {
      throw InvalidArgument("TransE: loss became " + std::to_string(mean) + " at epoch " +
                            std::to_string(epoch) + " (lower the learning rate)");
    }
    if (progress) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress({epoch, options.epochs, mean, secs});
    }
  }
  return model;
}

std::string TransE::Serialize() const {
  std::string out;
  out.reserve(28 + (concepts_.size() + relations_.size()) * sizeof(float));
  out.append(kMagic, 4);
  Put<uint32_t>(&out, kTranseBlobVersion);
  Put<uint32_t>(&out, static_cast<uint32_t>(dim_));
  Put<uint32_t>(&out, static_cast<uint32_t>(num_concepts_));
  Put<uint32_t>(&out, static_cast<uint32_t>(num_relations_));
  Put<uint32_t>(&out, static_cast<uint32_t>(norm_));
  Put<float>(&out, margin_);
  out.append(reinterpret_cast<const char*>(concepts_.data()), concepts_.size() * sizeof(float));
  out.append(reinterpret_cast<const char*>(relations_.data()), relations_.size() * sizeof(float));
  return out;
}

TransE TransE::Deserialize(std::string_view bytes, const std::string& where) {
  constexpr size_t kHeader = 4 + 5 * 4 + 4;
  if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    throw Corruption(where + ": not a TransE blob (bad magic or " + std::to_string(bytes.size()) +
                     " bytes)");
  }
  size_t pos = 4;
  const uint32_t version = Get<uint32_t>(bytes, &pos);
  if (version != kTranseBlobVersion) {
    throw Error(ErrorCode::kFormatVersion,
                where + ": TransE blob version " + std::to_string(version) + ", this spade reads " +
                    std::to_string(kTranseBlobVersion) + " (re-run `spade kg embed`)");
  }
  TransE m;
  m.dim_ = static_cast<int>(Get<uint32_t>(bytes, &pos));
  m.num_concepts_ = Get<uint32_t>(bytes, &pos);
  m.num_relations_ = Get<uint32_t>(bytes, &pos);
  m.norm_ = static_cast<int>(Get<uint32_t>(bytes, &pos));
  m.margin_ = Get<float>(bytes, &pos);
  const size_t floats = (m.num_concepts_ + m.num_relations_) * size_t(m.dim_);
  if (m.dim_ < 1 || (m.norm_ != 1 && m.norm_ != 2) || bytes.size() != kHeader + floats * 4) {
    throw Corruption(where + ": TransE blob of " + std::to_string(bytes.size()) +
                     " bytes does not match its header (D=" + std::to_string(m.dim_) +
                     ", N=" + std::to_string(m.num_concepts_) +
                     ", R=" + std::to_string(m.num_relations_) + ")");
  }
  m.concepts_.resize(m.num_concepts_ * m.dim_);
  m.relations_.resize(m.num_relations_ * m.dim_);
  std::memcpy(m.concepts_.data(), bytes.data() + pos, m.concepts_.size() * 4);
  pos += m.concepts_.size() * 4;
  std::memcpy(m.relations_.data(), bytes.data() + pos, m.relations_.size() * 4);
  return m;
}

void TransE::Save(const std::string& dir) const {
  KgStore::WriteBlob(dir, kTranseBlobName, Serialize());
}

std::optional<TransE> TransE::Load(const KgStore& store) {
  std::optional<std::string> blob = store.ReadBlob(kTranseBlobName);
  if (!blob) return std::nullopt;
  const std::string where = store.dir() + " blob '" + std::string(kTranseBlobName) + "'";
  TransE m = Deserialize(*blob, where);
  if (m.num_concepts_ != store.metadata().concepts ||
      m.num_relations_ != store.relations().size()) {
    throw Corruption(where + ": embeddings for " + std::to_string(m.num_concepts_) +
                     " concepts / " + std::to_string(m.num_relations_) +
                     " relations, the KG has " + std::to_string(store.metadata().concepts) +
                     " / " + std::to_string(store.relations().size()) +
                     " (re-run `spade kg embed`)");
  }
  return m;
}

namespace {

struct DevRow {
  std::optional<RelationId> relation;
  std::string relation_name;
  std::optional<ConceptId> head, tail;
  bool label = false;
  double distance = 0;
  bool known() const { return relation && head && tail; }
};

std::vector<DevRow> ReadDev(const Graph& graph, const TransE& model, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw NotFound("triple classification: cannot open " + path);
  std::vector<DevRow> rows;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (f.size() != 4 || (f[3] != "0" && f[3] != "1")) {
      throw ParseError(path + ":" + std::to_string(lineno),
                       "expected `Rel \\t head \\t tail \\t label(0|1)`");
    }
    DevRow row;
    row.relation_name = f[0];
    row.relation = graph.find_relation(f[0]);
    row.head = graph.find(NormalizeConcept(f[1]));
    row.tail = graph.find(NormalizeConcept(f[2]));
    row.label = f[3] == "1";
    if (row.known()) row.distance = model.Distance(*row.head, *row.relation, *row.tail);
    rows.push_back(std::move(row));
  }
  return rows;
}

// The threshold (predict true iff known and distance <= threshold) maximising accuracy on
// `rows`; unknown rows always count as predicted false.
double BestThreshold(const std::vector<const DevRow*>& rows) {
  std::vector<const DevRow*> known;
  for (const DevRow* r : rows) {
    if (r->known()) known.push_back(r);
  }
  std::sort(known.begin(), known.end(),
            [](const DevRow* a, const DevRow* b) { return a->distance < b->distance; });
  // Threshold below everything: correct = every label-0 row.
  long correct = 0;
  for (const DevRow* r : rows) correct += r->label ? 0 : 1;
  long best = correct;
  double best_threshold = known.empty() ? 0.0 : known.front()->distance - 1.0;
  for (size_t i = 0; i < known.size(); ++i) {
    correct += known[i]->label ? 1 : -1;
    if (i + 1 < known.size() && known[i + 1]->distance == known[i]->distance) continue;
    if (correct > best) {
      best = correct;
      best_threshold = i + 1 < known.size()
                           ? (known[i]->distance + known[i + 1]->distance) / 2
                           : known[i]->distance + 1e-6;
    }
  }
  return best_threshold;
}

double Accuracy(const std::vector<DevRow>& rows, const std::map<std::string, double>& thresholds,
                double global) {
  if (rows.empty()) return 0;
  size_t correct = 0;
  for (const DevRow& r : rows) {
    auto it = thresholds.find(r.relation_name);
    const double th = it == thresholds.end() ? global : it->second;
    const bool predicted = r.known() && r.distance <= th;
    correct += predicted == r.label ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

}  // namespace

TripleClassification EvaluateTripleClassification(const Graph& graph, const TransE& model,
                                                  const std::string& dev1_path,
                                                  const std::string& dev2_path) {
  const std::vector<DevRow> dev1 = ReadDev(graph, model, dev1_path);
  const std::vector<DevRow> dev2 = ReadDev(graph, model, dev2_path);
  std::map<std::string, std::vector<const DevRow*>> by_relation;
  std::vector<const DevRow*> all;
  for (const DevRow& r : dev1) {
    by_relation[r.relation_name].push_back(&r);
    all.push_back(&r);
  }
  const double global = BestThreshold(all);
  std::map<std::string, double> thresholds;
  for (const auto& [rel, rows] : by_relation) thresholds[rel] = BestThreshold(rows);
  TripleClassification tc;
  tc.dev1_accuracy = Accuracy(dev1, thresholds, global);
  tc.dev2_accuracy = Accuracy(dev2, thresholds, global);
  tc.dev1_n = dev1.size();
  tc.dev2_n = dev2.size();
  for (const auto* rows : {&dev1, &dev2}) {
    for (const DevRow& r : *rows) tc.unknown += r.known() ? 0 : 1;
  }
  return tc;
}

LinkPrediction EvaluateLinkPrediction(const TransE& model, std::span<const Triple> held_out) {
  CheckTriples(model.num_concepts(), model.num_relations(), held_out);
  LinkPrediction lp;
  lp.n = held_out.size();
  if (held_out.empty()) return lp;
  const size_t n = model.num_concepts();
  const int dim = model.dim();
  std::atomic<size_t> next{0};
  std::vector<double> rr(held_out.size() * 2), hits(held_out.size() * 2);
  auto worker = [&]() {
    std::vector<float> query(dim), diff(dim);
    std::vector<float> zero(dim, 0.f);
    for (size_t k; (k = next.fetch_add(1)) < held_out.size();) {
      const Triple& t = held_out[k];
      for (int side = 0; side < 2; ++side) {
        // Tail side: distance(h + r, c); head side: distance(c + r, t) = distance(c, t - r).
        const float* h = model.concept_vector(t.head).data();
        const float* r = model.relation_vector(t.relation).data();
        const float* tv = model.concept_vector(t.tail).data();
        for (int i = 0; i < dim; ++i) query[i] = side == 0 ? h[i] + r[i] : tv[i] - r[i];
        const ConceptId truth = side == 0 ? t.tail : t.head;
        auto dist = [&](ConceptId c) {
          return Residual(query.data(), zero.data(), model.concept_vector(c).data(), dim,
                          model.norm(), diff.data());
        };
        const double d_true = dist(truth);
        double better = 0, ties = 0;
        for (ConceptId c = 0; c < n; ++c) {
          if (c == truth) continue;
          const double d = dist(c);
          if (d < d_true) ++better;
          else if (d == d_true) ++ties;
        }
        const double rank = 1 + better + ties / 2;
        rr[2 * k + side] = 1.0 / rank;
        hits[2 * k + side] = rank <= 10 ? 1.0 : 0.0;
      }
    }
  };
  std::thread helper(worker);
  worker();
  helper.join();
  for (size_t i = 0; i < rr.size(); ++i) {
    lp.mrr += rr[i];
    lp.hits_at_10 += hits[i];
  }
  lp.mrr /= static_cast<double>(rr.size());
  lp.hits_at_10 /= static_cast<double>(rr.size());
  return lp;
}

}  // namespace spade::kg
