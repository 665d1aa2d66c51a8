// `spade lm ask` and `spade lm eval`: multiple-choice answering with a GPT-2 model
// directory (config.json, model.safetensors, vocab.json, merges.txt) by likelihood, with
// zero-, one- or few-shot prompts (encoder/prompting.h). Demonstrations come from a
// training file, drawn per question with a fixed seed.
// `spade lm generate`: sampled or greedy continuations of a prompt (encoder/generate.h).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/mcq.h"
#include "encoder/bpe.h"
#include "encoder/generate.h"
#include "encoder/gpt2.h"
#include "encoder/prompting.h"
#include "encoder/threads.h"
#include "tools/commands.h"

namespace spade::tools {
namespace {

namespace enc = spade::encoder;
using ordered_json = nlohmann::ordered_json;

struct LmFlags {
  std::string model;
  std::string train;  // demonstrations pool (jsonl)
  int shots = 0;
  std::string norm = "mean";
  std::string instruction;
  bool list_choices = false;
  uint64_t seed = 1;
  int threads = 0;
  bool json = false;
  // ask
  std::string question;
  std::vector<std::string> choices;
  // eval
  std::string data;
  std::string predictions;
  size_t limit = 0;
};

enc::PromptExample ToExample(const data::McqItem& item) {
  enc::PromptExample e;
  e.question = item.stem;
  for (const auto& c : item.choices) e.choices.push_back(c.text);
  e.answer = item.answer_index();
  return e;
}

struct Loaded {
  std::unique_ptr<enc::Gpt2Model> model;
  enc::ByteLevelBpe bpe;
  std::vector<enc::PromptExample> pool;
};

Loaded Load(const LmFlags& f) {
  if (f.shots < 0) throw Error(ErrorCode::kInvalidArgument, "--shots must be >= 0");
  if (f.shots > 0 && f.train.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--shots " + std::to_string(f.shots) +
                                                 " needs --train FILE to draw demonstrations from");
  }
  enc::SetNumThreads(f.threads);
  Loaded l{enc::LoadGpt2Dir(f.model), enc::ByteLevelBpe::FromModelDir(f.model), {}};
  if (f.shots > 0) {
    const auto items = data::ReadMcqJsonl(f.train);
    for (const auto& item : items) {
      if (item.answer_index() < 0) {
        throw Error(ErrorCode::kInvalidArgument, item.source + ": no answerKey; demonstrations need answers");
      }
      l.pool.push_back(ToExample(item));
    }
    if (static_cast<int>(l.pool.size()) <= f.shots) {
      throw Error(ErrorCode::kInvalidArgument, f.train + ": " + std::to_string(l.pool.size()) +
                                                   " labelled questions; --shots " + std::to_string(f.shots) +
                                                   " needs more");
    }
  }
  return l;
}

enc::PromptFormat Format(const LmFlags& f) {
  enc::PromptFormat p;
  p.instruction = f.instruction;
  p.list_choices = f.list_choices;
  return p;
}

// Demonstrations for the question at `query_index` of --data: drawn anew per question
// (reproducibly, from --seed), never the question itself when --train is the same file.
std::vector<enc::PromptExample> Shots(const Loaded& l, const LmFlags& f, int query_index) {
  std::vector<enc::PromptExample> shots;
  const bool same_file = query_index >= 0 && f.train == f.data;
  const uint64_t seed = f.seed * 1000003u + static_cast<uint64_t>(query_index + 1);
  for (int i : enc::SampleShots(static_cast<int>(l.pool.size()), f.shots, seed, same_file ? query_index : -1)) {
    shots.push_back(l.pool[static_cast<size_t>(i)]);
  }
  return shots;
}

int RunAsk(const LmFlags& f) {
  if (f.choices.size() < 2) throw Error(ErrorCode::kInvalidArgument, "--choice: give at least two");
  Loaded l = Load(f);
  enc::LmChoiceScorer scorer(l.model.get(), &l.bpe, Format(f), enc::ParseChoiceNorm(f.norm));
  enc::PromptExample q{f.question, f.choices, -1};
  const auto shots = Shots(l, f, -1);
  const enc::ChoiceResult r = scorer.Score(shots, q);
  if (f.json) {
    ordered_json j = {{"question", f.question}, {"prediction", f.choices[size_t(r.predicted)]},
                      {"shots", r.shots_used}, {"norm", f.norm}, {"context", r.context}};
    j["choices"] = ordered_json::array();
    for (size_t i = 0; i < f.choices.size(); ++i) {
      j["choices"].push_back({{"text", f.choices[i]}, {"score", r.choices[i].score},
                              {"logprob", r.choices[i].logprob}, {"tokens", r.choices[i].tokens}});
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("prompt (%d-shot, %d tokens%s):\n%s\n\n", r.shots_used, r.context_tokens,
              r.truncated ? ", cut from the left" : "", r.context.c_str());
  for (size_t i = 0; i < f.choices.size(); ++i) {
    std::printf("%s %-24s score %9.4f  logprob %9.4f  tokens %d\n", int(i) == r.predicted ? "*" : " ",
                f.choices[i].c_str(), r.choices[i].score, r.choices[i].logprob, r.choices[i].tokens);
  }
  return 0;
}

int RunEval(const LmFlags& f) {
  std::vector<data::McqItem> items = data::ReadMcqJsonl(f.data);
  if (f.limit > 0 && items.size() > f.limit) items.resize(f.limit);
  if (items.empty()) throw Error(ErrorCode::kInvalidArgument, f.data + ": no questions");
  Loaded l = Load(f);
  enc::LmChoiceScorer scorer(l.model.get(), &l.bpe, Format(f), enc::ParseChoiceNorm(f.norm));
  std::ofstream pred;
  const std::string tmp = f.predictions + ".tmp";
  if (!f.predictions.empty()) {
    pred.open(tmp);
    if (!pred) throw Error(ErrorCode::kIOError, "cannot write " + tmp);
  }
  int correct = 0, labelled = 0, truncated = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < items.size(); ++i) {
    const enc::PromptExample q = ToExample(items[i]);
    // Draw per question; the index keeps draws reproducible and distinct across questions.
    const enc::ChoiceResult r = scorer.Score(Shots(l, f, static_cast<int>(i)), q);
    truncated += r.truncated || r.shots_used < f.shots;
    if (q.answer >= 0) {
      ++labelled;
      correct += r.predicted == q.answer;
    }
    if (pred.is_open()) {
      ordered_json j = {{"id", items[i].id}, {"prediction", items[i].choices[size_t(r.predicted)].label}};
      if (q.answer >= 0) j["correct"] = r.predicted == q.answer;
      j["scores"] = ordered_json::array();
      for (const auto& c : r.choices) j["scores"].push_back(c.score);
      pred << j.dump() << "\n";
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (pred.is_open()) {
    pred.close();
    if (!pred || std::rename(tmp.c_str(), f.predictions.c_str()) != 0) {
      throw Error(ErrorCode::kIOError, "cannot write " + f.predictions);
    }
  }
  const double acc = labelled ? double(correct) / labelled : 0.0;
  if (f.json) {
    std::cout << ordered_json{{"data", f.data},       {"questions", items.size()}, {"labelled", labelled},
                              {"correct", correct},   {"accuracy", acc},          {"shots", f.shots},
                              {"norm", f.norm},       {"fitted", truncated},      {"seconds", secs}}
                     .dump()
              << "\n";
  } else {
    std::printf("%s: %d/%d correct = %.2f%% (%d-shot, %s scores, %zu questions in %.1f s; %d prompts shortened "
                "to fit n_positions)\n",
                f.data.c_str(), correct, labelled, 100.0 * acc, f.shots, f.norm.c_str(), items.size(), secs, truncated);
  }
  return 0;
}

void AddCommon(CLI::App* c, LmFlags* f) {
  c->add_option("--model", f->model, "GPT-2 directory: config.json, model.safetensors, vocab.json, merges.txt")
      ->required();
  c->add_option("--train", f->train, "Labelled questions (jsonl) to draw demonstrations from");
  c->add_option("--shots", f->shots, "Demonstrations before each question: 0 zero-shot, 1 one-shot, K few-shot");
  c->add_option("--norm", f->norm, "Choice score: sum, mean (per token) or unconditional")
      ->check(CLI::IsMember({"sum", "mean", "unconditional"}));
  c->add_option("--instruction", f->instruction, "Task description put before the demonstrations");
  c->add_flag("--list-choices", f->list_choices, "List the choices after each question in the prompt");
  c->add_option("--seed", f->seed, "Seed for drawing demonstrations");
  c->add_option("--threads", f->threads, "Threads for the math (0 = all cores)");
  c->add_flag("--json", f->json, "Print JSON");
}

struct GenerateFlags {
  std::string model;
  std::string prompt;
  enc::GenerateConfig config;
  int threads = 0;
  bool json = false;
};

int RunGenerate(const GenerateFlags& f) {
  enc::SetNumThreads(f.threads);
  const auto model = enc::LoadGpt2Dir(f.model);
  const enc::ByteLevelBpe bpe = enc::ByteLevelBpe::FromModelDir(f.model);
  enc::GenerateConfig c = f.config;
  c.eos_token_id = bpe.TokenToId("<|endoftext|>");  // -1 when the vocabulary has none: never stops early
  const std::vector<int32_t> prompt = bpe.Encode(f.prompt);
  const enc::GenerateResult r = enc::Generate(*model, prompt, c);
  std::vector<int32_t> text_ids = r.tokens;
  if (r.stopped_at_eos) text_ids.pop_back();
  const std::string text = bpe.Decode(text_ids);
  if (f.json) {
    std::cout << ordered_json{{"prompt", f.prompt},
                              {"text", text},
                              {"tokens", r.tokens},
                              {"prompt_tokens", prompt.size()},
                              {"prompt_tokens_dropped", r.prompt_tokens_dropped},
                              {"stop", r.stopped_at_eos ? "eos" : "max_tokens"},
                              {"temperature", c.temperature},
                              {"top_k", c.top_k},
                              {"top_p", c.top_p},
                              {"seed", c.seed}}
                     // Byte-level tokens can end inside a UTF-8 character: replace, don't throw.
                     .dump(-1, ' ', false, ordered_json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << text << "\n";
  }
  if (r.prompt_tokens_dropped > 0) {
    std::fprintf(stderr, "spade: note: the prompt's first %d tokens were dropped to fit n_positions = %d\n",
                 r.prompt_tokens_dropped, model->config().n_positions);
  }
  return 0;
}

// Flag checks that name the flag (usage errors, exit 2); the library checks the same.
CLI::Validator InHalfOpenUnit() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const double v = std::strtod(s.c_str(), nullptr);
        return v > 0 && v <= 1 ? "" : "must be in (0, 1], got " + s;
      },
      "");
}

CLI::Validator AtLeastZero() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const double v = std::strtod(s.c_str(), nullptr);
        return v >= 0 ? "" : "must be >= 0, got " + s;
      },
      "");
}

}  // namespace

void RegisterLmCommands(CLI::App& app, int* rc) {
  CLI::App* lm =
      app.add_subcommand("lm", "A GPT-2: answer multiple-choice questions by likelihood (0/1/K-shot), or generate text");
  lm->require_subcommand(1);

  auto gf = std::make_shared<GenerateFlags>();
  CLI::App* gen = lm->add_subcommand("generate", "Continue a prompt: sampled (temperature, top-k, top-p) or greedy");
  gen->add_option("--model", gf->model, "GPT-2 directory: config.json, model.safetensors, vocab.json, merges.txt")
      ->required();
  gen->add_option("--prompt", gf->prompt, "Text to continue (its tokens beyond n_positions are cut from the left)")
      ->required();
  gen->add_option("--max-tokens", gf->config.max_tokens, "New tokens at most; stops earlier at <|endoftext|>")
      ->check(AtLeastZero())
      ->capture_default_str();
  gen->add_option("--temperature", gf->config.temperature, "Divides the logits; 0 = greedy (argmax)")
      ->check(AtLeastZero())
      ->capture_default_str();
  gen->add_option("--top-k", gf->config.top_k, "Sample among the K most likely tokens; 0 = all")
      ->check(AtLeastZero())
      ->capture_default_str();
  gen->add_option("--top-p", gf->config.top_p, "Then among the most likely tokens holding probability P (nucleus)")
      ->check(InHalfOpenUnit())
      ->capture_default_str();
  gen->add_option("--seed", gf->config.seed, "Seed for the draws; the same seed gives the same text")
      ->capture_default_str();
  gen->add_option("--threads", gf->threads, "Threads for the math (0 = all cores)");
  gen->add_flag("--json", gf->json, "Print JSON: text, token ids, why it stopped");
  gen->callback([gf, rc] { *rc = RunGenerate(*gf); });

  auto af = std::make_shared<LmFlags>();
  CLI::App* ask = lm->add_subcommand("ask", "Score the choices of one question");
  AddCommon(ask, af.get());
  ask->add_option("--question", af->question, "The question text")->required();
  ask->add_option("--choice", af->choices, "A choice (repeat the flag for each)")->required();
  ask->callback([af, rc] { *rc = RunAsk(*af); });

  auto ef = std::make_shared<LmFlags>();
  CLI::App* ev = lm->add_subcommand("eval", "Accuracy on a CommonsenseQA-style jsonl(.gz) file");
  AddCommon(ev, ef.get());
  ev->add_option("--data", ef->data, "Questions to answer (jsonl or jsonl.gz)")->required();
  ev->add_option("--predictions", ef->predictions, "Write one JSON line per question here");
  ev->add_option("--limit", ef->limit, "Answer only the first N questions");
  ev->callback([ef, rc] { *rc = RunEval(*ef); });
}

}  // namespace spade::tools
