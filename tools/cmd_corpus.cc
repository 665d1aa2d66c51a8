// `spade corpus build`: the pretraining corpus (train/held-out text, manifest, tokenizers).
#include <chrono>
#include <cstdio>
#include <memory>

#include "data/corpus/build.h"
#include "fusion/corpus_pipeline.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace spade::tools {
namespace {

constexpr int kMaxPrintedBadLines = 20;

struct CorpusBuildFlags {
  std::string out;
  std::string format = "auto";
  double heldout = 0.01;
  uint64_t seed = 0;
  std::vector<std::string> tokenizers = {"wordpiece", "sentencepiece", "bpe"};
  int vocab_size = 8192;
  uint64_t merge_max_types = 20000;
  uint64_t sentencepiece_sample = 1000000;
  std::string kg;
  bool strict = false;
  bool quiet = false;
  bool verbose = false;
  std::vector<std::string> sources;
};

unsigned long long U(uint64_t v) { return static_cast<unsigned long long>(v); }

int RunCorpusBuild(const CorpusBuildFlags& f) {
  fusion::CorpusPipelineOptions o;
  o.corpus.out = f.out;
  data::corpus::SourceFormat format = data::corpus::ParseFormat(f.format);
  for (const std::string& s : f.sources) o.corpus.sources.push_back({s, format});
  if (!f.kg.empty()) o.corpus.sources.push_back({"kg:" + f.kg, data::corpus::SourceFormat::kKg});
  o.corpus.heldout_fraction = f.heldout;
  o.corpus.seed = f.seed;
  o.corpus.strict = f.strict;
  o.tokenizers = f.tokenizers;
  if (o.tokenizers.size() == 1 && o.tokenizers[0] == "none") o.tokenizers.clear();
  o.vocab_size = f.vocab_size;
  o.merge_max_types = f.merge_max_types;
  o.sentencepiece_sample_sentences = f.sentencepiece_sample;

  Progress progress;
  uint64_t bad = 0;
  data::corpus::CorpusCallbacks cb;
  cb.on_bad_line = [&](const std::string& where, const std::string& reason) {
    if (bad++ < kMaxPrintedBadLines) {
      progress.Finish();
      std::fprintf(stderr, "spade: warning: %s: %s (skipped)\n", where.c_str(), reason.c_str());
    }
  };
  cb.on_progress = [&](const std::string& path, uint64_t done, uint64_t total, uint64_t sentences) {
    progress.Update(path, done, total, sentences, "sentences");
  };
  auto start = std::chrono::steady_clock::now();
  cb.on_phase = [&](const std::string& phase) {
    progress.Finish();
    if ((progress.enabled() && !f.quiet) || f.verbose) {
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "[%6.1fs] %s\n", t, phase.c_str());
    }
  };
  data::corpus::CorpusManifest m = fusion::BuildCorpus(o, cb);
  progress.Finish();
  if (bad > static_cast<uint64_t>(kMaxPrintedBadLines)) {
    std::fprintf(stderr, "spade: warning: %llu more skipped lines not shown\n", U(bad - kMaxPrintedBadLines));
  }
  if (f.quiet) return 0;
  std::printf("built %s: %llu documents, %llu sentences, %llu words (train %llu words, held-out %llu), %.1f s\n",
              f.out.c_str(), U(m.train.documents + m.heldout.documents), U(m.train.sentences + m.heldout.sentences),
              U(m.train.words + m.heldout.words), U(m.train.words), U(m.heldout.words), m.build_seconds);
  for (const data::corpus::SourceStats& s : m.sources) {
    std::printf(
        "  %s [%s]: %llu documents, %llu sentences, %llu words; %llu skipped lines, %llu filtered, "
        "%llu duplicates\n",
        s.path.c_str(), s.format.c_str(), U(s.documents), U(s.sentences), U(s.words), U(s.skipped_lines), U(s.filtered),
        U(s.duplicates));
  }
  for (const data::corpus::TokenizerInfo& t : m.tokenizers) {
    std::printf("  tokenizer %s: %s, vocabulary %d, %llu sentences, %.1f s\n", t.name.c_str(), t.dir.c_str(),
                t.vocab_size, U(t.trained_on_sentences), t.seconds);
  }
  return 0;
}

}  // namespace

void RegisterCorpusCommands(CLI::App& app, int* rc) {
  CLI::App* corpus = app.add_subcommand("corpus", "Build the pretraining text corpus");
  corpus->require_subcommand(1);
  auto f = std::make_shared<CorpusBuildFlags>();
  f->out = SpadeHome() + "/corpus";
  CLI::App* build = corpus->add_subcommand(
      "build",
      "Clean, de-duplicate and split text sources into DIR/{train,heldout}.txt, write manifest.json and "
      "train tokenizers (replaces --out atomically)");
  build->add_option("--out", f->out, "Corpus directory to create or replace")->capture_default_str();
  build
      ->add_option("--format", f->format,
                   "Format of every SOURCE: auto, genericskb, wordnet, gcide, brown, nlp-corpus, text, mcq, openbook, "
                   "siqa")
      ->capture_default_str();
  build->add_option("--heldout", f->heldout, "Share of documents held out")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  build->add_option("--seed", f->seed, "Seed of the held-out split and the tokenizer sample")->capture_default_str();
  build->add_option("--tokenizers", f->tokenizers, "Tokenizers to train: wordpiece, sentencepiece, bpe, or none")
      ->delimiter(',')
      ->check(CLI::IsMember({"wordpiece", "sentencepiece", "bpe", "none"}))
      ->capture_default_str();
  build->add_option("--vocab-size", f->vocab_size, "Vocabulary size of each tokenizer")
      ->check(CLI::Range(300, 1000000))
      ->capture_default_str();
  build
      ->add_option("--tokenizer-words", f->merge_max_types,
                   "Most frequent distinct words WordPiece and BPE train on (0 = all; their time grows with it)")
      ->capture_default_str();
  build->add_option("--sentencepiece-sample", f->sentencepiece_sample, "Train sentences sampled for SentencePiece")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  build->add_option("--kg", f->kg, "A `spade kg` store to verbalise as a source (kg:DIR)");
  build->add_flag("--strict", f->strict, "Stop at the first invalid line");
  build->add_flag("--quiet", f->quiet, "Print nothing on success");
  build->add_flag("--verbose", f->verbose, "Print each phase with its start time");
  build->add_option("SOURCE", f->sources, "Text sources: files, WordNet's directory, tarballs, or kg:DIR");
  build->callback([f, rc] { *rc = RunCorpusBuild(*f); });
}

}  // namespace spade::tools
