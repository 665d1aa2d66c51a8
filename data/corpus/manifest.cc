// manifest.json of a corpus: written by BuildCorpus, read back to recognise a corpus
// directory (and by trainers that want the split sizes).
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/corpus/build.h"
#include "data/error.h"

namespace spade::data::corpus {
namespace {

using nlohmann::ordered_json;
constexpr const char* kFormatName = "spade-corpus";

ordered_json SplitToJson(const SplitStats& s) {
  return {
      {"file", s.file}, {"documents", s.documents}, {"sentences", s.sentences}, {"words", s.words}, {"bytes", s.bytes}};
}

SplitStats SplitFromJson(const ordered_json& j) {
  SplitStats s;
  s.file = j.value("file", "");
  s.documents = j.value("documents", uint64_t{0});
  s.sentences = j.value("sentences", uint64_t{0});
  s.words = j.value("words", uint64_t{0});
  s.bytes = j.value("bytes", uint64_t{0});
  return s;
}

}  // namespace

ordered_json ManifestToJson(const CorpusManifest& m) {
  ordered_json j;
  j["format"] = kFormatName;
  j["format_version"] = m.format_version;
  j["built_at"] = m.built_at;
  j["build_seconds"] = m.build_seconds;
  j["heldout_fraction"] = m.heldout_fraction;
  j["seed"] = m.seed;
  j["min_dedup_words"] = m.min_dedup_words;
  j["dedup"] = "sentence-level, corpus-wide, first occurrence kept: sentences of at least " +
               std::to_string(m.min_dedup_words) +
               " words with equal 64-bit hashes of their normalised text (ASCII lower-cased, ASCII punctuation and "
               "spaces removed)";
  j["filters"] =
      "mis-encoded text (U+FFFD, control characters, doubly-encoded UTF-8), slurs, sentences without "
      "letters or digits; nlp-corpus fragments starting in lower case";
  ordered_json sources = ordered_json::array();
  SourceStats total;
  for (const SourceStats& s : m.sources) {
    sources.push_back({{"path", s.path},
                       {"format", s.format},
                       {"sha256", s.sha256},
                       {"documents", s.documents},
                       {"sentences", s.sentences},
                       {"words", s.words},
                       {"skipped_lines", s.skipped_lines},
                       {"invalid_utf8", s.invalid_utf8},
                       {"filtered", s.filtered},
                       {"duplicates", s.duplicates},
                       {"heldout_documents", s.heldout_documents}});
    total.documents += s.documents;
    total.sentences += s.sentences;
    total.words += s.words;
    total.skipped_lines += s.skipped_lines;
    total.invalid_utf8 += s.invalid_utf8;
    total.filtered += s.filtered;
    total.duplicates += s.duplicates;
  }
  j["sources"] = sources;
  j["totals"] = {
      {"documents", total.documents},         {"sentences", total.sentences},       {"words", total.words},
      {"skipped_lines", total.skipped_lines}, {"invalid_utf8", total.invalid_utf8}, {"filtered", total.filtered},
      {"duplicates", total.duplicates}};
  j["splits"] = {{"train", SplitToJson(m.train)}, {"heldout", SplitToJson(m.heldout)}};
  ordered_json toks = ordered_json::array();
  for (const TokenizerInfo& t : m.tokenizers) {
    toks.push_back({{"name", t.name},
                    {"dir", t.dir},
                    {"files", t.files},
                    {"requested_vocab_size", t.requested_vocab_size},
                    {"vocab_size", t.vocab_size},
                    {"trained_on_sentences", t.trained_on_sentences},
                    {"sample", t.sample},
                    {"seconds", t.seconds}});
  }
  j["tokenizers"] = toks;
  return j;
}

CorpusManifest ReadManifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  std::ifstream in(path);
  if (!in) throw NotFound(path + ": cannot open (not a Spade corpus directory)");
  std::stringstream ss;
  ss << in.rdbuf();
  ordered_json j = ordered_json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Corruption(path + ": not valid JSON");
  auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != kFormatName) {
    throw Corruption(path + ": not a Spade corpus manifest");
  }
  CorpusManifest m;
  try {
    m.format_version = j.value("format_version", 0);
    if (m.format_version != kCorpusFormatVersion) {
      throw Error(ErrorCode::kFormatVersion, path + ": corpus format version " + std::to_string(m.format_version) +
                                                 ", this build reads version " + std::to_string(kCorpusFormatVersion) +
                                                 "; rebuild it with spade corpus build");
    }
    m.built_at = j.value("built_at", "");
    m.build_seconds = j.value("build_seconds", 0.0);
    m.heldout_fraction = j.value("heldout_fraction", 0.0);
    m.seed = j.value("seed", uint64_t{0});
    m.min_dedup_words = j.value("min_dedup_words", 0);
    for (const auto& s : j.value("sources", ordered_json::array())) {
      SourceStats st;
      st.path = s.value("path", "");
      st.format = s.value("format", "");
      st.sha256 = s.value("sha256", "");
      st.documents = s.value("documents", uint64_t{0});
      st.sentences = s.value("sentences", uint64_t{0});
      st.words = s.value("words", uint64_t{0});
      st.skipped_lines = s.value("skipped_lines", uint64_t{0});
      st.invalid_utf8 = s.value("invalid_utf8", uint64_t{0});
      st.filtered = s.value("filtered", uint64_t{0});
      st.duplicates = s.value("duplicates", uint64_t{0});
      st.heldout_documents = s.value("heldout_documents", uint64_t{0});
      m.sources.push_back(st);
    }
    if (j.contains("splits")) {
      m.train = SplitFromJson(j["splits"].value("train", ordered_json::object()));
      m.heldout = SplitFromJson(j["splits"].value("heldout", ordered_json::object()));
    }
    for (const auto& t : j.value("tokenizers", ordered_json::array())) {
      TokenizerInfo info;
      info.name = t.value("name", "");
      info.dir = t.value("dir", "");
      info.files = t.value("files", std::vector<std::string>{});
      info.requested_vocab_size = t.value("requested_vocab_size", 0);
      info.vocab_size = t.value("vocab_size", 0);
      info.trained_on_sentences = t.value("trained_on_sentences", uint64_t{0});
      info.sample = t.value("sample", "");
      info.seconds = t.value("seconds", 0.0);
      m.tokenizers.push_back(info);
    }
  } catch (const nlohmann::json::exception&) {
    throw Corruption(path + ": a field has the wrong type");
  }
  return m;
}

}  // namespace spade::data::corpus
