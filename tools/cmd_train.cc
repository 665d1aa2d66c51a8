// `spade train`: fine-tunes the QA model (fusion/qa_train.h) — an encoder directory, ERNIE
// fusion over the KG's TransE vectors, KagNet paths and the KG scorer's features, each
// switchable — on multiple-choice files, selecting the best model on a dev file.
#include <cstdio>

#include "data/error.h"
#include "encoder/error.h"
#include "fusion/qa_train.h"
#include "tools/commands.h"
#include "tools/knowledge.h"
#include "tools/train_progress.h"

namespace spade::tools {
namespace {

struct TrainFlags {
  std::string kg = DefaultKgDir(), init, dev, out, weights = DefaultScorerWeights(), cache = SpadeHome() + "/cache";
  std::vector<std::string> train;
  bool random_init = false, no_paths = false, no_kg_features = false;
  int fusion_layers = 2, path_hidden = 32, batch = 8, seq = 64, threads_data = 2, patience = 0;
  float dropout = 0.1f, soft_weight = 0.5f, temperature = 2.0f;
  std::string teacher;
  TrainLoopFlags loop = [] {
    TrainLoopFlags l;
    l.warmup = 0.1f;
    l.save_every = 200;
    l.eval_every = 200;
    return l;
  }();
};

int RunTrain(const TrainFlags& f) {
  if (f.batch <= 0) throw Error(ErrorCode::kInvalidArgument, "--batch must be positive");
  const encoder::TrainLoopConfig lc = MakeTrainLoopConfig(f.loop, f.out, 2000, 1e-4f);
  KgLoadOptions ko;
  ko.weights = f.weights;
  ko.identity = true;
  const std::unique_ptr<LoadedKg> kg = LoadKg(f.kg, ko);
  const bool needs_vectors = f.fusion_layers > 0 || !f.no_paths;
  if (needs_vectors && !kg->transe) {
    throw Error(ErrorCode::kInvalidArgument, f.kg + ": the KG has no TransE vectors; run `spade kg embed --kg " + f.kg +
                                                 " --threads 1` (or train with --fusion-layers 0 --no-paths)");
  }
  fusion::QaTrainConfig c;
  c.init_dir = f.init;
  c.random_init = f.random_init;
  c.train_paths = f.train;
  c.dev_path = f.dev;
  c.out_dir = f.out;
  c.model.fusion_layers = f.fusion_layers;
  c.model.use_paths = !f.no_paths;
  c.model.use_kg_features = !f.no_kg_features;
  c.model.path_hidden = f.path_hidden;
  c.model.dropout = f.dropout;
  c.examples.max_seq = f.seq;
  c.questions_per_step = f.batch;
  c.seed = f.loop.seed;
  c.threads = f.threads_data;
  c.cache_dir = f.cache;
  c.patience = f.patience;
  c.teacher_dir = f.teacher;
  c.soft_weight = f.soft_weight;
  c.temperature = f.temperature;
  c.resume = f.loop.resume;
  std::fprintf(stderr, "spade train: grounding, paths and features of the questions on %d threads (cache: %s)...\n",
               c.threads, c.cache_dir.empty() ? "none" : c.cache_dir.c_str());
  auto task = fusion::MakeQaTrainTask(c, kg->qa);
  const encoder::TrainResult r = encoder::RunTrainLoop(task.get(), lc, TerminalTrainProgress());
  std::printf("spade train: %lld steps from %s%s%s; the best dev model is in %s\n",
              static_cast<long long>(r.steps_run), f.init.c_str(), f.random_init ? " (random init)" : "",
              r.stopped_early ? " (stopped early: no better dev accuracy)" : "", f.out.c_str());
  PrintHeldOut(r.final_eval);
  return 0;
}

}  // namespace

void RegisterTrainCommands(CLI::App& app, int* rc) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Fine-tune the QA model (encoder + ERNIE fusion + KagNet paths + KG features)");
  cmd->add_option("--kg", f->kg, "KG store (with `spade kg embed` vectors)")->capture_default_str();
  cmd->add_option("--init", f->init, "Encoder directory to start from (spade pretrain output, data/models/encoder)")
      ->required();
  cmd->add_flag("--random-init", f->random_init, "The encoder's shape with random weights (baseline)");
  cmd->add_option("--train", f->train, "Training files (CommonsenseQA, OpenBookQA, Social IQa, PIQA)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--dev", f->dev, "Dev file for model selection, never trained on")->required();
  cmd->add_option("--out", f->out, "Output model directory (checkpoint, log, best/, the model)")->required();
  cmd->add_option("--scorer-weights", f->weights, "KG scorer weights (feature standardisation)")->capture_default_str();
  cmd->add_option("--fusion-layers", f->fusion_layers, "ERNIE aggregator layers (0 = none)")->capture_default_str();
  cmd->add_flag("--no-paths", f->no_paths, "Without the KagNet path encoder");
  cmd->add_flag("--no-kg-features", f->no_kg_features, "Without the KG scorer's features");
  cmd->add_option("--path-hidden", f->path_hidden, "Path LSTM width per direction")->capture_default_str();
  cmd->add_option("--dropout", f->dropout, "Dropout of the fusion layers and head")->capture_default_str();
  cmd->add_option("--batch", f->batch, "Questions per step")->capture_default_str();
  cmd->add_option("--seq", f->seq, "Tokens per choice sequence")->capture_default_str();
  cmd->add_option("--data-threads", f->threads_data, "Threads for grounding and paths")->capture_default_str();
  cmd->add_option("--patience", f->patience, "Stop after this many evaluations without a better dev accuracy (0 = never)")
      ->capture_default_str();
  cmd->add_option("--teacher", f->teacher, "Trained QA model to distil from (task-specific distillation)");
  cmd->add_option("--soft-weight", f->soft_weight, "Weight of the teacher's soft targets (the rest: labels)")
      ->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "Distillation temperature T")->capture_default_str();
  cmd->add_option("--cache", f->cache, "Evidence cache directory (\"\" = none)")->capture_default_str();
  AddTrainLoopFlags(cmd, &f->loop);
  cmd->callback([f, rc] { *rc = RunTrain(*f); });
}

}  // namespace spade::tools
