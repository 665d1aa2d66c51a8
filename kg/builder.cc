#include "kg/builder.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <unordered_map>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>

#include "data/error.h"
#include "kg/keys.h"
#include "kg/rocksdb_status.h"
#include "kg/metadata_json.h"
#include "kg/relations.h"

namespace spade::kg {
namespace fs = std::filesystem;
namespace {


struct Edge {
  ConceptId head, tail;
  RelationId relation;
  bool negated;
  float weight;
};

// Name -> dense id, open addressing over hashes computed by the parser threads (so the
// serial part only probes). Ids are in first-seen order.
class Interner {
 public:
  Interner() : slots_(1024, 0) {}
  uint32_t Intern(std::string&& name, uint64_t hash) {
    if (2 * (names_.size() + 1) > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      uint32_t slot = slots_[i];
      if (slot == 0) {
        names_.push_back(std::move(name));
        hashes_.push_back(hash);
        slots_[i] = static_cast<uint32_t>(names_.size());
        return slot_id(slots_[i]);
      }
      uint32_t id = slot_id(slot);
      if (hashes_[id] == hash && names_[id] == name) return id;
    }
  }
  uint32_t Intern(std::string&& name) {
    uint64_t h = std::hash<std::string_view>()(name);
    return Intern(std::move(name), h);
  }
  size_t size() const { return names_.size(); }
  const std::string& name(uint32_t id) const { return names_[id]; }

 private:
  static uint32_t slot_id(uint32_t slot) { return slot - 1; }
  void Grow() {
    std::vector<uint32_t> bigger(slots_.size() * 2, 0);
    size_t mask = bigger.size() - 1;
    for (uint32_t id = 0; id < names_.size(); ++id) {
      size_t i = hashes_[id] & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = id + 1;
    }
    slots_.swap(bigger);
  }
  std::vector<uint32_t> slots_;  // 0 = empty, else id + 1
  std::vector<std::string> names_;
  std::vector<uint64_t> hashes_;
};

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Removes temporary directories left by builds that were killed.
void RemoveStaleTemps(const fs::path& out) {
  std::error_code ec;
  fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::string prefix = out.filename().string() + ".tmp-";
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

void SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Puts `tmp` at `out` atomically: exchange with an existing store, or plain rename.
void SwapIntoPlace(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) != 0) {
      throw IOError("cannot swap " + tmp.string() + " into " + out.string() + ": " + std::strerror(errno));
    }
    fs::remove_all(tmp, ec);  // now holds the previous store
  } else if (::rename(tmp.c_str(), out.c_str()) != 0) {
    throw IOError("cannot rename " + tmp.string() + " to " + out.string() + ": " + std::strerror(errno));
  }
  SyncDir(out.parent_path().empty() ? fs::path(".") : out.parent_path());
}

// Refuses to replace a non-empty directory that is not a Spade KG (someone's data).
void CheckReplaceable(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) throw InvalidArgument(out.string() + ": exists and is not a directory");
  if (fs::is_empty(out, ec)) return;
  try {
    KgStore::Open(out.string());
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kFormatVersion) {
      throw InvalidArgument("refusing to replace " + out.string() + ": it is not a Spade KG (" + e.what() + ")");
    }
  }
}

}  // namespace

KgMetadata BuildKg(const BuildOptions& options, const BuildCallbacks& callbacks) {
  auto start = std::chrono::steady_clock::now();
  if (options.out.empty()) throw InvalidArgument("no output directory given");
  if (options.inputs.empty()) throw InvalidArgument("no input files given");
  std::optional<RelationMerge> merge;
  if (options.relations == "kagnet17") {
    merge = RelationMerge::FromFile(options.merge_file);
  } else if (options.relations != "full") {
    throw InvalidArgument("unknown relation schema '" + options.relations + "' (expected full or kagnet17)");
  }
  fs::path out = fs::absolute(options.out).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  CheckReplaceable(out);

  KgMetadata meta;
  meta.relation_schema = options.relations;
  Interner concepts, relations;
  std::vector<Edge> edges;

  for (const BuildInput& input : options.inputs) {
    InputFormat format = input.format == InputFormat::kAuto ? DetectFormat(input.path) : input.format;
    if (callbacks.on_phase) callbacks.on_phase("import " + input.path);
    InputInfo info;
    info.path = input.path;
    info.format = FormatName(format);
    // Hashing the input overlaps with importing it (the reader thread is the bottleneck).
    std::future<std::string> sha = std::async(std::launch::async, [&] { return InputSha256(input.path, format); });
    uint64_t dropped = 0;
    ImportCallbacks cb;
    cb.sink = [&](std::vector<RawAssertion>&& batch) {
      for (RawAssertion& a : batch) {
        bool reverse = false;
        if (merge) {
          auto target = merge->Map(a.relation);
          if (!target) {
            ++dropped;
            continue;
          }
          a.relation = target->relation;
          reverse = target->reverse;
        }
        uint32_t h = a.hashed ? concepts.Intern(std::move(a.head), a.head_hash) : concepts.Intern(std::move(a.head));
        uint32_t t = a.hashed ? concepts.Intern(std::move(a.tail), a.tail_hash) : concepts.Intern(std::move(a.tail));
        if (reverse) std::swap(h, t);
        uint32_t r = relations.Intern(std::move(a.relation));
        if (r > 0xffff) throw InvalidArgument(input.path + ": more than 65536 distinct relations");
        edges.push_back({h, t, static_cast<RelationId>(r), a.negated, a.weight});
      }
    };
    cb.on_bad_row = callbacks.on_bad_row;
    if (callbacks.on_progress) {
      cb.on_progress = [&](uint64_t done, uint64_t total, uint64_t rows) {
        callbacks.on_progress(input.path, done, total, rows);
      };
    }
    ImportStats st = format == InputFormat::kWordNet ? ImportWordNet(input.path, options.import, cb)
                                                     : ImportFile(input.path, format, options.import, cb);
    info.sha256 = sha.get();
    info.rows = st.rows;
    info.bad_rows = st.bad_rows;
    info.skipped = st.skipped + dropped;
    info.assertions = st.assertions;
    info.negated = st.negated;
    meta.inputs.push_back(info);
  }

  if (callbacks.on_phase) callbacks.on_phase("sort");
  // Dense ids in byte order of names, so 'C' and 'I' keys are written in one sorted pass.
  std::vector<uint32_t> order(concepts.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return concepts.name(a) < concepts.name(b); });
  std::vector<uint32_t> concept_id(order.size());
  for (uint32_t i = 0; i < order.size(); ++i) concept_id[order[i]] = i;
  std::vector<uint32_t> rel_order(relations.size());
  for (uint32_t i = 0; i < rel_order.size(); ++i) rel_order[i] = i;
  std::sort(rel_order.begin(), rel_order.end(),
            [&](uint32_t a, uint32_t b) { return relations.name(a) < relations.name(b); });
  std::vector<RelationId> rel_id(rel_order.size());
  for (uint32_t i = 0; i < rel_order.size(); ++i) rel_id[rel_order[i]] = static_cast<RelationId>(i);
  for (Edge& e : edges) {
    e.head = concept_id[e.head];
    e.tail = concept_id[e.tail];
    e.relation = rel_id[e.relation];
  }
  auto by_out = [](const Edge& a, const Edge& b) {
    if (a.negated != b.negated) return a.negated < b.negated;
    if (a.head != b.head) return a.head < b.head;
    if (a.relation != b.relation) return a.relation < b.relation;
    return a.tail < b.tail;
  };
  std::sort(edges.begin(), edges.end(), by_out);
  // Duplicates merge, keeping the largest weight.
  size_t w = 0;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (w > 0 && !by_out(edges[w - 1], edges[i])) {
      edges[w - 1].weight = std::max(edges[w - 1].weight, edges[i].weight);
    } else {
      edges[w++] = edges[i];
    }
  }
  edges.resize(w);
  auto first_negated = std::find_if(edges.begin(), edges.end(), [](const Edge& e) { return e.negated; });
  const size_t positive = static_cast<size_t>(first_negated - edges.begin());

  meta.concepts = concepts.size();
  meta.edges = positive;
  meta.negated_edges = edges.size() - positive;
  for (size_t i = 0; i < positive; ++i) ++meta.relation_counts[relations.name(rel_order[edges[i].relation])];
  meta.built_at = NowIso8601();

  // Three SST files over disjoint key ranges, written in parallel: [C G I M], [N], [O R].
  if (callbacks.on_phase) callbacks.on_phase("write");
  RemoveStaleTemps(out);
  fs::path tmp = out;
  tmp += ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.error_if_exists = true;
    using Put = std::function<void(const std::string&, const std::string&)>;
    auto write_sst = [&db_options](const fs::path& path, const std::function<void(const Put&)>& fill) {
      rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), db_options);
      CheckRocks(writer.Open(path.string()), "open " + path.string());
      fill([&](const std::string& k, const std::string& v) { CheckRocks(writer.Put(k, v), "write " + path.string()); });
      CheckRocks(writer.Finish(), "finish " + path.string());
    };
    const std::vector<fs::path> ssts = {tmp / "names.sst", tmp / "in.sst", tmp / "out.sst"};
    std::future<void> in_file = std::async(std::launch::async, [&] {
      write_sst(ssts[1], [&](const Put& put) {
        std::vector<Edge> in(edges.begin(), edges.begin() + static_cast<std::ptrdiff_t>(positive));
        std::sort(in.begin(), in.end(), [](const Edge& a, const Edge& b) {
          if (a.tail != b.tail) return a.tail < b.tail;
          if (a.relation != b.relation) return a.relation < b.relation;
          return a.head < b.head;
        });
        for (const Edge& e : in) put(keys::EdgeKey(keys::kIn, e.tail, e.relation, e.head), keys::EncodeWeight(e.weight));
      });
    });
    std::future<void> out_file = std::async(std::launch::async, [&] {
      write_sst(ssts[2], [&](const Put& put) {
        for (size_t i = 0; i < positive; ++i) {
          const Edge& e = edges[i];
          put(keys::EdgeKey(keys::kOut, e.head, e.relation, e.tail), keys::EncodeWeight(e.weight));
        }
        std::string key;
        for (uint32_t r = 0; r < rel_order.size(); ++r) {
          key.assign(1, keys::kRelation);
          keys::PutU16(&key, static_cast<uint16_t>(r));
          put(key, relations.name(rel_order[r]));
        }
      });
    });
    try {
      write_sst(ssts[0], [&](const Put& put) {
        std::string key, val;
        for (uint32_t id = 0; id < order.size(); ++id) {
          key.assign(1, keys::kConceptByName);
          key += concepts.name(order[id]);
          val.clear();
          keys::PutU32(&val, id);
          put(key, val);
        }
        for (size_t i = positive; i < edges.size(); ++i) {
          const Edge& e = edges[i];
          put(keys::EdgeKey(keys::kNegated, e.head, e.relation, e.tail), keys::EncodeWeight(e.weight));
        }
        for (uint32_t id = 0; id < order.size(); ++id) put(keys::IdKey(keys::kConceptById, id), concepts.name(order[id]));
        meta.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        put(std::string(keys::kVersionKey), std::to_string(kFormatVersion));
        put(std::string(keys::kMagicKey), std::string(keys::kMagic));
        put(std::string(keys::kMetadataKey), MetadataToJson(meta).dump());
      });
    } catch (...) {
      in_file.wait();
      out_file.wait();
      throw;
    }
    in_file.get();
    out_file.get();
    if (callbacks.on_phase) callbacks.on_phase("ingest");
    fs::path db_path = tmp / "db";
    {
      rocksdb::DB* raw = nullptr;
      CheckRocks(rocksdb::DB::Open(db_options, db_path.string(), &raw), "create " + db_path.string());
      std::unique_ptr<rocksdb::DB> db(raw);
      rocksdb::IngestExternalFileOptions ingest;
      ingest.move_files = true;
      std::vector<std::string> files;
      for (const fs::path& p : ssts) files.push_back(p.string());
      CheckRocks(db->IngestExternalFile(files, ingest), "ingest " + tmp.string());
      CheckRocks(db->Close(), "close " + db_path.string());
    }
    // The store is the RocksDB directory itself; lift it out of the scratch directory.
    fs::path final_tmp = out;
    final_tmp += ".tmp-" + std::to_string(::getpid()) + "-db";
    fs::rename(db_path, final_tmp);
    fs::remove_all(tmp);
    SyncDir(final_tmp);
    try {
      SwapIntoPlace(final_tmp, out);
    } catch (...) {
      fs::remove_all(final_tmp, ec);
      throw;
    }
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return meta;
}

}  // namespace spade::kg
