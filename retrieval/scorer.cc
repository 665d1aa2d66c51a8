#include "retrieval/scorer.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/parallel_for.h"

namespace spade::retrieval {
namespace {

// Relation groups counted along paths; a relation outside every group is not counted.
struct RelationGroup {
  const char* feature;
  std::vector<std::string_view> relations;
};

const std::vector<RelationGroup>& RelationGroups() {
  static const std::vector<RelationGroup> kGroups = {
      {"rel_at_location", {"AtLocation", "LocatedNear", "LocationOfAction"}},
      {"rel_used_for", {"UsedFor"}},
      {"rel_capable_of", {"CapableOf", "ReceivesAction"}},
      {"rel_is_a", {"IsA", "InstanceOf", "InheritsFrom", "DefinedAs"}},
      {"rel_part_of", {"PartOf", "HasA", "MadeOf"}},
      {"rel_event", {"Causes", "HasSubevent", "HasFirstSubevent", "HasLastSubevent",
                     "HasPrerequisite", "MotivatedByGoal", "Desires", "CausesDesire", "Entails"}},
      {"rel_property", {"HasProperty", "SymbolOf", "CreatedBy"}},
      {"rel_lexical", {"RelatedTo", "Synonym", "SimilarTo", "DerivedFrom", "Antonym",
                       "SimilarSize", "FormOf", "EtymologicallyRelatedTo"}},
  };
  return kGroups;
}

enum Feature : size_t {
  kAnswerGrounded,
  kQuestionGrounded,
  kPaths1,
  kPaths2,
  kPaths3,
  kBestPath,
  kTopPathSum,
  kQuestionCoverage,
  kAnswerCoverage,
  kQcDirect,
  kQcBestPath,
  kTransE,
  kAnswerLogDegree,
  kSubgraphNodes,
  kSubgraphEdges,
  kFirstRelationGroup,
};

double Log1p(double x) { return std::log1p(x); }

}  // namespace

const std::vector<std::string>& KgFeatureNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> n = {"answer_grounded",   "question_grounded", "paths_1hop",
                                  "paths_2hop",        "paths_3hop",        "best_path_score",
                                  "top_path_score_sum", "question_coverage", "answer_coverage",
                                  "qc_direct_edges",   "qc_best_path_score", "transe_plausibility",
                                  "answer_log_degree", "subgraph_intermediates", "subgraph_edges"};
    for (const RelationGroup& g : RelationGroups()) n.push_back(g.feature);
    return n;
  }();
  return kNames;
}

KgScorerWeights KgScorerWeights::Zero() {
  const size_t n = KgFeatureNames().size();
  KgScorerWeights w;
  w.mean.assign(n, 0.0);
  w.scale.assign(n, 1.0);
  w.weight.assign(n, 0.0);
  return w;
}

KgScorerWeights KgScorerWeights::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw NotFound("KG scorer weights " + path + " not found");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Corruption(path + ": not valid JSON");
  auto array = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_array()) throw Corruption(path + ": missing array '" + key + "'");
    return j[key];
  };
  const std::vector<std::string> names = array("features").get<std::vector<std::string>>();
  if (names != KgFeatureNames()) {
    throw InvalidArgument(path + ": its " + std::to_string(names.size()) +
                          " feature names differ from this spade's " +
                          std::to_string(KgFeatureNames().size()) +
                          " (retrain with `spade train-kg-scorer`)");
  }
  KgScorerWeights w;
  w.mean = array("mean").get<std::vector<double>>();
  w.scale = array("scale").get<std::vector<double>>();
  w.weight = array("weights").get<std::vector<double>>();
  if (j.contains("note") && j["note"].is_string()) w.note = j["note"];
  const size_t n = names.size();
  if (w.mean.size() != n || w.scale.size() != n || w.weight.size() != n) {
    throw Corruption(path + ": mean/scale/weights must each have " + std::to_string(n) + " values");
  }
  for (double s : w.scale) {
    if (!(s > 0)) throw Corruption(path + ": every scale must be > 0");
  }
  return w;
}

void KgScorerWeights::Save(const std::string& path) const {
  nlohmann::ordered_json j;
  j["format"] = "spade-kg-scorer";
  j["version"] = 1;
  j["note"] = note;
  j["features"] = KgFeatureNames();
  j["mean"] = mean;
  j["scale"] = scale;
  j["weights"] = weight;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw IOError("cannot write " + tmp);
    out << j.dump(2) << "\n";
    if (!out) throw IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw IOError("cannot rename " + tmp + " to " + path);
}

KgScorer::KgScorer(const kg::Graph& graph, const Lemmatizer& lemmatizer,
                   const kg::TransE* embeddings, KgScorerWeights weights, KgScorerOptions options)
    : graph_(graph),
      embeddings_(embeddings),
      grounder_(graph, lemmatizer),
      finder_(graph, embeddings),
      weights_(std::move(weights)),
      options_(options) {
  const size_t n = KgFeatureNames().size();
  if (weights_.mean.size() != n || weights_.scale.size() != n || weights_.weight.size() != n) {
    throw InvalidArgument("KgScorer: weights for " + std::to_string(weights_.weight.size()) +
                          " features, expected " + std::to_string(n));
  }
  general_ = OverGeneralMask(graph);
  if (!options_.over_general_transit) options_.paths.no_transit = &general_;
  relation_group_.assign(graph.num_relations(), -1);
  const auto& groups = RelationGroups();
  for (size_t r = 0; r < graph.num_relations(); ++r) {
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      for (std::string_view name : groups[gi].relations) {
        if (graph.relation_name(r) == name) relation_group_[r] = static_cast<int>(gi);
      }
    }
  }
}

QuestionResult KgScorer::Score(const data::McqItem& item) const {
  data::ValidateMcqItem(item, item.source.empty() ? std::string("question") : item.source);
  QuestionResult result;
  // Question concepts are grounded once; each choice removes its own answer concepts.
  std::vector<Mention> stem_concepts = grounder_.QuestionConcepts(item.stem, item.question_concept);
  std::optional<kg::ConceptId> qc;
  if (!item.question_concept.empty()) {
    std::vector<Mention> m = grounder_.AnswerConcepts(item.question_concept);
    if (!m.empty()) qc = m.front().concept_id;
  }
  if (stem_concepts.size() > options_.max_question_concepts) {
    std::vector<Mention> kept(stem_concepts.begin(),
                              stem_concepts.begin() + options_.max_question_concepts);
    if (qc && std::none_of(kept.begin(), kept.end(),
                           [&](const Mention& m) { return m.concept_id == *qc; })) {
      for (const Mention& m : stem_concepts) {
        if (m.concept_id == *qc) kept.back() = m;
      }
    }
    stem_concepts = std::move(kept);
  }
  result.no_question_concept = stem_concepts.empty();
  bool any_path = false;
  const size_t nf = KgFeatureNames().size();

  for (const data::Choice& choice : item.choices) {
    ChoiceResult cr;
    cr.label = choice.label;
    cr.text = choice.text;
    cr.answer_concepts = grounder_.AnswerConcepts(choice.text);
    if (cr.answer_concepts.size() > options_.max_answer_concepts) {
      cr.answer_concepts.resize(options_.max_answer_concepts);
    }
    for (const Mention& m : stem_concepts) {
      bool in_answer = std::any_of(cr.answer_concepts.begin(), cr.answer_concepts.end(),
                                   [&](const Mention& a) { return a.concept_id == m.concept_id; });
      if (!in_answer) cr.question_concepts.push_back(m);
    }
    std::vector<double>& f = cr.features;
    f.assign(nf, 0.0);
    if (cr.answer_concepts.empty()) result.no_answer_concept = true;
    f[kAnswerGrounded] = cr.answer_concepts.empty() ? 0 : 1;
    f[kQuestionGrounded] = cr.question_concepts.empty() ? 0 : 1;

    std::vector<kg::ConceptId> qs, as;
    for (const Mention& m : cr.question_concepts) qs.push_back(m.concept_id);
    for (const Mention& m : cr.answer_concepts) as.push_back(m.concept_id);
    std::vector<PairPaths> pairs;
    if (!qs.empty() && !as.empty()) pairs = finder_.FindAll(qs, as, options_.paths);

    double counts[4] = {0, 0, 0, 0};
    std::vector<double> group_counts(RelationGroups().size(), 0.0);
    std::vector<const Path*> all;
    std::vector<bool> q_reached(qs.size(), false), a_reached(as.size(), false);
    for (size_t p = 0; p < pairs.size(); ++p) {
      const PairPaths& pp = pairs[p];
      if (!pp.paths.empty()) {
        q_reached[p / as.size()] = true;
        a_reached[p % as.size()] = true;
      }
      for (const Path& path : pp.paths) {
        all.push_back(&path);
        counts[std::min<size_t>(path.hops(), 3)] += 1;
        for (const PathEdge& e : path.edges) {
          const int g = relation_group_[e.relation];
          if (g >= 0) group_counts[g] += 1;
        }
        if (qc && pp.from == *qc) f[kQcBestPath] = std::max(f[kQcBestPath], path.score);
        if (qc && pp.from == *qc && path.hops() == 1) f[kQcDirect] += 1;
      }
    }
    std::sort(all.begin(), all.end(), [](const Path* a, const Path* b) {
      if (a->score != b->score) return a->score > b->score;
      return a->hops() < b->hops();
    });
    cr.num_paths = all.size();
    any_path = any_path || !all.empty();
    f[kPaths1] = Log1p(counts[1]);
    f[kPaths2] = Log1p(counts[2]);
    f[kPaths3] = Log1p(counts[3]);
    f[kBestPath] = all.empty() ? 0 : all.front()->score;
    for (size_t i = 0; i < all.size() && i < 5; ++i) f[kTopPathSum] += all[i]->score;
    if (!qs.empty()) {
      f[kQuestionCoverage] = static_cast<double>(std::count(q_reached.begin(), q_reached.end(), true)) / qs.size();
    }
    if (!as.empty()) {
      f[kAnswerCoverage] = static_cast<double>(std::count(a_reached.begin(), a_reached.end(), true)) / as.size();
    }
    f[kQcDirect] = Log1p(f[kQcDirect]);
    // Explanations: best paths whose inner concepts are specific first, then the rest.
    for (int pass = 0; pass < 2 && cr.top_paths.size() < options_.top_paths; ++pass) {
      for (const Path* p : all) {
        if (cr.top_paths.size() >= options_.top_paths) break;
        bool general = false;
        for (size_t i = 1; i + 1 < p->concepts.size(); ++i) general = general || general_[p->concepts[i]];
        if (general == (pass == 1)) cr.top_paths.push_back(*p);
      }
    }

    // TransE: the most plausible single edge between a question and an answer concept,
    // over every relation and both directions, as minus its distance per dimension.
    if (embeddings_ && !qs.empty() && !as.empty()) {
      // d(q, r, a) = |(q - a) + r|, d(a, r, q) = |r - (q - a)|: one difference per pair.
      const int dim = embeddings_->dim();
      const bool l1 = embeddings_->norm() == 1;
      std::vector<float> diff(dim);
      double best = std::numeric_limits<double>::infinity();  // smallest distance
      for (kg::ConceptId q : qs) {
        for (kg::ConceptId a : as) {
          const float* qv = embeddings_->concept_vector(q).data();
          const float* av = embeddings_->concept_vector(a).data();
          for (int i = 0; i < dim; ++i) diff[i] = qv[i] - av[i];
          for (size_t r = 0; r < graph_.num_relations(); ++r) {
            const float* rv = embeddings_->relation_vector(static_cast<kg::RelationId>(r)).data();
            double fwd = 0, bwd = 0;
            for (int i = 0; i < dim; ++i) {
              const float x = diff[i] + rv[i], y = rv[i] - diff[i];
              fwd += l1 ? std::fabs(x) : double(x) * x;
              bwd += l1 ? std::fabs(y) : double(y) * y;
            }
            if (!l1) {
              fwd = std::sqrt(fwd);
              bwd = std::sqrt(bwd);
            }
            best = std::min(best, std::min(fwd, bwd));
          }
        }
      }
      f[kTransE] = -best / dim;
    }
    if (!as.empty()) f[kAnswerLogDegree] = Log1p(static_cast<double>(graph_.degree(as.front())));
    if (!qs.empty() && !as.empty()) {
      const Subgraph sg = SchemaSubgraph(graph_, qs, as);
      size_t inter = 0;
      for (NodeRole r : sg.roles) inter += r == NodeRole::kIntermediate ? 1 : 0;
      f[kSubgraphNodes] = Log1p(static_cast<double>(inter + sg.intermediates_dropped));
      f[kSubgraphEdges] = Log1p(static_cast<double>(sg.edges.size()));
    }
    for (size_t g = 0; g < group_counts.size(); ++g) f[kFirstRelationGroup + g] = Log1p(group_counts[g]);

    for (size_t i = 0; i < nf; ++i) {
      cr.score += weights_.weight[i] * (f[i] - weights_.mean[i]) / weights_.scale[i];
    }
    result.choices.push_back(std::move(cr));
  }
  result.no_path = !any_path;
  double max_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < result.choices.size(); ++i) {
    if (result.choices[i].score > max_score) {
      max_score = result.choices[i].score;
      result.predicted = static_cast<int>(i);
    }
  }
  double z = 0;
  for (ChoiceResult& c : result.choices) z += std::exp(c.score - max_score);
  for (ChoiceResult& c : result.choices) c.probability = std::exp(c.score - max_score) / z;
  return result;
}

KgScorerWeights TrainKgScorer(const std::vector<std::vector<std::vector<double>>>& features,
                              const std::vector<int>& answers, int iterations,
                              double learning_rate, double l2, double* train_accuracy) {
  const size_t nf = KgFeatureNames().size();
  if (features.size() != answers.size() || features.empty()) {
    throw InvalidArgument("TrainKgScorer: " + std::to_string(features.size()) + " questions, " +
                          std::to_string(answers.size()) + " answers");
  }
  KgScorerWeights w = KgScorerWeights::Zero();
  // Standardise over every choice of every question.
  double rows = 0;
  for (const auto& q : features) {
    for (const auto& c : q) {
      if (c.size() != nf) throw InvalidArgument("TrainKgScorer: feature vector of wrong size");
      for (size_t i = 0; i < nf; ++i) w.mean[i] += c[i];
      rows += 1;
    }
  }
  for (double& m : w.mean) m /= rows;
  std::vector<double> var(nf, 0.0);
  for (const auto& q : features) {
    for (const auto& c : q) {
      for (size_t i = 0; i < nf; ++i) var[i] += (c[i] - w.mean[i]) * (c[i] - w.mean[i]);
    }
  }
  for (size_t i = 0; i < nf; ++i) {
    const double sd = std::sqrt(var[i] / rows);
    w.scale[i] = sd > 1e-9 ? sd : 1.0;
  }
  std::vector<double> grad(nf);
  auto pass = [&](bool update) {
    std::fill(grad.begin(), grad.end(), 0.0);
    size_t correct = 0;
    for (size_t q = 0; q < features.size(); ++q) {
      const auto& choices = features[q];
      std::vector<double> s(choices.size(), 0.0);
      for (size_t c = 0; c < choices.size(); ++c) {
        for (size_t i = 0; i < nf; ++i) s[c] += w.weight[i] * (choices[c][i] - w.mean[i]) / w.scale[i];
      }
      const size_t best = std::max_element(s.begin(), s.end()) - s.begin();
      correct += static_cast<int>(best) == answers[q] ? 1 : 0;
      if (!update) continue;
      const double mx = s[best];
      double z = 0;
      for (double& x : s) z += (x = std::exp(x - mx));
      for (size_t c = 0; c < choices.size(); ++c) {
        const double g = s[c] / z - (static_cast<int>(c) == answers[q] ? 1.0 : 0.0);
        for (size_t i = 0; i < nf; ++i) grad[i] += g * (choices[c][i] - w.mean[i]) / w.scale[i];
      }
    }
    return static_cast<double>(correct) / features.size();
  };
  for (int it = 0; it < iterations; ++it) {
    pass(/*update=*/true);
    for (size_t i = 0; i < nf; ++i) {
      w.weight[i] -= learning_rate * (grad[i] / features.size() + 2 * l2 * w.weight[i]);
    }
  }
  const double acc = pass(/*update=*/false);
  if (train_accuracy) *train_accuracy = acc;
  return w;
}

}  // namespace spade::retrieval

#include <chrono>

namespace spade::retrieval {

EvalReport EvaluateKgScorer(const KgScorer& scorer, const std::vector<data::McqItem>& items,
                            int threads, std::vector<QuestionResult>* results) {
  if (threads < 1) threads = 1;
  std::vector<QuestionResult> local(items.size());
  std::vector<double> seconds(items.size(), 0.0);
  ParallelFor(items.size(), threads, [&](size_t i) {
    const auto t0 = std::chrono::steady_clock::now();
    local[i] = scorer.Score(items[i]);
    seconds[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  });
  EvalReport report;
  report.n = items.size();
  report.seconds = std::move(seconds);
  for (size_t i = 0; i < items.size(); ++i) {
    const QuestionResult& r = local[i];
    report.no_question_concept += r.no_question_concept ? 1 : 0;
    report.no_answer_concept += r.no_answer_concept ? 1 : 0;
    report.no_path += r.no_path ? 1 : 0;
    const int key = items[i].answer_index();
    if (key >= 0) {
      ++report.with_key;
      report.correct += r.predicted == key ? 1 : 0;
    }
  }
  if (results) *results = std::move(local);
  return report;
}

}  // namespace spade::retrieval
