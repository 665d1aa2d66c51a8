// KG triples as English sentences for the pretraining corpus, with ConceptNet-style
// templates ("a shovel is used for digging", "a dog is a type of animal"): one template per
// relation of the full ConceptNet/WordNet schema (kg/relations.h spelling), concept names with
// '_' read as spaces, "a"/"an" put before a head (and some tails) in a noun slot unless the
// name already starts with a determiner or looks plural. The article is a heuristic: mass
// nouns get one too ("a water"); ConceptNet's own surface texts were written by people.
//
// Only positive edges are verbalised (negated assertions stay out of the corpus), and
// relations without a template (e.g. ConceptNet 5's dbpedia/...) are counted and skipped.
// Thread-safety: pure functions over an immutable Graph.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/corpus/reader.h"
#include "kg/graph.h"

namespace spade::kg {

// "Shovel", "UsedFor", "dig" -> "A shovel is used for dig." (first letter upper-cased, full
// stop added). nullopt for a relation without a template.
std::optional<std::string> VerbalizeTriple(std::string_view head, std::string_view relation, std::string_view tail);

struct VerbalizeStats {
  uint64_t documents = 0;  // head concepts with at least one verbalised edge
  uint64_t sentences = 0;
  uint64_t unverbalised = 0;  // edges whose relation has no template
  std::map<std::string, uint64_t> unverbalised_relations;
};

// One document per head concept, its out-edges in (relation, tail) order. `on_progress`
// gets (concepts done, concepts in all) now and then.
VerbalizeStats VerbalizeGraph(const Graph& graph, const std::function<void(data::corpus::Document&&)>& sink,
                              const std::function<void(uint64_t, uint64_t)>& on_progress = {});

// The corpus builder's reader for "kg:DIR" sources (data::corpus::CorpusCallbacks::read_kg):
// opens the store, verbalises it into ctx and sets *sha256 to the sha256 of the store's
// metadata (which lists its own inputs' sha256s). Throws spade::Error as KgStore::Open does.
void ReadKgCorpusSource(const std::string& dir, data::corpus::ReadContext& ctx, std::string* sha256);

}  // namespace spade::kg
