#include "fusion/answer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>

#include "data/error.h"
#include "data/parallel_for.h"
#include "encoder/error.h"
#include "fusion/qa_example.h"
#include "fusion/qa_model.h"

namespace spade::fusion {

using nlohmann::ordered_json;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Softmax of the choices' scores into their probabilities; predicted = argmax (first on ties).
void Normalise(AnswerResult* r) {
  if (r->choices.empty()) return;
  double best = r->choices[0].score;
  r->predicted = 0;
  for (size_t i = 1; i < r->choices.size(); ++i) {
    if (r->choices[i].score > best) {
      best = r->choices[i].score;
      r->predicted = static_cast<int>(i);
    }
  }
  double z = 0;
  for (ChoiceAnswer& c : r->choices) z += std::exp(c.score - best);
  for (ChoiceAnswer& c : r->choices) c.probability = std::exp(c.score - best) / z;
}

ExplainedPath Explain(const kg::Graph& g, const retrieval::Path& p) {
  ExplainedPath e;
  e.text = retrieval::FormatPath(g, p);
  e.score = p.score;
  e.hops = static_cast<int>(p.hops());
  for (size_t i = 0; i < p.edges.size(); ++i) {
    const bool fwd = p.edges[i].forward;
    e.edges.push_back({g.concept_name(fwd ? p.concepts[i] : p.concepts[i + 1]), g.relation_name(p.edges[i].relation),
                       g.concept_name(fwd ? p.concepts[i + 1] : p.concepts[i])});
  }
  return e;
}

bool SamePath(const retrieval::Path& a, const retrieval::Path& b) {
  if (a.concepts != b.concepts || a.edges.size() != b.edges.size()) return false;
  for (size_t i = 0; i < a.edges.size(); ++i) {
    if (a.edges[i].relation != b.edges[i].relation || a.edges[i].forward != b.edges[i].forward) return false;
  }
  return true;
}

// The KG scorer's result as an AnswerResult; the scores and probabilities are copied, not
// recomputed, so `--scorer kg` keeps its numbers to the last bit.
AnswerResult FromKg(const kg::Graph& g, const retrieval::KgScorer& scorer, const data::McqItem& item,
                    const retrieval::QuestionResult& q) {
  AnswerResult r;
  r.scorer = "kg";
  r.question = item.stem;
  r.grounded = true;
  r.predicted = q.predicted;
  r.no_question_concept = q.no_question_concept;
  r.no_answer_concept = q.no_answer_concept;
  r.no_path = q.no_path;
  for (const auto& m : scorer.grounder().QuestionConcepts(item.stem, item.question_concept)) {
    r.stem_concepts.push_back(m.concept_name);
  }
  if (q.predicted >= 0) {
    for (const auto& m : q.choices[static_cast<size_t>(q.predicted)].question_concepts) {
      r.question_concepts.push_back(m.concept_name);
    }
  }
  for (const retrieval::ChoiceResult& c : q.choices) {
    ChoiceAnswer a;
    a.label = c.label;
    a.text = c.text;
    a.score = c.score;
    a.probability = c.probability;
    for (const auto& m : c.answer_concepts) a.answer_concepts.push_back(m.concept_name);
    a.num_paths = c.num_paths;
    for (const retrieval::Path& p : c.top_paths) a.paths.push_back(Explain(g, p));
    r.choices.push_back(std::move(a));
  }
  return r;
}

// The entity-attention mass of statement b's entity tokens in the last fusion layer,
// summed per concept (see answer.h), heaviest first.
std::vector<AttendedEntity> AttendedEntities(const kg::Graph& g, const QaBatchState& st, const QaChoice& ch, int b) {
  std::vector<AttendedEntity> out;
  if (st.fusion.layers.empty()) return out;
  const encoder::Matrix& probs = st.fusion.layers.back().ent.attn.probs;  // (B*nHe*T, T)
  const int B = st.masks.batch, T = st.masks.seq;
  if (probs.size() == 0 || B <= 0 || T <= 0 || probs.cols() != T || probs.rows() % (static_cast<Eigen::Index>(B) * T) != 0) {
    return out;
  }
  const int heads = static_cast<int>(probs.rows() / (static_cast<Eigen::Index>(B) * T));
  std::vector<int> tokens;  // entity-bearing tokens of the statement
  for (int t = 0; t < T && t < static_cast<int>(ch.entity.size()); ++t) {
    if (st.masks.entity_mask[static_cast<size_t>(b) * T + t] > 0) tokens.push_back(t);
  }
  if (tokens.empty()) return out;
  std::map<kg::ConceptId, double> mass;
  const double norm = 1.0 / (static_cast<double>(heads) * static_cast<double>(tokens.size()));
  for (int j : tokens) {
    double received = 0;
    for (int h = 0; h < heads; ++h) {
      const Eigen::Index block = (static_cast<Eigen::Index>(b) * heads + h) * T;
      for (int i : tokens) received += probs(block + i, j);
    }
    mass[static_cast<kg::ConceptId>(ch.entity[static_cast<size_t>(j)])] += received * norm;
  }
  for (const auto& [id, w] : mass) {
    if (id < g.num_concepts()) out.push_back({g.concept_name(id), w});
  }
  std::stable_sort(out.begin(), out.end(), [](const AttendedEntity& a, const AttendedEntity& b) {
    return a.weight > b.weight;
  });
  return out;
}

// Attaches β_pair · α_path to each listed path found in the choice's example and lists the
// paths by it (paths the model did not read keep attention -1 and come after).
void AttachPathAttention(const QaBatchState& st, const QaChoice& ch, int b, const retrieval::ChoiceResult& kc,
                         ChoiceAnswer* a) {
  if (st.paths.pair_begin.size() < static_cast<size_t>(b) + 2) return;
  for (size_t k = 0; k < kc.top_paths.size() && k < a->paths.size(); ++k) {
    for (size_t m = 0; m < ch.pairs.size(); ++m) {
      const auto& paths = ch.pairs[m].paths;
      for (size_t p = 0; p < paths.size(); ++p) {
        if (!SamePath(paths[p], kc.top_paths[k])) continue;
        a->paths[k].attention = static_cast<double>(st.paths.PairAttention(b, static_cast<int>(m))) *
                                st.paths.PathAttention(b, static_cast<int>(m), static_cast<int>(p));
      }
    }
  }
  std::stable_sort(a->paths.begin(), a->paths.end(),
                   [](const ExplainedPath& x, const ExplainedPath& y) { return x.attention > y.attention; });
}

encoder::PromptExample ToPrompt(const data::McqItem& item) {
  encoder::PromptExample e;
  e.question = item.stem;
  for (const auto& c : item.choices) e.choices.push_back(c.text);
  e.answer = item.answer_index();
  return e;
}

}  // namespace

bool AnswerResult::NothingGrounded() const {
  if (!grounded || !no_question_concept) return false;
  return std::none_of(choices.begin(), choices.end(), [](const ChoiceAnswer& c) { return !c.answer_concepts.empty(); });
}

std::vector<AnswerResult> Scorer::AnswerAll(const std::vector<data::McqItem>& items, int threads,
                                            const AnswerProgress& progress) const {
  std::vector<AnswerResult> out(items.size());
  ParallelFor(
      items.size(), threads, [&](size_t i) { out[i] = Answer(items[i]); },
      progress ? std::function<void(size_t)>([&](size_t d) { progress(d, items.size()); }) : nullptr);
  return out;
}

// ---- KgOnlyScorer ----

KgOnlyScorer::KgOnlyScorer(const QaKnowledge& kg)
    : graph_(*kg.graph), scorer_(*kg.graph, *kg.lemmatizer, kg.transe, kg.weights, kg.scorer) {}

AnswerResult KgOnlyScorer::Answer(const data::McqItem& item) const {
  const auto t0 = std::chrono::steady_clock::now();
  AnswerResult r = FromKg(graph_, scorer_, item, scorer_.Score(item));
  r.seconds = Seconds(t0);
  return r;
}

// ---- ModelScorer ----

ModelScorer::ModelScorer(const std::string& model_dir, const QaKnowledge& kg)
    : kg_(kg),
      loaded_(LoadQaModel(model_dir, kg.transe, kg.identity)),
      scorer_(*kg.graph, *kg.lemmatizer, kg.transe, kg.weights, kg.scorer) {}

ModelScorer::~ModelScorer() = default;

AnswerResult ModelScorer::Finish(const data::McqItem& item, const retrieval::QuestionResult& scored) const {
  AnswerResult r = FromKg(*kg_.graph, scorer_, item, scored);
  r.scorer = "model";
  const QaExample ex = BuildQaExample(item, scored, kg_.weights, loaded_.tok, loaded_.info.examples);
  QaBatchState st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_.model->Forward({&ex}, /*train=*/false, /*seed=*/0, &st);
  }
  for (size_t c = 0; c < r.choices.size(); ++c) {
    ChoiceAnswer& a = r.choices[c];
    const int b = static_cast<int>(c);  // one question: statement b is choice c
    a.score = st.scores(0, b);
    a.attended = AttendedEntities(*kg_.graph, st, ex.choices[c], b);
    AttachPathAttention(st, ex.choices[c], b, scored.choices[c], &a);
  }
  Normalise(&r);
  r.question_concepts.clear();
  for (const auto& m : scored.choices[static_cast<size_t>(r.predicted)].question_concepts) {
    r.question_concepts.push_back(m.concept_name);
  }
  return r;
}

AnswerResult ModelScorer::Answer(const data::McqItem& item) const {
  const auto t0 = std::chrono::steady_clock::now();
  AnswerResult r = Finish(item, scorer_.Score(item));
  r.seconds = Seconds(t0);
  return r;
}

std::vector<AnswerResult> ModelScorer::AnswerAll(const std::vector<data::McqItem>& items, int threads,
                                                 const AnswerProgress& progress) const {
  // Evidence is most of the time and parallel; the forward passes then run one by one
  // (their math uses the OpenMP/Eigen threads). Progress counts half an item per half.
  std::vector<retrieval::QuestionResult> scored(items.size());
  std::vector<double> seconds(items.size(), 0.0);
  ParallelFor(
      items.size(), threads,
      [&](size_t i) {
        const auto t0 = std::chrono::steady_clock::now();
        scored[i] = scorer_.Score(items[i]);
        seconds[i] = Seconds(t0);
      },
      progress ? std::function<void(size_t)>([&](size_t d) { progress(d / 2, items.size()); }) : nullptr);
  std::vector<AnswerResult> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    out[i] = Finish(items[i], scored[i]);
    out[i].seconds = seconds[i] + Seconds(t0);
    if (progress) progress((items.size() + i + 1) / 2, items.size());
  }
  return out;
}

// ---- LmScorer ----

LmScorer::LmScorer(LmScorerOptions options)
    : options_(std::move(options)),
      model_(encoder::LoadGpt2Dir(options_.model_dir)),
      bpe_(encoder::ByteLevelBpe::FromModelDir(options_.model_dir)) {
  if (options_.shots < 0) throw encoder::Error(encoder::ErrorCode::kInvalidArgument, "shots must be >= 0");
  if (options_.shots > 0) {
    for (const data::McqItem& item : options_.pool) {
      if (item.answer_index() < 0) {
        throw encoder::Error(encoder::ErrorCode::kInvalidArgument,
                             std::string(item.source).append(": no answerKey; demonstrations need answers"));
      }
      pool_.push_back(ToPrompt(item));
    }
    if (static_cast<int>(pool_.size()) <= options_.shots) {
      throw encoder::Error(encoder::ErrorCode::kInvalidArgument,
                           std::to_string(pool_.size())
                               .append(" labelled questions to draw demonstrations from; ")
                               .append(std::to_string(options_.shots))
                               .append(" shots need more"));
    }
  }
  scorer_ = std::make_unique<encoder::LmChoiceScorer>(model_.get(), &bpe_, options_.format, options_.norm);
}

AnswerResult LmScorer::AnswerAt(const data::McqItem& item, int query_index) const {
  data::ValidateMcqItem(item, item.source.empty() ? std::string("question") : item.source);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<encoder::PromptExample> shots;
  if (options_.shots > 0) {
    // As `spade lm`: the seed varies per query; the query itself is never its own shot.
    int exclude = -1;
    for (size_t p = 0; p < options_.pool.size() && !item.source.empty(); ++p) {
      if (options_.pool[p].source == item.source) exclude = static_cast<int>(p);
    }
    const uint64_t seed = options_.seed * 1000003u + static_cast<uint64_t>(query_index + 1);
    for (int i : encoder::SampleShots(static_cast<int>(pool_.size()), options_.shots, seed, exclude)) {
      shots.push_back(pool_[static_cast<size_t>(i)]);
    }
  }
  encoder::ChoiceResult cr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cr = scorer_->Score(shots, ToPrompt(item));
  }
  AnswerResult r;
  r.scorer = "lm";
  r.question = item.stem;
  r.prompt = cr.context;
  r.shots_used = cr.shots_used;
  r.truncated = cr.truncated || cr.shots_used < options_.shots;
  for (size_t c = 0; c < item.choices.size(); ++c) {
    ChoiceAnswer a;
    a.label = item.choices[c].label;
    a.text = item.choices[c].text;
    a.score = cr.choices[c].score;
    a.logprob = cr.choices[c].logprob;
    a.tokens = cr.choices[c].tokens;
    r.choices.push_back(std::move(a));
  }
  Normalise(&r);
  r.predicted = cr.predicted;
  r.seconds = Seconds(t0);
  return r;
}

AnswerResult LmScorer::Answer(const data::McqItem& item) const { return AnswerAt(item, -1); }

std::vector<AnswerResult> LmScorer::AnswerAll(const std::vector<data::McqItem>& items, int /*threads*/,
                                              const AnswerProgress& progress) const {
  std::vector<AnswerResult> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back(AnswerAt(items[i], static_cast<int>(i)));
    if (progress) progress(i + 1, items.size());
  }
  return out;
}

// ---- JSON and reports ----

ordered_json ChoiceAnswerJson(const ChoiceAnswer& c, size_t max_paths) {
  ordered_json j = {{"label", c.label},       {"text", c.text},
                    {"score", c.score},       {"probability", c.probability},
                    {"answer_concepts", c.answer_concepts},
                    {"num_paths", c.num_paths}, {"paths", ordered_json::array()}};
  for (size_t i = 0; i < c.paths.size() && i < max_paths; ++i) {
    const ExplainedPath& p = c.paths[i];
    ordered_json edges = ordered_json::array();
    for (const ExplainedEdge& e : p.edges) edges.push_back({{"head", e.head}, {"relation", e.relation}, {"tail", e.tail}});
    ordered_json pj = {{"path", p.text}, {"score", p.score}, {"hops", p.hops}, {"edges", edges}};
    if (p.attention >= 0) pj["attention"] = p.attention;
    j["paths"].push_back(std::move(pj));
  }
  if (!c.attended.empty()) {
    j["attended_entities"] = ordered_json::array();
    for (const AttendedEntity& e : c.attended) j["attended_entities"].push_back({{"concept", e.concept_name}, {"weight", e.weight}});
  }
  if (c.tokens > 0) {
    j["logprob"] = c.logprob;
    j["tokens"] = c.tokens;
  }
  return j;
}

ordered_json AnswerJson(const AnswerResult& r, size_t max_paths) {
  std::vector<size_t> order(r.choices.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return r.choices[a].score > r.choices[b].score; });
  const ChoiceAnswer& best = r.answer();
  ordered_json out = {{"question", r.question}, {"scorer", r.scorer},
                      {"answer", {{"label", best.label}, {"text", best.text}}},
                      {"question_concepts", r.question_concepts},
                      {"choices", ordered_json::array()}};
  for (size_t i : order) out["choices"].push_back(ChoiceAnswerJson(r.choices[i], max_paths));
  if (r.scorer == "lm") {
    out["prompt"] = r.prompt;
    out["shots"] = r.shots_used;
  }
  return out;
}

AnswerReport SummarizeAnswers(const std::vector<data::McqItem>& items, const std::vector<AnswerResult>& results) {
  if (items.size() != results.size()) {
    throw InvalidArgument(std::to_string(results.size()).append(" results for ").append(std::to_string(items.size()))
                              .append(" questions"));
  }
  AnswerReport rep;
  rep.n = items.size();
  for (size_t i = 0; i < items.size(); ++i) {
    const AnswerResult& r = results[i];
    rep.no_question_concept += r.no_question_concept ? 1 : 0;
    rep.no_answer_concept += r.no_answer_concept ? 1 : 0;
    rep.no_path += r.no_path ? 1 : 0;
    rep.seconds.push_back(r.seconds);
    const int key = items[i].answer_index();
    if (key >= 0) {
      ++rep.with_key;
      rep.correct += r.predicted == key ? 1 : 0;
    }
  }
  return rep;
}

}  // namespace spade::fusion
