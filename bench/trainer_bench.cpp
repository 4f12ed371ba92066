// Training throughput of the trainer's engines: samples/s of Trainer::train_steps for each
// recipe, batch size and engine (fused: what wmtp-train uses; autograd: the textbook reference),
// on household-01 of the synthetic data, after warm-up steps. The loss of the last step is
// printed too, so that runs of both engines can be compared for equal numerics.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "trainer/synthetic.h"
#include "trainer/trainer.h"

namespace {

namespace tr = wmtp::trainer;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) out.push_back(item);
  return out;
}

const char* const kUsage =
    "usage: wmtp_trainer_bench [--recipes B0,A3] [--batches 32,256,1024] [--engines fused,autograd]\n"
    "                          [--samples N] [--threads N] [--device cpu|cuda]\n"
    "Trains each recipe for about N samples (default 200000) per batch size and engine, after\n"
    "20 warm-up steps, and prints samples/s.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> recipes = {"B0", "B2", "A3"};
  std::vector<std::string> batches = {"32", "256", "1024"};
  std::vector<std::string> engines = {"fused", "autograd"};
  long samples = 200000;
  int threads = 1;
  std::string device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || i + 1 >= argc) {
      std::fputs(kUsage, flag == "--help" ? stdout : stderr);
      return flag == "--help" ? 0 : 2;
    }
    const std::string value = argv[++i];
    if (flag == "--recipes") recipes = split(value);
    else if (flag == "--batches") batches = split(value);
    else if (flag == "--engines") engines = split(value);
    else if (flag == "--samples") samples = std::atol(value.c_str());
    else if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--device") device = value;
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  try {
    tr::set_compute_threads(threads);
    std::printf("# %s, device %s\n", tr::compute_info().c_str(), device.c_str());
    std::printf("%-6s %-6s %-9s %12s %10s %14s\n", "recipe", "batch", "engine", "samples/s", "us/step", "last loss");
    const tr::SeriesData data = tr::SeriesData::prepare(tr::synthetic_households(tr::SyntheticOptions{})[0]);
    for (const std::string& name : recipes) {
      for (const std::string& b : batches) {
        tr::Recipe recipe = tr::load_recipe(name);
        recipe.training.batch_size = std::atoi(b.c_str());
        recipe.training.epochs = 1000;  // never the end of training here
        for (const std::string& engine : engines) {
          auto trainer = tr::make_trainer(recipe, data, 42, {device, engine == "autograd"});
          const long steps = std::max(20L, samples / recipe.training.batch_size);
          trainer->train_steps(20);
          const auto begin = std::chrono::steady_clock::now();
          trainer->train_steps(steps);
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
          std::printf("%-6s %-6d %-9s %12.0f %10.1f %14.6f\n", name.c_str(), recipe.training.batch_size, engine.c_str(),
                      static_cast<double>(steps * recipe.training.batch_size) / s, s / static_cast<double>(steps) * 1e6,
                      trainer->loss_history().back());
        }
      }
    }
  } catch (const wmtp::Error& e) {
    std::fprintf(stderr, "wmtp_trainer_bench: error: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
