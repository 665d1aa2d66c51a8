// `spade ground | paths | train-kg-scorer` and `spade kg embed`: grounding questions in the
// KG, the paths between their concepts, and fitting the KG-only scorer (`spade ask` and
// `spade eval` are in cmd_answer.cc).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "retrieval/grounding.h"
#include "retrieval/lemmatizer.h"
#include "retrieval/paths.h"
#include "retrieval/scorer.h"
#include "retrieval/subgraph.h"
#include "tools/commands.h"
#include "tools/knowledge.h"

namespace spade::tools {
namespace {

using nlohmann::ordered_json;

std::unique_ptr<LoadedKg> Load(const std::string& kg_dir, bool with_embeddings = true) {
  KgLoadOptions o;
  o.embeddings = with_embeddings;
  return LoadKg(kg_dir, o);
}

ordered_json MentionJson(const retrieval::Mention& m) {
  return {{"concept", m.concept_name}, {"begin", m.begin}, {"end", m.end}, {"surface", m.surface}};
}

ordered_json PathJson(const kg::Graph& g, const retrieval::Path& p) {
  ordered_json edges = ordered_json::array();
  for (size_t i = 0; i < p.edges.size(); ++i) {
    const bool fwd = p.edges[i].forward;
    edges.push_back({{"head", g.concept_name(fwd ? p.concepts[i] : p.concepts[i + 1])},
                     {"relation", g.relation_name(p.edges[i].relation)},
                     {"tail", g.concept_name(fwd ? p.concepts[i + 1] : p.concepts[i])}});
  }
  return {{"path", retrieval::FormatPath(g, p)}, {"score", p.score}, {"hops", p.hops()},
          {"edges", edges}};
}

// ---- spade ground ----
struct GroundFlags {
  std::string kg;
  std::string text;
  bool json = false;
};

int RunGround(const GroundFlags& f) {
  if (f.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw InvalidArgument("nothing to ground: the text is empty");
  }
  auto l = Load(f.kg, /*with_embeddings=*/false);
  retrieval::Grounder grounder(l->graph, l->lemmatizer);
  const std::vector<retrieval::Mention> mentions = grounder.Ground(f.text);
  if (f.json) {
    ordered_json out = {{"text", f.text}, {"mentions", ordered_json::array()}};
    for (const auto& m : mentions) out["mentions"].push_back(MentionJson(m));
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& m : mentions) {
      std::printf("%zu-%zu\t%s\t%s\n", m.begin, m.end, m.surface.c_str(), m.concept_name.c_str());
    }
  }
  if (mentions.empty()) {
    std::fprintf(stderr, "spade: no concept of the KG found in \"%s\" (unknown words or stopwords only)\n",
                 f.text.c_str());
    return 1;
  }
  return 0;
}

// ---- spade paths ----
struct PathsFlags {
  std::string kg;
  std::string question, answer;
  int max_hops = 3;
  size_t limit = 10;
  bool json = false, dot = false;
};

int RunPaths(const PathsFlags& f) {
  if (f.question.empty() || f.answer.empty()) throw InvalidArgument("--question and --answer must not be empty");
  auto l = Load(f.kg);
  retrieval::Grounder grounder(l->graph, l->lemmatizer);
  retrieval::PairConcepts pc = grounder.Pair(f.question, "", f.answer);
  if (pc.question.empty()) throw NotFound("no concept of the KG found in the question \"" + f.question + "\"");
  if (pc.answer.empty()) throw NotFound("no concept of the KG found in the answer \"" + f.answer + "\"");
  retrieval::PathFinder finder(l->graph, l->embeddings());
  retrieval::PathOptions opt;
  opt.max_hops = f.max_hops;
  opt.max_paths_per_pair = std::max<size_t>(f.limit, 1);
  const std::vector<bool> no_transit = retrieval::OverGeneralMask(l->graph);
  opt.no_transit = &no_transit;
  std::vector<kg::ConceptId> qs, as;
  for (const auto& m : pc.question) qs.push_back(m.concept_id);
  for (const auto& m : pc.answer) as.push_back(m.concept_id);
  std::vector<retrieval::Path> all;
  for (auto& pp : finder.FindAll(qs, as, opt)) {
    for (auto& p : pp.paths) all.push_back(std::move(p));
  }
  std::stable_sort(all.begin(), all.end(), [](const retrieval::Path& a, const retrieval::Path& b) {
    return a.score != b.score ? a.score > b.score : a.hops() < b.hops();
  });
  if (all.size() > f.limit) all.resize(f.limit);
  const kg::Graph& g = l->graph;
  if (f.json) {
    ordered_json out = {{"question_concepts", ordered_json::array()},
                        {"answer_concepts", ordered_json::array()},
                        {"scoring", l->transe ? "transe" : "relation_degree"},
                        {"paths", ordered_json::array()}};
    for (const auto& m : pc.question) out["question_concepts"].push_back(MentionJson(m));
    for (const auto& m : pc.answer) out["answer_concepts"].push_back(MentionJson(m));
    for (const auto& p : all) out["paths"].push_back(PathJson(g, p));
    std::cout << out.dump() << "\n";
  } else if (f.dot) {
    std::set<kg::ConceptId> nodes;
    std::set<std::tuple<kg::ConceptId, kg::RelationId, kg::ConceptId>> edges;
    for (const auto& p : all) {
      for (size_t i = 0; i < p.edges.size(); ++i) {
        const auto a = p.concepts[i], b = p.concepts[i + 1];
        nodes.insert(a);
        nodes.insert(b);
        edges.insert(p.edges[i].forward ? std::make_tuple(a, p.edges[i].relation, b)
                                        : std::make_tuple(b, p.edges[i].relation, a));
      }
    }
    std::printf("digraph paths {\n  rankdir=LR;\n");
    for (kg::ConceptId c : nodes) {
      const bool q = std::count(qs.begin(), qs.end(), c) > 0, a = std::count(as.begin(), as.end(), c) > 0;
      std::printf("  \"%s\"%s;\n", g.concept_name(c).c_str(),
                  q ? " [shape=box, color=blue]" : (a ? " [shape=box, color=darkgreen]" : ""));
    }
    for (const auto& [h, r, t] : edges) {
      std::printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", g.concept_name(h).c_str(),
                  g.concept_name(t).c_str(), g.relation_name(r).c_str());
    }
    std::printf("}\n");
  } else {
    std::printf("question concepts:");
    for (const auto& m : pc.question) std::printf(" %s", m.concept_name.c_str());
    std::printf("\nanswer concepts:");
    for (const auto& m : pc.answer) std::printf(" %s", m.concept_name.c_str());
    std::printf("\n");
    for (const auto& p : all) std::printf("%.4f  %s\n", p.score, retrieval::FormatPath(g, p).c_str());
    if (all.empty()) std::printf("no path within %d hops\n", f.max_hops);
  }
  return 0;
}

// ---- spade train-kg-scorer ----
struct EvalFlags {
  std::string kg;
  std::string weights = DefaultScorerWeights();  // unused: training starts from zero weights
  std::string data;
  std::string out;
  int threads = 2;
  size_t limit = 0;
};

std::vector<data::McqItem> ReadItems(const EvalFlags& f) {
  std::vector<data::McqItem> items = data::ReadMcqJsonl(f.data);
  if (f.limit > 0 && items.size() > f.limit) items.resize(f.limit);
  if (items.empty()) throw InvalidArgument(f.data + ": no questions");
  return items;
}

int RunTrainScorer(const EvalFlags& f) {
  const std::vector<data::McqItem> items = ReadItems(f);
  auto l = Load(f.kg);
  retrieval::KgScorer scorer(l->graph, l->lemmatizer, l->embeddings(), retrieval::KgScorerWeights::Zero());
  std::vector<retrieval::QuestionResult> results;
  retrieval::EvaluateKgScorer(scorer, items, f.threads, &results);
  std::vector<std::vector<std::vector<double>>> features;
  std::vector<int> answers;
  for (size_t i = 0; i < items.size(); ++i) {
    const int key = items[i].answer_index();
    if (key < 0) continue;
    std::vector<std::vector<double>> q;
    for (const auto& c : results[i].choices) q.push_back(c.features);
    features.push_back(std::move(q));
    answers.push_back(key);
  }
  if (features.empty()) throw InvalidArgument(f.data + ": no question has an answerKey to train on");
  double acc = 0;
  retrieval::KgScorerWeights w = retrieval::TrainKgScorer(features, answers, 500, 0.5, 1e-3, &acc);
  char note[512];
  std::snprintf(note, sizeof(note),
                "conditional logit over %zu questions of %s, KG %s (%llu concepts, %s); train accuracy %.4f; "
                "`spade train-kg-scorer --data FILE --out FILE`",
                features.size(), f.data.c_str(), f.kg.c_str(),
                static_cast<unsigned long long>(l->graph.num_concepts()),
                l->transe ? "with TransE" : "no TransE", acc);
  w.note = note;
  w.Save(f.out);
  std::printf("trained on %zu questions: train accuracy %.4f; weights written to %s\n", features.size(), acc,
              f.out.c_str());
  return 0;
}

// ---- spade kg embed ----
struct EmbedFlags {
  std::string kg;
  kg::TransEOptions options;
  bool eval = false;
  size_t held_out = 1000;
  std::string dev1 = std::string(SPADE_DATA_DIR) + "/kg/conceptnet100k/dev1.txt";
  std::string dev2 = std::string(SPADE_DATA_DIR) + "/kg/conceptnet100k/dev2.txt";
  bool json = false;
};

int RunEmbed(const EmbedFlags& f) {
  auto store = kg::KgStore::Open(f.kg);
  const kg::Graph graph = store->LoadGraph();
  std::vector<kg::Triple> triples = graph.triples();
  std::vector<kg::Triple> held;
  if (f.eval) {
    // Hold out random triples for link prediction (never trained on).
    std::mt19937_64 rng(f.options.seed + 17);
    std::shuffle(triples.begin(), triples.end(), rng);
    const size_t k = std::min(f.held_out, triples.size() / 10);
    held.assign(triples.end() - k, triples.end());
    triples.resize(triples.size() - k);
  }
  const bool tty = isatty(fileno(stderr));
  kg::TransE model = kg::TransE::Train(
      graph.num_concepts(), graph.num_relations(), triples, f.options, [&](const kg::TransEProgress& p) {
        const double eta = p.seconds / p.epoch * (p.epochs - p.epoch);
        if (tty) {
          std::fprintf(stderr, "\rTransE epoch %d/%d  loss %.4f  %.0f s  ETA %.0f s   ", p.epoch, p.epochs, p.loss,
                       p.seconds, eta);
          if (p.epoch == p.epochs) std::fprintf(stderr, "\n");
        } else if (!f.json && (p.epoch == 1 || p.epoch == p.epochs || p.epoch % 10 == 0)) {
          std::printf("epoch %d/%d loss %.4f (%.0f s)\n", p.epoch, p.epochs, p.loss, p.seconds);
          std::fflush(stdout);
        }
      });
  model.Save(f.kg);
  ordered_json out = {{"kg", f.kg},
                      {"dim", f.options.dim},
                      {"epochs", f.options.epochs},
                      {"trained_triples", triples.size()},
                      {"concepts", graph.num_concepts()},
                      {"relations", graph.num_relations()}};
  if (f.eval) {
    const kg::TripleClassification tc = kg::EvaluateTripleClassification(graph, model, f.dev1, f.dev2);
    const kg::LinkPrediction lp = kg::EvaluateLinkPrediction(model, held);
    out["triple_classification"] = {{"dev1_accuracy", tc.dev1_accuracy}, {"dev2_accuracy", tc.dev2_accuracy},
                                    {"dev1_n", tc.dev1_n}, {"dev2_n", tc.dev2_n},
                                    {"unknown_rows", tc.unknown}};
    out["link_prediction"] = {{"mrr", lp.mrr}, {"hits_at_10", lp.hits_at_10}, {"held_out", lp.n},
                              {"setting", "raw"}};
  }
  if (f.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "stored TransE embeddings in " << f.kg << "\n" << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

void RegisterRetrievalCommands(CLI::App& app, int* rc) {
  auto gf = std::make_shared<GroundFlags>();
  gf->kg = DefaultKgDir();
  CLI::App* ground = app.add_subcommand("ground", "Show the KG concepts a text mentions, with character spans");
  ground->add_option("--kg", gf->kg, "KG directory")->capture_default_str();
  ground->add_flag("--json", gf->json, "JSON output");
  ground->add_option("TEXT", gf->text, "Text to ground")->required();
  ground->callback([gf, rc] { *rc = RunGround(*gf); });

  auto pf = std::make_shared<PathsFlags>();
  pf->kg = DefaultKgDir();
  CLI::App* paths = app.add_subcommand("paths", "KG paths from a question's concepts to an answer's");
  paths->add_option("--kg", pf->kg, "KG directory")->capture_default_str();
  paths->add_option("--question", pf->question, "Question text")->required();
  paths->add_option("--answer", pf->answer, "Answer text")->required();
  paths->add_option("--max-hops", pf->max_hops, "Longest path, in edges")->check(CLI::Range(1, 6))->capture_default_str();
  paths->add_option("--limit", pf->limit, "Paths shown")->check(CLI::Range(1, 100000))->capture_default_str();
  auto* pj = paths->add_flag("--json", pf->json, "JSON output");
  paths->add_flag("--dot", pf->dot, "Graphviz DOT output")->excludes(pj);
  paths->callback([pf, rc] { *rc = RunPaths(*pf); });

  auto tf = std::make_shared<EvalFlags>();
  tf->kg = DefaultKgDir();
  CLI::App* train = app.add_subcommand("train-kg-scorer", "Fit the KG-only scorer's weights on a training jsonl");
  train->add_option("--kg", tf->kg, "KG directory")->capture_default_str();
  train->add_option("--data", tf->data, "Training questions with answer keys")->required();
  train->add_option("--out", tf->out, "Weights file to write (JSON)")->required();
  train->add_option("--threads", tf->threads, "Worker threads")->check(CLI::Range(1, 64))->capture_default_str();
  train->add_option("--limit", tf->limit, "Only the first N questions (0 = all)");
  train->callback([tf, rc] { *rc = RunTrainScorer(*tf); });

  CLI::App* kg_cmd = app.get_subcommand("kg");  // registered by RegisterKgCommands
  auto mf = std::make_shared<EmbedFlags>();
  mf->kg = DefaultKgDir();
  CLI::App* embed = kg_cmd->add_subcommand("embed", "Train TransE embeddings and store them in the KG");
  embed->add_option("--kg", mf->kg, "KG directory")->capture_default_str();
  embed->add_option("--dim", mf->options.dim, "Embedding dimension")->check(CLI::Range(1, 4096))->capture_default_str();
  embed->add_option("--epochs", mf->options.epochs, "Passes over the triples")->check(CLI::Range(0, 100000))->capture_default_str();
  embed->add_option("--threads", mf->options.threads, "Worker threads")->check(CLI::Range(1, 256))->capture_default_str();
  embed->add_option("--seed", mf->options.seed, "Random seed")->capture_default_str();
  embed->add_option("--lr", mf->options.learning_rate, "SGD learning rate")->capture_default_str();
  embed->add_option("--margin", mf->options.margin, "Ranking margin")->capture_default_str();
  embed->add_option("--norm", mf->options.norm, "Distance: 1 (L1) or 2 (L2)")->check(CLI::IsMember({1, 2}))->capture_default_str();
  embed->add_flag("--eval", mf->eval,
                  "Hold out triples, then report triple classification (CN-100k dev1/dev2) and MRR/Hits@10");
  embed->add_option("--held-out", mf->held_out, "Triples held out for link prediction with --eval")->capture_default_str();
  embed->add_option("--dev1", mf->dev1, "Threshold-fitting dev set")->capture_default_str();
  embed->add_option("--dev2", mf->dev2, "Evaluation dev set")->capture_default_str();
  embed->add_flag("--json", mf->json, "JSON output");
  embed->callback([mf, rc] { *rc = RunEmbed(*mf); });
}

}  // namespace spade::tools
