// `spade kg build | stats | neighbors | export`: the knowledge-graph store.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "kg/builder.h"
#include "kg/metadata_json.h"
#include "kg/normalize.h"
#include "kg/relations.h"
#include "kg/store.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace spade::tools {
namespace {

constexpr int kMaxPrintedBadRows = 20;

struct BuildFlags {
  std::string out;
  std::string format = "auto";
  std::vector<std::string> inputs;
  std::string relations = "full";
  std::string merge_file = std::string(SPADE_DATA_DIR) + "/kg/kagnet/merge_relation.txt";
  std::vector<std::string> languages = {"en"};
  bool strict = false;
  int threads = 2;
  bool quiet = false;
  bool verbose = false;
};

int RunBuild(const BuildFlags& f) {
  kg::BuildOptions options;
  options.out = f.out;
  kg::InputFormat format = kg::ParseInputFormat(f.format);
  for (const std::string& path : f.inputs) options.inputs.push_back({path, format});
  options.relations = f.relations;
  options.merge_file = f.merge_file;
  options.import.strict = f.strict;
  options.import.threads = f.threads;
  options.import.rows.languages.clear();
  for (const std::string& l : f.languages) {
    if (l != "all") options.import.rows.languages.insert(l);
  }
  Progress progress;
  uint64_t bad = 0;
  kg::BuildCallbacks cb;
  cb.on_bad_row = [&](const std::string& where, const std::string& reason) {
    if (bad++ < kMaxPrintedBadRows) {
      progress.Finish();
      std::fprintf(stderr, "spade: warning: %s: %s (row skipped)\n", where.c_str(), reason.c_str());
    }
  };
  cb.on_progress = [&](const std::string& path, uint64_t done, uint64_t total, uint64_t rows) {
    progress.Update(path, done, total, rows);
  };
  auto start = std::chrono::steady_clock::now();
  cb.on_phase = [&](const std::string& phase) {
    progress.Finish();
    if ((progress.enabled() && !f.quiet) || f.verbose) {
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "[%6.1fs] %s\n", t, phase.c_str());
    }
  };
  kg::KgMetadata meta = kg::BuildKg(options, cb);
  progress.Finish();
  if (bad > static_cast<uint64_t>(kMaxPrintedBadRows)) {
    std::fprintf(stderr, "spade: warning: %llu more bad rows not shown\n",
                 static_cast<unsigned long long>(bad - kMaxPrintedBadRows));
  }
  if (!f.quiet) {
    std::printf("built %s: %llu concepts, %llu edges (%llu negated kept apart), %zu relations, %.1f s\n",
                f.out.c_str(), static_cast<unsigned long long>(meta.concepts),
                static_cast<unsigned long long>(meta.edges), static_cast<unsigned long long>(meta.negated_edges),
                meta.relation_counts.size(), meta.build_seconds);
    for (const kg::InputInfo& in : meta.inputs) {
      std::printf("  %s [%s]: %llu rows, %llu assertions, %llu negated, %llu skipped, %llu bad\n", in.path.c_str(),
                  in.format.c_str(), static_cast<unsigned long long>(in.rows),
                  static_cast<unsigned long long>(in.assertions), static_cast<unsigned long long>(in.negated),
                  static_cast<unsigned long long>(in.skipped), static_cast<unsigned long long>(in.bad_rows));
    }
  }
  return 0;
}

int RunStats(const std::string& dir, bool json) {
  auto store = kg::KgStore::Open(dir);
  const kg::KgMetadata& m = store->metadata();
  if (json) {
    std::cout << kg::MetadataToJson(m).dump(2) << "\n";
    return 0;
  }
  std::printf("KG %s (format %d, relations %s, built %s)\n", dir.c_str(), m.format_version,
              m.relation_schema.c_str(), m.built_at.c_str());
  std::printf("concepts: %llu\nedges: %llu\nnegated edges: %llu\nrelations: %zu\n",
              static_cast<unsigned long long>(m.concepts), static_cast<unsigned long long>(m.edges),
              static_cast<unsigned long long>(m.negated_edges), m.relation_counts.size());
  std::vector<std::pair<uint64_t, std::string>> rels;
  for (const auto& [name, count] : m.relation_counts) rels.push_back({count, name});
  std::sort(rels.rbegin(), rels.rend());
  for (const auto& [count, name] : rels) std::printf("  %-24s %llu\n", name.c_str(), static_cast<unsigned long long>(count));
  std::printf("inputs:\n");
  for (const kg::InputInfo& in : m.inputs) {
    std::printf("  %s [%s] sha256 %.16s…: %llu assertions, %llu bad rows\n", in.path.c_str(), in.format.c_str(),
                in.sha256.c_str(), static_cast<unsigned long long>(in.assertions),
                static_cast<unsigned long long>(in.bad_rows));
  }
  return 0;
}

struct NeighborFlags {
  std::string kg;
  std::string concept_name;
  std::string relation;
  std::string direction = "both";
  size_t limit = 20;
  bool json = false;
};

int RunNeighbors(const NeighborFlags& f) {
  auto store = kg::KgStore::Open(f.kg);
  std::string name = kg::NormalizeConcept(f.concept_name);
  std::optional<kg::ConceptId> id = store->FindConcept(name);
  if (!id) throw NotFound("concept '" + name + "' is not in the KG at " + f.kg);
  std::optional<kg::RelationId> rel;
  if (!f.relation.empty()) {
    std::optional<std::string> canonical = kg::CanonicalRelation(f.relation);
    if (canonical) rel = store->FindRelation(*canonical);
    if (!rel) {
      std::string known;
      for (const auto& r : store->relations()) known += (known.empty() ? "" : ", ") + r;
      throw InvalidArgument("relation '" + f.relation + "' is not in the KG (it has: " + known + ")");
    }
  }
  kg::Direction dir = f.direction == "out" ? kg::Direction::kOut
                      : f.direction == "in" ? kg::Direction::kIn
                                            : kg::Direction::kBoth;
  std::vector<kg::Neighbor> ns = store->Neighbors(*id, rel, dir, f.limit);
  if (f.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : ns) {
      arr.push_back({{"concept", n.name},
                     {"relation", store->relations()[n.relation]},
                     {"direction", n.direction == kg::Direction::kOut ? "out" : "in"},
                     {"weight", n.weight}});
    }
    std::cout << nlohmann::json{{"concept", name}, {"neighbors", arr}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& n : ns) {
    const std::string& r = store->relations()[n.relation];
    if (n.direction == kg::Direction::kOut) {
      std::printf("%s -%s-> %s  (%.3g)\n", name.c_str(), r.c_str(), n.name.c_str(), n.weight);
    } else {
      std::printf("%s <-%s- %s  (%.3g)\n", name.c_str(), r.c_str(), n.name.c_str(), n.weight);
    }
  }
  if (ns.empty()) std::printf("%s has no neighbours%s\n", name.c_str(), rel ? " by that relation" : "");
  return 0;
}

int RunExport(const std::string& dir) {
  auto store = kg::KgStore::Open(dir);
  kg::Graph g = store->LoadGraph();
  std::string line;
  std::printf("# spade kg export of %s: head\trelation\ttail\tweight (negative weight = negated)\n", dir.c_str());
  char w[32];
  auto emit = [&](const kg::Triple& t, float sign) {
    std::snprintf(w, sizeof w, "%.9g", static_cast<double>(sign * t.weight));
    line = g.concept_name(t.head);
    line += '\t';
    line += g.relation_name(t.relation);
    line += '\t';
    line += g.concept_name(t.tail);
    line += '\t';
    line += w;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  };
  for (const kg::Triple& t : g.triples()) emit(t, 1.0f);
  for (const kg::Triple& t : store->NegatedTriples()) emit(t, -1.0f);
  if (std::fflush(stdout) != 0) throw IOError("writing to standard output failed");
  return 0;
}

}  // namespace

void RegisterKgCommands(CLI::App& app, int* rc) {
  CLI::App* kg = app.add_subcommand("kg", "Build and inspect the knowledge graph");
  kg->require_subcommand(1);

  auto build_flags = std::make_shared<BuildFlags>();
  CLI::App* build = kg->add_subcommand("build", "Build a KG store from triples files (replaces --out atomically)");
  build->add_option("--out", build_flags->out, "Store directory to create or replace")->default_val(DefaultKgDir());
  build->add_option("--format", build_flags->format,
                    "Input format: auto, conceptnet5, conceptnet100k (kagnet), conceptnet4, tsv, wordnet")
      ->capture_default_str();
  build->add_option("--relations", build_flags->relations, "Relation schema: full or kagnet17")
      ->check(CLI::IsMember({"full", "kagnet17"}))
      ->capture_default_str();
  build->add_option("--merge-file", build_flags->merge_file, "KagNet merge_relation.txt for --relations kagnet17")
      ->capture_default_str();
  build->add_option("--lang", build_flags->languages, "ConceptNet 5 languages to keep (or 'all')")
      ->delimiter(',')
      ->capture_default_str();
  build->add_flag("--strict", build_flags->strict, "Stop at the first malformed row");
  build->add_option("--threads", build_flags->threads, "Parser threads")->check(CLI::Range(1, 64))->capture_default_str();
  build->add_flag("--quiet", build_flags->quiet, "Print nothing on success");
  build->add_flag("--verbose", build_flags->verbose, "Print each phase with its start time");
  build->add_option("INPUT", build_flags->inputs, "Triples files (.csv, .tsv, .txt, optionally .gz) or a WordNet dir")
      ->required();
  build->callback([build_flags, rc] { *rc = RunBuild(*build_flags); });

  auto kg_dir = std::make_shared<std::string>(DefaultKgDir());
  auto json = std::make_shared<bool>(false);
  CLI::App* stats = kg->add_subcommand("stats", "Counts of concepts, edges and relations, and the build's inputs");
  stats->add_option("--kg", *kg_dir, "KG directory")->capture_default_str();
  stats->add_flag("--json", *json, "Print JSON");
  stats->callback([kg_dir, json, rc] { *rc = RunStats(*kg_dir, *json); });

  auto nf = std::make_shared<NeighborFlags>();
  nf->kg = DefaultKgDir();
  CLI::App* neighbors = kg->add_subcommand("neighbors", "A concept's neighbours, by relation");
  neighbors->add_option("--kg", nf->kg, "KG directory")->capture_default_str();
  neighbors->add_option("CONCEPT", nf->concept_name, "Concept (any case; spaces or underscores)")->required();
  neighbors->add_option("--relation", nf->relation, "Only this relation (e.g. UsedFor)");
  neighbors->add_option("--direction", nf->direction, "out, in or both")
      ->check(CLI::IsMember({"out", "in", "both"}))
      ->capture_default_str();
  neighbors->add_option("--limit", nf->limit, "At most this many (0 = all)")->capture_default_str();
  neighbors->add_flag("--json", nf->json, "Print JSON");
  neighbors->callback([nf, rc] { *rc = RunNeighbors(*nf); });

  auto export_dir = std::make_shared<std::string>(DefaultKgDir());
  CLI::App* exp = kg->add_subcommand("export", "Write the KG as TSV triples to standard output");
  exp->add_option("--kg", *export_dir, "KG directory")->capture_default_str();
  exp->callback([export_dir, rc] { *rc = RunExport(*export_dir); });
}

}  // namespace spade::tools
