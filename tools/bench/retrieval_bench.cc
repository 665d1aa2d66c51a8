// Speed of grounding + paths + schema subgraph (+ features) per question, over a
// CommonsenseQA-style jsonl, on a KG store: p50 / p99 / mean per question. Also writes the
// (question concept, answer concept) pairs of every question, so that
// tools/bench/retrieval_networkx.py can time networkx's all_simple_paths on the very same
// pairs with the same cutoff and the same per-pair enumeration limit.
//
//   build-ret/tools/bench/retrieval_bench KG_DIR data/qa/csqa/dev.jsonl.gz pairs.jsonl [max_hops] [limit]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "retrieval/scorer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s KG_DIR QUESTIONS.jsonl PAIRS_OUT.jsonl [max_hops=3] [enumeration_limit=2000]\n",
                 argv[0]);
    return 2;
  }
  try {
    const auto store = spade::kg::KgStore::Open(argv[1]);
    const spade::kg::Graph graph = store->LoadGraph();
    const std::optional<spade::kg::TransE> transe = spade::kg::TransE::Load(*store);
    const auto lemmatizer = spade::retrieval::Lemmatizer::Load();
    spade::retrieval::KgScorerOptions options;
    // The same search as networkx's all_simple_paths: paths may pass through every concept.
    options.over_general_transit = true;
    if (argc > 4) options.paths.max_hops = std::stoi(argv[4]);
    if (argc > 5) options.paths.enumeration_limit = std::stoul(argv[5]);
    spade::retrieval::KgScorer scorer(graph, lemmatizer, transe ? &*transe : nullptr,
                                      spade::retrieval::KgScorerWeights::Zero(), options);
    const std::vector<spade::data::McqItem> items = spade::data::ReadMcqJsonl(argv[2]);
    std::ofstream pairs(argv[3]);
    std::vector<double> ms;
    size_t paths_total = 0;
    for (int warm = 0; warm < 2; ++warm) scorer.Score(items[warm % items.size()]);
    for (const auto& item : items) {
      const auto t0 = std::chrono::steady_clock::now();
      const spade::retrieval::QuestionResult r = scorer.Score(item);
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ms.push_back(t);
      nlohmann::json j = {{"id", item.id}, {"ms", t}, {"pairs", nlohmann::json::array()}};
      size_t found = 0;
      for (const auto& c : r.choices) {
        found += c.num_paths;
        for (const auto& q : c.question_concepts) {
          for (const auto& a : c.answer_concepts) j["pairs"].push_back({q.concept_name, a.concept_name});
        }
      }
      j["paths_kept"] = found;
      paths_total += found;
      pairs << j.dump() << "\n";
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) { return sorted[std::min(sorted.size() - 1, size_t(p * (sorted.size() - 1) + 0.5))]; };
    double sum = 0;
    for (double x : ms) sum += x;
    nlohmann::json out = {{"questions", ms.size()},        {"p50_ms", pct(0.5)},
                          {"p90_ms", pct(0.9)},            {"p99_ms", pct(0.99)},
                          {"max_ms", sorted.back()},       {"mean_ms", sum / ms.size()},
                          {"max_hops", options.paths.max_hops},
                          {"enumeration_limit", options.paths.enumeration_limit},
                          {"paths_kept", paths_total},     {"embeddings", transe.has_value()},
                          {"kg_concepts", graph.num_concepts()}, {"kg_edges", graph.num_edges()}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "retrieval_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
