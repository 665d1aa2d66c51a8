// `spade ask` and `spade eval`: answer multiple-choice questions with one of three scorers
// (fusion/answer.h) — a trained QA model (`model`), the KG-only scorer (`kg`) or a causal
// LM by likelihood (`lm`) — and explain or evaluate the answers.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq.h"
#include "data/mcq_formats.h"
#include "encoder/error.h"
#include "encoder/threads.h"
#include "fusion/answer.h"
#include "fusion/qa_model_io.h"
#include "fusion/qa_train.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "retrieval/lemmatizer.h"
#include "retrieval/paths.h"
#include "tools/commands.h"
#include "tools/knowledge.h"

namespace spade::tools {
namespace {

using nlohmann::ordered_json;

std::string DefaultQaModel() { return std::string(SPADE_DATA_DIR) + "/models/qa"; }
std::string DefaultLm() { return std::string(SPADE_DATA_DIR) + "/models/clm"; }

struct ScorerFlags {
  std::string kg;
  std::string scorer;  // "" = model when the default QA model exists, else kg
  std::string model;   // "" = the scorer's default directory
  std::string weights = DefaultScorerWeights();
  int shots = 0;
  std::string train;   // lm demonstrations
  std::string norm = "mean";
  uint64_t seed = 1;
};

struct AskFlags : ScorerFlags {
  std::string question;
  std::string choices;
  std::string question_concept;
  size_t show_paths = 3;
  bool json = false;
};

struct EvalFlags : ScorerFlags {
  std::string data;
  std::string format;  // "" = detect
  std::string labels;
  std::string predictions;
  int threads = 2;
  size_t limit = 0;
  bool json = false;
};

// The scorer to use: the flag, or `model` when a default QA model ships, else `kg` (said
// on stderr, so a reader of the numbers knows which scorer made them). *defaulted is set
// when the flag was not given.
std::string ResolveScorer(const ScorerFlags& f, const char* command, bool* defaulted) {
  *defaulted = f.scorer.empty();
  if (!f.scorer.empty()) {
    if (f.scorer != "model" && f.scorer != "kg" && f.scorer != "lm") {
      throw InvalidArgument("--scorer '" + f.scorer + "': expected model, kg or lm");
    }
    return f.scorer;
  }
  const std::string meta = DefaultQaModel() + "/spade.json";
  const bool have_model = std::filesystem::exists(meta);
  const std::string s = have_model ? "model" : "kg";
  std::fprintf(stderr, "spade %s: using --scorer %s (%s %s)\n", command, s.c_str(),
               have_model ? "the QA model at" : "no QA model at", DefaultQaModel().c_str());
  return s;
}

// The KG side, loaded once (tools/knowledge.h); outlives the scorer built on it.
std::unique_ptr<LoadedKg> LoadKnowledge(const ScorerFlags& f, bool identity) {
  KgLoadOptions o;
  o.weights = f.weights;
  o.identity = identity;
  return LoadKg(f.kg, o);
}

std::vector<data::McqItem> ReadPool(const std::string& path) { return data::ReadMcqFile(path); }

struct Built {
  std::unique_ptr<LoadedKg> knowledge;  // null for lm
  std::unique_ptr<fusion::Scorer> scorer;
  std::string model_dir;                 // model, lm
};

// A defaulted `model` whose KG contract the KG in use breaks (another KG, other vectors: a
// kInvalidArgument from LoadQaModel) falls back to `kg`, saying why; an explicit
// --scorer model keeps the error.
Built BuildScorer(const ScorerFlags& f, const std::string& scorer, bool defaulted, const char* command) {
  if (scorer != "lm" && (f.shots != 0 || !f.train.empty())) {
    throw InvalidArgument("--shots and --train are for --scorer lm");
  }
  if (scorer == "kg" && !f.model.empty()) throw InvalidArgument("--model is for --scorer model or lm");
  // One question's forward pass multiplies matrices of a few dozen rows: a math thread pool
  // only synchronises, and on a busy machine its spinning threads starve (measured: 2.6 vs
  // 50 questions/s while two other jobs ran). Parallelism comes from the evidence threads.
  encoder::SetNumThreads(1);
  Built b;
  if (scorer == "lm") {
    if (f.shots < 0) throw InvalidArgument("--shots must be >= 0");
    if (f.shots > 0 && f.train.empty()) {
      throw InvalidArgument(std::string("--shots ").append(std::to_string(f.shots))
                                .append(" needs --train FILE to draw demonstrations from"));
    }
    fusion::LmScorerOptions o;
    o.model_dir = b.model_dir = f.model.empty() ? DefaultLm() : f.model;
    o.shots = f.shots;
    o.norm = encoder::ParseChoiceNorm(f.norm);
    o.seed = f.seed;
    if (f.shots > 0) o.pool = ReadPool(f.train);
    b.scorer = std::make_unique<fusion::LmScorer>(std::move(o));
    return b;
  }
  b.knowledge = LoadKnowledge(f, /*identity=*/scorer == "model");
  if (scorer == "kg") {
    b.scorer = std::make_unique<fusion::KgOnlyScorer>(b.knowledge->qa);
  } else {
    b.model_dir = f.model.empty() ? DefaultQaModel() : f.model;
    try {
      b.scorer = std::make_unique<fusion::ModelScorer>(b.model_dir, b.knowledge->qa);
    } catch (const encoder::Error& e) {
      if (!defaulted || e.code() != encoder::ErrorCode::kInvalidArgument) throw;
      std::fprintf(stderr, "spade %s: the default QA model does not fit the KG at %s; using --scorer kg (%s)\n",
                   command, f.kg.c_str(), e.what());
      b.model_dir.clear();
      b.scorer = std::make_unique<fusion::KgOnlyScorer>(b.knowledge->qa);
    }
  }
  return b;
}

void AddScorerFlags(CLI::App* c, ScorerFlags* f) {
  c->add_option("--kg", f->kg, "KG directory (scorers model and kg)")->capture_default_str();
  c->add_option("--scorer", f->scorer,
                "model (a trained QA model), kg (the KG-only scorer) or lm (a causal LM by likelihood); default "
                "model when data/models/qa holds one, else kg")
      ->check(CLI::IsMember({"model", "kg", "lm"}));
  c->add_option("--model", f->model, "QA model directory (--scorer model; default data/models/qa) or GPT-2 "
                                     "directory (--scorer lm; default data/models/clm)");
  c->add_option("--scorer-weights", f->weights, "KG scorer weights (JSON)")->capture_default_str();
  c->add_option("--shots", f->shots, "--scorer lm: demonstrations before each question (0 = zero-shot)");
  c->add_option("--train", f->train, "--scorer lm: labelled questions to draw demonstrations from");
  c->add_option("--norm", f->norm, "--scorer lm: choice score sum, mean (per token) or unconditional")
      ->check(CLI::IsMember({"sum", "mean", "unconditional"}))
      ->capture_default_str();
  c->add_option("--seed", f->seed, "--scorer lm: seed for drawing demonstrations")->capture_default_str();
}

// ---- spade ask ----

data::McqItem ItemFromFlags(const AskFlags& f) {
  data::McqItem item;
  item.id = "cli";
  item.stem = f.question;
  item.question_concept = f.question_concept;
  item.source = "--choices";
  size_t start = 0;
  while (true) {
    const size_t bar = f.choices.find('|', start);
    std::string text = f.choices.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    const size_t b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
    text = b == std::string::npos ? "" : text.substr(b, e - b + 1);
    item.choices.push_back({std::string(1, static_cast<char>('A' + item.choices.size() % 26)), text});
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return item;
}

void PrintAnswer(const fusion::AnswerResult& r, size_t show_paths) {
  if (r.grounded) {
    std::printf("question concepts:");
    for (const auto& c : r.stem_concepts) std::printf(" %s", c.c_str());
    if (r.no_question_concept) std::printf(" (none: the KG knows none of the question's words)");
    std::printf("\n");
  } else {
    std::printf("prompt (%d-shot%s):\n%s\n\n", r.shots_used, r.truncated ? ", shortened to fit" : "", r.prompt.c_str());
  }
  std::vector<size_t> order(r.choices.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return r.choices[a].score > r.choices[b].score; });
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const auto& c = r.choices[order[rank]];
    if (r.grounded) {
      std::printf("%zu. %-24s p=%.3f  score=%+.3f  paths=%zu%s\n", rank + 1, c.text.c_str(), c.probability, c.score,
                  c.num_paths, c.answer_concepts.empty() ? "  (not in the KG)" : "");
    } else {
      std::printf("%zu. %-24s p=%.3f  score=%+.3f  logprob=%.3f  tokens=%d\n", rank + 1, c.text.c_str(),
                  c.probability, c.score, c.logprob, c.tokens);
    }
  }
  const auto& best = r.answer();
  std::printf("answer: %s\n", best.text.c_str());
  if (!r.grounded) return;
  if (best.paths.empty()) {
    std::printf("no path links the question to it within %d hops\n", 3);
  } else {
    std::printf("because:\n");
    for (size_t i = 0; i < best.paths.size() && i < show_paths; ++i) {
      if (best.paths[i].attention >= 0) {
        std::printf("  %s  (attention %.3f)\n", best.paths[i].text.c_str(), best.paths[i].attention);
      } else {
        std::printf("  %s\n", best.paths[i].text.c_str());
      }
    }
  }
  if (!best.attended.empty()) {
    std::printf("attended entities:");
    for (const auto& e : best.attended) std::printf(" %s (%.3f)", e.concept_name.c_str(), e.weight);
    std::printf("\n");
  }
}

int RunAsk(const AskFlags& f) {
  data::McqItem item = ItemFromFlags(f);
  data::ValidateMcqItem(item, "spade ask");  // before the (slower) loads
  bool defaulted = false;
  const std::string scorer = ResolveScorer(f, "ask", &defaulted);
  Built b = BuildScorer(f, scorer, defaulted, "ask");
  const fusion::AnswerResult r = b.scorer->Answer(item);
  if (r.NothingGrounded()) {
    throw NotFound("none of the words of the question or its choices is a concept of the KG at " + f.kg +
                   " (unknown words?)");
  }
  if (f.json) {
    std::cout << fusion::AnswerJson(r, f.show_paths).dump() << "\n";
  } else {
    PrintAnswer(r, f.show_paths);
  }
  return 0;
}

// ---- spade eval ----

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

void WritePredictions(const std::string& path, const std::vector<data::McqItem>& items,
                      const std::vector<fusion::AnswerResult>& results) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp);
  if (!out) throw IOError("cannot write " + tmp);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& r = results[i];
    ordered_json j = {{"id", items[i].id}, {"prediction", r.answer().label}};
    if (!items[i].answer_key.empty()) {
      j["answer_key"] = items[i].answer_key;
      j["correct"] = r.predicted == items[i].answer_index();
    }
    j["choices"] = ordered_json::array();
    for (const auto& c : r.choices) j["choices"].push_back(fusion::ChoiceAnswerJson(c, 3));
    out << j.dump() << "\n";
  }
  out.close();
  if (!out || std::rename(tmp.c_str(), path.c_str()) != 0) throw IOError("cannot write " + path);
}

int RunEval(const EvalFlags& f) {
  data::McqReadOptions ro;
  if (!f.format.empty()) ro.format = data::ParseMcqFormat(f.format);
  ro.labels_path = f.labels;
  const data::McqSource source = data::ResolveMcqSource(f.data, ro);
  std::vector<data::McqItem> items = data::ReadMcqFile(f.data, ro);
  if (f.limit > 0 && items.size() > f.limit) items.resize(f.limit);
  if (items.empty()) throw InvalidArgument(f.data + ": no questions");
  bool defaulted = false;
  const std::string requested = ResolveScorer(f, "eval", &defaulted);
  const auto t0 = std::chrono::steady_clock::now();
  Built b = BuildScorer(f, requested, defaulted, "eval");
  const std::string scorer = b.scorer->name();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool tty = isatty(fileno(stderr));
  const auto t1 = std::chrono::steady_clock::now();
  fusion::AnswerProgress progress;
  double shown = -1;  // when the line was last redrawn (at most 10 times a second)
  if (tty) {
    progress = [&](size_t done, size_t total) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      if (done < total && s - shown < 0.1) return;
      shown = s;
      std::fprintf(stderr, "\rspade eval: %zu/%zu  %.0f s  ETA %.0f s   ", done, total, s,
                   done ? s / done * (total - done) : 0.0);
    };
  }
  const std::vector<fusion::AnswerResult> results = b.scorer->AnswerAll(items, f.threads, progress);
  if (tty) std::fprintf(stderr, "\n");
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (!f.predictions.empty()) WritePredictions(f.predictions, items, results);
  const fusion::AnswerReport rep = fusion::SummarizeAnswers(items, results);
  ordered_json report = {{"accuracy", rep.accuracy()},
                         {"n", rep.n},
                         {"scorer", scorer},
                         {"correct", rep.correct},
                         {"with_answer_key", rep.with_key}};
  if (b.knowledge) {
    report["no_question_concept"] = rep.no_question_concept;
    report["no_answer_concept"] = rep.no_answer_concept;
    report["no_path"] = rep.no_path;
    report["embeddings"] = b.knowledge->transe.has_value();
  }
  report["seconds_per_question"] = {{"mean", run_s / rep.n},
                                    {"p50", Percentile(rep.seconds, 0.5)},
                                    {"p99", Percentile(rep.seconds, 0.99)}};
  report["threads"] = f.threads;
  report["load_seconds"] = load_s;
  report["data"] = f.data;
  report["format"] = std::string(data::McqFormatName(source.format));
  if (b.knowledge) report["kg"] = f.kg;
  if (!b.model_dir.empty()) report["model"] = b.model_dir;
  if (scorer == "lm") {
    report["shots"] = f.shots;
    report["norm"] = f.norm;
    size_t fitted = 0;
    for (const auto& r : results) fitted += r.truncated ? 1 : 0;
    report["fitted"] = fitted;
  }
  std::cout << (f.json ? report.dump() : report.dump(2)) << "\n";
  return 0;
}

}  // namespace

void RegisterAnswerCommands(CLI::App& app, int* rc) {
  auto af = std::make_shared<AskFlags>();
  af->kg = DefaultKgDir();
  CLI::App* ask = app.add_subcommand("ask", "Rank the choices of a question and explain the answer");
  AddScorerFlags(ask, af.get());
  ask->add_option("QUESTION", af->question, "The question")->required();
  ask->add_option("--choices", af->choices, "Choices separated by '|', e.g. \"shovel|spoon|excavator\"")->required();
  ask->add_option("--question-concept", af->question_concept, "The question's main concept, if known");
  ask->add_option("--paths", af->show_paths, "Paths shown for the answer")->capture_default_str();
  ask->add_flag("--json", af->json, "JSON output");
  ask->callback([af, rc] { *rc = RunAsk(*af); });

  auto ef = std::make_shared<EvalFlags>();
  ef->kg = DefaultKgDir();
  CLI::App* eval = app.add_subcommand("eval", "Accuracy on a multiple-choice file (JSON report)");
  AddScorerFlags(eval, ef.get());
  eval->add_option("--data", ef->data, "Questions (.jsonl or .jsonl.gz)")->required();
  eval->add_option("--format", ef->format, "csqa, obqa, siqa or piqa (default: detected from the first line)")
      ->check(CLI::IsMember({"csqa", "obqa", "siqa", "piqa"}));
  eval->add_option("--labels", ef->labels, "Labels file of a siqa/piqa --data (default: found beside it)");
  eval->add_option("--predictions", ef->predictions, "Write one JSON line per question here");
  eval->add_option("--threads", ef->threads, "Worker threads (grounding and paths)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  eval->add_option("--limit", ef->limit, "Only the first N questions (0 = all)");
  eval->add_flag("--json", ef->json, "Compact one-line JSON");
  eval->callback([ef, rc] { *rc = RunEval(*ef); });
}

}  // namespace spade::tools
