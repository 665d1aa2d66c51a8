// The Boost.Graph path finder against the BFS reference on the default KG (the one the
// quick start builds into $SPADE_HOME/kg), on concept pairs grounded from CommonsenseQA dev
// questions, with and without the KG's TransE embeddings. Skipped when no default KG exists.
// Set SPADE_TEST_KG to use another store.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/mcq.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "retrieval/grounding.h"
#include "retrieval/paths.h"

namespace spade::retrieval {
namespace {

std::string DefaultKg() {
  if (const char* kg = std::getenv("SPADE_TEST_KG"); kg && *kg) return kg;
  if (const char* home = std::getenv("SPADE_HOME"); home && *home) return std::string(home) + "/kg";
  const char* user = std::getenv("HOME");
  return std::string(user ? user : ".") + "/.local/share/spade/kg";
}

TEST(DefaultKgPathsTest, BoostGraphSearchAgreesWithBfsReference) {
  const std::string dir = DefaultKg();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no KG at " << dir << " (run tools/quickstart.sh)";
  auto store = kg::KgStore::Open(dir);
  const kg::Graph g = store->LoadGraph();
  const std::optional<kg::TransE> transe = kg::TransE::Load(*store);
  const Lemmatizer lem = Lemmatizer::Load();
  Grounder grounder(g, lem);
  PathFinder plain(g);
  std::optional<PathFinder> scored;
  if (transe) scored.emplace(g, &*transe);

  // The reference enumerates partial paths without pruning: keep pairs whose start has a
  // two-hop neighbourhood it can walk quickly.
  auto two_hop = [&](kg::ConceptId c) {
    size_t sum = 0;
    for (const auto& e : g.out_edges(c)) sum += g.degree(e.other);
    for (const auto& e : g.in_edges(c)) sum += g.degree(e.other);
    return sum;
  };
  const std::vector<data::McqItem> items =
      data::ReadMcqJsonl(std::string(SPADE_SOURCE_DIR) + "/data/qa/csqa/dev.jsonl.gz");
  PathOptions opt;
  opt.max_paths_per_pair = 1u << 30;
  opt.enumeration_limit = 1u << 30;
  size_t pairs = 0, with_paths = 0;
  for (size_t i = 0; i < items.size() && pairs < 150; ++i) {
    for (const auto& choice : items[i].choices) {
      PairConcepts pc = grounder.Pair(items[i].stem, items[i].question_concept, choice.text);
      for (const Mention& q : pc.question) {
        for (const Mention& a : pc.answer) {
          if (pairs >= 150 || two_hop(q.concept_id) > 20000) continue;
          ++pairs;
          for (const PathFinder* finder : {&plain, scored ? &*scored : nullptr}) {
            if (!finder) continue;
            const kg::TransE* emb = finder == &plain ? nullptr : &*transe;
            const PairPaths fast = finder->Find(q.concept_id, a.concept_id, opt);
            const PairPaths ref = EnumeratePathsBfs(g, emb, q.concept_id, a.concept_id, opt);
            ASSERT_EQ(fast.paths.size(), ref.paths.size()) << q.concept_name << " -> " << a.concept_name;
            EXPECT_EQ(fast.found, ref.found);
            for (size_t k = 0; k < ref.paths.size(); ++k) {
              ASSERT_EQ(FormatPath(g, fast.paths[k]), FormatPath(g, ref.paths[k]));
              ASSERT_DOUBLE_EQ(fast.paths[k].score, ref.paths[k].score);
            }
            with_paths += fast.paths.empty() ? 0 : 1;
          }
        }
      }
    }
  }
  EXPECT_EQ(pairs, 150u);
  EXPECT_GT(with_paths, 50u);
}

}  // namespace
}  // namespace spade::retrieval
