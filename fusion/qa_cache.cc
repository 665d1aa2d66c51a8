#include "fusion/qa_cache.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/sha256.h"
#include "encoder/error.h"
#include "encoder/safetensors.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

namespace {

constexpr char kMagic[] = "SPADEQAX";
constexpr uint8_t kVersion = 1;

class Writer {
 public:
  template <typename T>
  void Pod(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    s_.append(b, sizeof(T));
  }
  void Str(const std::string& v) {
    Pod<uint32_t>(static_cast<uint32_t>(v.size()));
    s_ += v;
  }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    Pod<uint32_t>(static_cast<uint32_t>(v.size()));
    for (const T& x : v) Pod<T>(x);
  }
  std::string& bytes() { return s_; }

 private:
  std::string s_;
};

// Reads with bounds checks; any overrun throws, and the caller reports "corrupt".
class Reader {
 public:
  Reader(const std::string& s, size_t begin, size_t end) : s_(s), p_(begin), end_(end) {}
  template <typename T>
  T Pod() {
    if (end_ - p_ < sizeof(T)) throw std::out_of_range("truncated");
    T v;
    std::memcpy(&v, s_.data() + p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  uint32_t Count(size_t elem) {
    const uint32_t n = Pod<uint32_t>();
    if (static_cast<size_t>(n) * elem > end_ - p_) throw std::out_of_range("a length beyond the file");
    return n;
  }
  std::string Str() {
    const uint32_t n = Count(1);
    std::string v = s_.substr(p_, n);
    p_ += n;
    return v;
  }
  template <typename T>
  std::vector<T> Vec() {
    const uint32_t n = Count(sizeof(T));
    std::vector<T> v(n);
    for (auto& x : v) x = Pod<T>();
    return v;
  }
  bool done() const { return p_ == end_; }

 private:
  const std::string& s_;
  size_t p_, end_;
};

void HashFile(Sha256* sha, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot read (for the evidence cache key)");
  std::ostringstream ss;
  ss << in.rdbuf();
  sha->Update(ss.str());
}

std::string Hex64(const std::string& bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return sha.HexDigest();
}

}  // namespace

std::string QaCacheKey(const std::string& data_path, const QaKnowledge& kg, const encoder::TextTokenizer& tok,
                       const QaExampleOptions& o) {
  Sha256 sha;
  sha.Update("spade-qa-evidence v1\n");
  HashFile(&sha, data_path);
  sha.Update(kg.identity.names_sha256);
  sha.Update(std::string(reinterpret_cast<const char*>(kg.identity.probe_vectors.data()),
                         kg.identity.probe_vectors.size() * sizeof(float)));
  for (const std::string& f : tok.files) {  // optional files (tokenizer_config.json) may be absent
    sha.Update(f);
    if (std::filesystem::exists(tok.dir + "/" + f)) HashFile(&sha, tok.dir + "/" + f);
  }
  std::ostringstream opts;
  opts.precision(17);
  const retrieval::KgScorerOptions& s = kg.scorer;
  opts << o.max_seq << ' ' << o.max_paths_per_pair << ' ' << o.max_pairs << ' ' << s.paths.max_hops << ' '
       << s.paths.max_paths_per_pair << ' ' << s.paths.min_score << ' ' << s.paths.enumeration_limit << ' '
       << s.max_question_concepts << ' ' << s.max_answer_concepts << ' ' << s.top_paths << ' '
       << s.over_general_transit << ' ' << (kg.transe != nullptr);
  for (const auto* v : {&kg.weights.mean, &kg.weights.scale, &kg.weights.weight}) {
    for (double x : *v) opts << ' ' << x;
  }
  sha.Update(opts.str());
  return sha.HexDigest();
}

void SaveQaExamples(const std::string& path, const std::string& key, const std::vector<QaExample>& examples) {
  Writer w;
  w.bytes().append(kMagic, 8);
  w.Pod<uint8_t>(kVersion);
  w.bytes() += key;
  w.Pod<uint64_t>(examples.size());
  for (const QaExample& e : examples) {
    w.Str(e.id);
    w.Str(e.source);
    w.Pod<int32_t>(e.label);
    w.Pod<uint32_t>(static_cast<uint32_t>(e.choices.size()));
    for (const QaChoice& c : e.choices) {
      w.Vec(c.ids);
      w.Vec(c.type_ids);
      w.Vec(c.entity);
      w.Pod<int32_t>(c.dropped_mentions);
      w.Vec(c.kg_features);
      w.Pod<uint32_t>(static_cast<uint32_t>(c.pairs.size()));
      for (const QaPathPair& p : c.pairs) {
        w.Pod<uint32_t>(p.question);
        w.Pod<uint32_t>(p.answer);
        w.Pod<uint32_t>(static_cast<uint32_t>(p.paths.size()));
        for (const retrieval::Path& path_ : p.paths) {
          std::vector<uint32_t> concepts(path_.concepts.begin(), path_.concepts.end());
          w.Vec(concepts);
          w.Pod<uint32_t>(static_cast<uint32_t>(path_.edges.size()));
          for (const retrieval::PathEdge& ed : path_.edges) {
            w.Pod<uint32_t>(ed.relation);
            w.Pod<uint8_t>(ed.forward ? 1 : 0);
          }
          w.Pod<double>(path_.score);
        }
      }
    }
  }
  const std::string digest = Hex64(w.bytes());
  w.bytes() += digest;
  encoder::WriteFileAtomic(path, w.bytes());
}

std::optional<std::vector<QaExample>> LoadQaExamples(const std::string& path, const std::string& key,
                                                     std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "absent";
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  constexpr size_t kHead = 8 + 1 + 64;
  if (s.size() < kHead + 8 + 64 || s.compare(0, 8, kMagic, 8) != 0) {
    *why = "corrupt: not an evidence cache file";
    return std::nullopt;
  }
  if (static_cast<uint8_t>(s[8]) != kVersion) {
    *why = "stale: format version " + std::to_string(static_cast<int>(static_cast<uint8_t>(s[8])));
    return std::nullopt;
  }
  if (s.compare(9, 64, key) != 0) {
    *why = "stale: built for key " + s.substr(9, 12) + "..., now " + key.substr(0, 12) + "...";
    return std::nullopt;
  }
  if (Hex64(s.substr(0, s.size() - 64)) != s.substr(s.size() - 64)) {
    *why = "corrupt: checksum mismatch";
    return std::nullopt;
  }
  try {
    Reader r2(s, kHead, s.size() - 64);
    std::vector<QaExample> out;
    const uint64_t n = r2.Pod<uint64_t>();
    for (uint64_t i = 0; i < n; ++i) {
      QaExample e;
      e.id = r2.Str();
      e.source = r2.Str();
      e.label = r2.Pod<int32_t>();
      const uint32_t nc = r2.Count(1);
      for (uint32_t c = 0; c < nc; ++c) {
        QaChoice ch;
        ch.ids = r2.Vec<int32_t>();
        ch.type_ids = r2.Vec<int32_t>();
        ch.entity = r2.Vec<int32_t>();
        ch.dropped_mentions = r2.Pod<int32_t>();
        ch.kg_features = r2.Vec<float>();
        const uint32_t np = r2.Count(12);
        for (uint32_t p = 0; p < np; ++p) {
          QaPathPair pair;
          pair.question = r2.Pod<uint32_t>();
          pair.answer = r2.Pod<uint32_t>();
          const uint32_t nk = r2.Count(4);
          for (uint32_t k = 0; k < nk; ++k) {
            retrieval::Path path_;
            for (uint32_t cid : r2.Vec<uint32_t>()) path_.concepts.push_back(static_cast<kg::ConceptId>(cid));
            const uint32_t ne = r2.Count(5);
            for (uint32_t x = 0; x < ne; ++x) {
              retrieval::PathEdge ed;
              ed.relation = static_cast<kg::RelationId>(r2.Pod<uint32_t>());
              ed.forward = r2.Pod<uint8_t>() != 0;
              path_.edges.push_back(ed);
            }
            path_.score = r2.Pod<double>();
            pair.paths.push_back(std::move(path_));
          }
          ch.pairs.push_back(std::move(pair));
        }
        e.choices.push_back(std::move(ch));
      }
      out.push_back(std::move(e));
    }
    if (!r2.done()) throw std::out_of_range("bytes after the last example");
    return out;
  } catch (const std::out_of_range& e) {
    *why = std::string("corrupt: ") + e.what();
    return std::nullopt;
  }
}

std::vector<QaExample> CachedQaExamples(const std::string& data_path, const std::vector<data::McqItem>& items,
                                        const QaKnowledge& kg, const encoder::TextTokenizer& tok,
                                        const QaExampleOptions& options, int threads, const std::string& cache_dir,
                                        std::string* note) {
  if (cache_dir.empty()) {
    if (note) *note = "no cache";
    return BuildQaExamples(items, kg, tok, options, threads);
  }
  const std::string key = QaCacheKey(data_path, kg, tok, options);
  const std::string path = cache_dir + "/" + std::filesystem::path(data_path).filename().string() + "." +
                           key.substr(0, 16) + ".qaex";
  std::string why;
  if (auto cached = LoadQaExamples(path, key, &why); cached && cached->size() == items.size()) {
    if (note) *note = "read " + path;
    return std::move(*cached);
  }
  std::vector<QaExample> built = BuildQaExamples(items, kg, tok, options, threads);
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, cache_dir + ": cannot create the cache directory: " + ec.message());
  SaveQaExamples(path, key, built);
  if (note) *note = (why == "absent" ? "built " : "rebuilt (" + why + ") ") + path;
  return built;
}

}  // namespace spade::fusion
