#include "kg/store.h"

#include <filesystem>

#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include "data/error.h"
#include "kg/keys.h"
#include "kg/rocksdb_status.h"
#include "kg/metadata_json.h"

namespace spade::kg {
namespace {

// Readers must not write RocksDB's LOG into the store (it may be read-only, or shared).
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

}  // namespace

KgStore::~KgStore() = default;

std::unique_ptr<KgStore> KgStore::Open(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw NotFound(dir + ": no such KG directory (build one with `spade kg build`)");
  if (!fs::is_directory(dir, ec)) throw Corruption(dir + ": is not a Spade KG (not a directory)");
  if (!fs::exists(fs::path(dir) / "CURRENT", ec)) {
    throw Corruption(dir + ": is not a Spade KG (no RocksDB database in it)");
  }
  rocksdb::Options options;
  options.create_if_missing = false;
  options.info_log = std::make_shared<NullLogger>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, dir, &raw);
  if (!s.ok()) throw Corruption(dir + ": is not a readable Spade KG: " + s.ToString());
  std::unique_ptr<KgStore> store(new KgStore());
  store->dir_ = dir;
  store->db_.reset(raw);
  std::string value;
  s = raw->Get(rocksdb::ReadOptions(), std::string(keys::kMagicKey), &value);
  if (!s.ok() || value != keys::kMagic) throw Corruption(dir + ": is a RocksDB database but not a Spade KG");
  s = raw->Get(rocksdb::ReadOptions(), std::string(keys::kVersionKey), &value);
  if (!s.ok()) throw Corruption(dir + ": Spade KG without a format version");
  if (value != std::to_string(kFormatVersion)) {
    throw Error(ErrorCode::kFormatVersion, dir + ": KG format version " + value + ", but this spade reads version " +
                                               std::to_string(kFormatVersion) + "; rebuild it with `spade kg build`");
  }
  s = raw->Get(rocksdb::ReadOptions(), std::string(keys::kMetadataKey), &value);
  if (!s.ok()) throw Corruption(dir + ": Spade KG without metadata");
  nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Corruption(dir + ": KG metadata is not valid JSON");
  store->meta_ = MetadataFromJson(j);
  std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, keys::kRelation)); it->Valid() && it->key()[0] == keys::kRelation; it->Next()) {
    store->relations_.push_back(it->value().ToString());
  }
  CheckRocks(it->status(), dir + ": reading relations");
  return store;
}

std::optional<RelationId> KgStore::FindRelation(std::string_view name) const {
  for (size_t r = 0; r < relations_.size(); ++r) {
    if (relations_[r] == name) return static_cast<RelationId>(r);
  }
  return std::nullopt;
}

std::optional<ConceptId> KgStore::FindConcept(std::string_view name) const {
  std::string key(1, keys::kConceptByName);
  key += name;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  CheckRocks(s, dir_ + ": concept lookup");
  if (value.size() != 4) throw Corruption(dir_ + ": bad id for concept '" + std::string(name) + "'");
  return keys::GetU32(value.data());
}

std::string KgStore::ConceptName(ConceptId id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keys::IdKey(keys::kConceptById, id), &value);
  if (s.IsNotFound()) throw NotFound(dir_ + ": no concept with id " + std::to_string(id));
  CheckRocks(s, dir_ + ": concept name lookup");
  return value;
}

std::vector<Neighbor> KgStore::Neighbors(ConceptId id, std::optional<RelationId> relation, Direction direction,
                                         size_t limit) const {
  std::vector<Neighbor> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (Direction d : {Direction::kOut, Direction::kIn}) {
    if (direction != Direction::kBoth && direction != d) continue;
    std::string prefix = keys::IdKey(d == Direction::kOut ? keys::kOut : keys::kIn, id);
    if (relation) keys::PutU16(&prefix, *relation);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (limit != 0 && out.size() >= limit) break;
      rocksdb::Slice k = it->key();
      if (k.size() != 11) throw Corruption(dir_ + ": bad adjacency key");
      Neighbor n;
      n.relation = keys::GetU16(k.data() + 5);
      n.concept_id = keys::GetU32(k.data() + 7);
      n.direction = d;
      n.weight = keys::DecodeWeight(std::string_view(it->value().data(), it->value().size()));
      out.push_back(std::move(n));
    }
    CheckRocks(it->status(), dir_ + ": neighbour scan");
  }
  for (Neighbor& n : out) n.name = ConceptName(n.concept_id);
  return out;
}

Graph KgStore::LoadGraph() const {
  std::vector<std::string> names;
  names.reserve(meta_.concepts);
  std::vector<Triple> triples;
  triples.reserve(meta_.edges);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, keys::kConceptById)); it->Valid() && it->key()[0] == keys::kConceptById; it->Next()) {
    if (keys::GetU32(it->key().data() + 1) != names.size()) throw Corruption(dir_ + ": concept ids are not dense");
    names.push_back(it->value().ToString());
  }
  for (it->Seek(std::string(1, keys::kOut)); it->Valid() && it->key()[0] == keys::kOut; it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != 11) throw Corruption(dir_ + ": bad adjacency key");
    triples.push_back({keys::GetU32(k.data() + 1), keys::GetU16(k.data() + 5), keys::GetU32(k.data() + 7),
                       keys::DecodeWeight(std::string_view(it->value().data(), it->value().size()))});
  }
  CheckRocks(it->status(), dir_ + ": loading graph");
  return Graph::FromTriples(std::move(names), relations_, std::move(triples));
}

std::vector<Triple> KgStore::NegatedTriples() const {
  std::vector<Triple> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, keys::kNegated)); it->Valid() && it->key()[0] == keys::kNegated; it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != 11) throw Corruption(dir_ + ": bad negated key");
    out.push_back({keys::GetU32(k.data() + 1), keys::GetU16(k.data() + 5), keys::GetU32(k.data() + 7),
                   keys::DecodeWeight(std::string_view(it->value().data(), it->value().size()))});
  }
  CheckRocks(it->status(), dir_ + ": reading negated assertions");
  return out;
}

std::optional<std::string> KgStore::ReadBlob(std::string_view name) const {
  std::string key(1, keys::kBlob);
  key += name;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  CheckRocks(s, dir_ + ": reading blob '" + std::string(name) + "'");
  return value;
}

void KgStore::WriteBlob(const std::string& dir, std::string_view name, std::string_view bytes) {
  Open(dir);  // validates that `dir` is a Spade KG of this format version
  rocksdb::Options options;
  options.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  CheckRocks(rocksdb::DB::Open(options, dir, &raw), dir + ": opening KG for writing");
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string key(1, keys::kBlob);
  key += name;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  CheckRocks(db->Put(wo, key, rocksdb::Slice(bytes.data(), bytes.size())), dir + ": writing blob '" + std::string(name) + "'");
  CheckRocks(db->Close(), dir + ": closing KG");
}

}  // namespace spade::kg
