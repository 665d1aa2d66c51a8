// `spade probe mc|triples`: the downstream probes that compare pretrained encoders (issue 8)
// — multiple-choice fine-tuning on CommonsenseQA-style files and ConceptNet-100k triple
// classification (fusion/probe_mc.h, fusion/probe_triples.h) — each beside the same shape
// randomly initialised (--random-init), through the shared training loop.
#include <cstdio>

#include "data/error.h"
#include "fusion/probe_mc.h"
#include "fusion/probe_triples.h"
#include "tools/commands.h"
#include "tools/train_progress.h"

namespace spade::tools {
namespace {

struct ProbeFlags {
  std::string encoder, out;
  bool random_init = false;
  int batch = 16, seq = 0;
  std::string train, dev, dev1, dev2;
  TrainLoopFlags loop = [] {
    TrainLoopFlags l;
    l.warmup = 0.1f;
    l.save_every = 100;
    l.eval_every = 0;
    return l;
  }();
};

int RunProbe(const ProbeFlags& f, bool mc) {
  if (f.batch <= 0) throw Error(ErrorCode::kInvalidArgument, "--batch must be positive");
  const encoder::TrainLoopConfig lc = MakeTrainLoopConfig(f.loop, f.out, mc ? 400 : 500, 1e-4f);
  std::unique_ptr<encoder::TrainTask> task;
  if (mc) {
    fusion::McProbeConfig c;
    c.encoder_dir = f.encoder;
    c.random_init = f.random_init;
    c.train_path = f.train;
    c.dev_path = f.dev;
    c.questions_per_step = f.batch;
    c.max_seq = f.seq > 0 ? f.seq : 64;
    c.seed = f.loop.seed;
    task = fusion::MakeMcProbeTask(c);
  } else {
    fusion::TripleProbeConfig c;
    c.encoder_dir = f.encoder;
    c.random_init = f.random_init;
    c.train_path = f.train;
    c.dev1_path = f.dev1;
    c.dev2_path = f.dev2;
    c.positives_per_step = f.batch;
    c.max_seq = f.seq > 0 ? f.seq : 32;
    c.seed = f.loop.seed;
    task = fusion::MakeTripleProbeTask(c);
  }
  const encoder::TrainResult r = encoder::RunTrainLoop(task.get(), lc, TerminalTrainProgress());
  std::printf("probe %s: %lld steps on %s%s; fine-tuned model in %s\n", mc ? "mc" : "triples",
              static_cast<long long>(r.steps_run), f.encoder.c_str(), f.random_init ? " (random init)" : "",
              f.out.c_str());
  PrintHeldOut(r.final_eval);
  return 0;
}

void AddCommon(CLI::App* cmd, ProbeFlags* f) {
  cmd->add_option("--encoder", f->encoder, "Encoder model directory (BERT, ALBERT or ELECTRA, with its tokenizer)")
      ->required();
  cmd->add_flag("--random-init", f->random_init, "Use the encoder's shape with random weights (the baseline)");
  cmd->add_option("--out", f->out, "Output directory (checkpoint, log, the fine-tuned model)")->required();
  AddTrainLoopFlags(cmd, &f->loop);
}

}  // namespace

void RegisterProbeCommands(CLI::App& app, int* rc) {
  CLI::App* probe = app.add_subcommand("probe", "Downstream probes that compare pretrained encoders");
  probe->require_subcommand(1);

  auto m = std::make_shared<ProbeFlags>();
  CLI::App* mc = probe->add_subcommand("mc", "Fine-tune with the multiple-choice head; accuracy on a dev file");
  AddCommon(mc, m.get());
  mc->add_option("--train", m->train, "Training questions (CommonsenseQA-style jsonl)")->required();
  mc->add_option("--dev", m->dev, "Dev questions, never trained on")->required();
  mc->add_option("--batch", m->batch, "Questions per step")->capture_default_str();
  mc->add_option("--seq", m->seq, "Tokens per choice sequence (default 64)");
  mc->callback([m, rc] { *rc = RunProbe(*m, true); });

  auto t = std::make_shared<ProbeFlags>();
  t->batch = 32;
  CLI::App* tr = probe->add_subcommand("triples", "ConceptNet-100k triple classification: threshold on dev1, accuracy on dev2");
  AddCommon(tr, t.get());
  tr->add_option("--train", t->train, "train100k.txt (relation, head, tail, weight)")->required();
  tr->add_option("--dev1", t->dev1, "dev1.txt (labelled 1/0): picks the threshold")->required();
  tr->add_option("--dev2", t->dev2, "dev2.txt (labelled 1/0): the reported accuracy")->required();
  tr->add_option("--batch", t->batch, "Positives per step (each with one sampled negative)")->capture_default_str();
  tr->add_option("--seq", t->seq, "Tokens per triple (default 32)");
  tr->callback([t, rc] { *rc = RunProbe(*t, false); });
}

}  // namespace spade::tools
