// KgStore: a read-only view of a Spade knowledge graph kept in a RocksDB directory.
// The key/value layout is documented in kg/FORMAT.md; stores are written only by
// kg/builder.h (whole, atomically) and, for named blobs such as embeddings, by WriteBlob.
//
// Thread-safety: all const methods are safe to call concurrently. Several processes may
// open one store at the same time (RocksDB read-only mode takes no lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kg/graph.h"

namespace rocksdb {
class DB;
}

namespace spade::kg {

inline constexpr int kFormatVersion = 1;

struct InputInfo {
  std::string path;
  std::string format;      // "conceptnet5", "conceptnet100k", "conceptnet4", "tsv", "wordnet"
  std::string sha256;      // of the file as read (for WordNet: of its data.* files)
  uint64_t rows = 0;       // data rows read
  uint64_t bad_rows = 0;   // malformed rows reported and skipped
  uint64_t skipped = 0;    // well-formed rows left out by filters (language, self loops)
  uint64_t assertions = 0; // positive assertions it contributed (before de-duplication)
  uint64_t negated = 0;    // negated assertions it contributed
};

struct KgMetadata {
  int format_version = kFormatVersion;
  std::string relation_schema;  // "full" or "kagnet17"
  uint64_t concepts = 0;
  uint64_t edges = 0;          // positive, de-duplicated
  uint64_t negated_edges = 0;  // stored apart, never used as evidence
  std::map<std::string, uint64_t> relation_counts;  // positive edges per relation
  std::vector<InputInfo> inputs;
  std::string built_at;    // ISO 8601 UTC
  double build_seconds = 0;
};

enum class Direction { kOut, kIn, kBoth };

struct Neighbor {
  ConceptId concept_id = 0;
  std::string name;
  RelationId relation = 0;
  Direction direction = Direction::kOut;  // kOut: queried -rel-> neighbor; kIn: neighbor -rel-> queried
  float weight = 0;
};

class KgStore {
 public:
  // Opens `dir` read-only. Throws spade::Error: kNotFound if `dir` does not exist,
  // kCorruption if it is not a Spade KG, kFormatVersion if written by another format version.
  static std::unique_ptr<KgStore> Open(const std::string& dir);
  ~KgStore();

  const std::string& dir() const { return dir_; }
  const KgMetadata& metadata() const { return meta_; }
  const std::vector<std::string>& relations() const { return relations_; }
  std::optional<RelationId> FindRelation(std::string_view name) const;

  // Looks a normalised concept name up; nullopt if absent.
  std::optional<ConceptId> FindConcept(std::string_view name) const;
  // Throws kNotFound for an id that is not in the store.
  std::string ConceptName(ConceptId id) const;

  // One prefix scan per direction; results ordered by (direction, relation, neighbour id).
  // `relation` restricts to one relation; `limit` 0 = all.
  std::vector<Neighbor> Neighbors(ConceptId id, std::optional<RelationId> relation,
                                  Direction direction, size_t limit = 0) const;

  // The whole positive graph in memory (CSR), for traversal.
  Graph LoadGraph() const;
  // Negated assertions, (head, relation, tail) order.
  std::vector<Triple> NegatedTriples() const;

  // Named binary blobs kept in the store (e.g. "transe"): nullopt if absent.
  std::optional<std::string> ReadBlob(std::string_view name) const;
  // Writes a blob into the store at `dir` (opened read-write for the call, synced).
  // Readers that opened the store before see it only after reopening.
  static void WriteBlob(const std::string& dir, std::string_view name, std::string_view bytes);

 private:
  KgStore() = default;
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  KgMetadata meta_;
  std::vector<std::string> relations_;
};

}  // namespace spade::kg
