// End-to-end tests of the `spade kg` commands: exit codes, messages, JSON, round trips.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

class Cli : public ::testing::Test {
 protected:
  RunResult Run(const std::string& args) { return RunSpade(args, dir_ / "stderr"); }
  TempDir dir_;
};

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Run("").rc, 2);
  EXPECT_EQ(Run("kg frobnicate").rc, 2);
  RunResult r = Run("kg build --out " + dir_ / "kg");  // no INPUT
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("INPUT is required"), std::string::npos) << r.err;
  EXPECT_EQ(Run("--help").rc, 0);
}

TEST_F(Cli, FailuresExitWithOneAndSayWhy) {
  RunResult r = Run("kg stats --kg " + dir_ / "nope");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "spade: error: " + dir_ / "nope" + ": no such KG directory (build one with `spade kg build`)\n");
  WriteFile(dir_ / "t.tsv", "shovel\tUsedFor\tdig\n");
  ASSERT_EQ(Run("kg build --quiet --out " + dir_ / "kg " + dir_ / "t.tsv").rc, 0);
  r = Run("kg neighbors --kg " + dir_ / "kg" + " excavator");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("concept 'excavator' is not in the KG"), std::string::npos) << r.err;
  r = Run("kg neighbors --kg " + dir_ / "kg" + " shovel --relation Foo");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("relation 'Foo' is not in the KG (it has: UsedFor)"), std::string::npos) << r.err;
  r = Run("kg build --out " + dir_ / "kg2 " + dir_ / "missing.tsv");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("missing.tsv"), std::string::npos) << r.err;
}

TEST_F(Cli, BadRowsAreReportedAndCounted) {
  WriteFile(dir_ / "t.tsv", "shovel\tUsedFor\tdig\nbroken\n");
  RunResult r = Run("kg build --out " + dir_ / "kg " + dir_ / "t.tsv");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(dir_ / "t.tsv" + ":2: expected 3 or 4 tab-separated columns, got 1 (row skipped)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("1 bad"), std::string::npos) << r.out;
  r = Run("kg build --strict --out " + dir_ / "kg3 " + dir_ / "t.tsv");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "spade: error: " + dir_ / "t.tsv" + ":2: expected 3 or 4 tab-separated columns, got 1\n");
}

TEST_F(Cli, StatsJsonAndNeighbors) {
  WriteFile(dir_ / "t.tsv", "shovel\tUsedFor\tdig\t2\ngarden\tHasA\tshovel\n");
  ASSERT_EQ(Run("kg build --quiet --out " + dir_ / "kg " + dir_ / "t.tsv").rc, 0);
  RunResult r = Run("kg stats --json --kg " + dir_ / "kg");
  ASSERT_EQ(r.rc, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["concepts"], 3);
  EXPECT_EQ(j["edges"], 2);
  EXPECT_EQ(j["relations"]["UsedFor"], 1);
  EXPECT_EQ(j["inputs"][0]["path"], dir_ / "t.tsv");
  r = Run("kg neighbors --kg " + dir_ / "kg" + " Shovel");
  EXPECT_EQ(r.out, "shovel -UsedFor-> dig  (2)\nshovel <-HasA- garden  (1)\n");
  r = Run("kg neighbors --json --direction in --kg " + dir_ / "kg" + " shovel");
  auto n = nlohmann::json::parse(r.out);
  ASSERT_EQ(n["neighbors"].size(), 1u);
  EXPECT_EQ(n["neighbors"][0]["concept"], "garden");
  EXPECT_EQ(n["neighbors"][0]["direction"], "in");
}

TEST_F(Cli, BuildExportBuildYieldsTheSameGraph) {
  std::string cn4 = SourcePath("data/kg/conceptnet4/cn4_en_triples.tsv.gz");
  ASSERT_EQ(Run("kg build --quiet --out " + dir_ / "kg1 " + cn4).rc, 0);
  RunResult e1 = Run("kg export --kg " + dir_ / "kg1");
  ASSERT_EQ(e1.rc, 0);
  WriteFile(dir_ / "export.tsv", e1.out);
  ASSERT_EQ(Run("kg build --quiet --out " + dir_ / "kg2 " + dir_ / "export.tsv").rc, 0);
  RunResult e2 = Run("kg export --kg " + dir_ / "kg2");
  // Identical except for the header line naming the store.
  auto body = [](const std::string& s) { return s.substr(s.find('\n') + 1); };
  EXPECT_EQ(body(e1.out), body(e2.out));
  auto s1 = nlohmann::json::parse(Run("kg stats --json --kg " + dir_ / "kg1").out);
  auto s2 = nlohmann::json::parse(Run("kg stats --json --kg " + dir_ / "kg2").out);
  EXPECT_EQ(s1["concepts"], s2["concepts"]);
  EXPECT_EQ(s1["edges"], s2["edges"]);
  EXPECT_EQ(s1["negated_edges"], s2["negated_edges"]);
  EXPECT_EQ(s1["relations"], s2["relations"]);
}

}  // namespace
}  // namespace spade::testing
