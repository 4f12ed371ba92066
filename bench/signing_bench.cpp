// Signing and verifying a run in OpenSSF model signing's format: what `wmtp-train --signing-key`
// adds per run and what verification adds per run to an audit. A run here is 12 artifacts (10
// figures of 40 KB, a 200 KB checkpoint, the seal), written to a scratch directory once.
//   wmtp_signing_bench [--reps N] [--dir D]
// Prints a markdown table, microseconds per operation (mean over N repetitions, default 200):
// sign / verify from known digests (the seal already holds every artifact's sha256) and from the
// directory (hashing the files included).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/errors.h"
#include "experiment/model_signature.h"

namespace {

namespace fs = std::filesystem;
using wmtp::EcdsaPrivateKey;
using namespace wmtp::experiment;

double micros_per_call(int reps, const std::function<void()>& call) {
  call();  // warm caches
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) call();
  const std::chrono::duration<double, std::micro> spent = std::chrono::steady_clock::now() - start;
  return spent.count() / reps;
}

constexpr std::size_t kFigures = 10, kFigureBytes = 40000, kCheckpointBytes = 200000, kSealBytes = 4000;

void write_run(const std::string& dir) {
  std::mt19937 random(42);
  const auto write = [&random](const fs::path& path, std::size_t size) {
    fs::create_directories(path.parent_path());
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    std::ofstream(path, std::ios::binary) << bytes;
  };
  for (std::size_t i = 0; i < kFigures; ++i) {
    write(fs::path(dir) / "figures" / ("fig_" + std::to_string(i) + ".png"), kFigureBytes);
  }
  write(fs::path(dir) / "checkpoints" / "last.pt", kCheckpointBytes);
  write(fs::path(dir) / "wmtp" / "seal.json", kSealBytes);
}

int run(int argc, char** argv) {
  int reps = 200;
  std::string dir = (fs::temp_directory_path() / "wmtp-signing-bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--dir") dir = argv[i + 1];
    else throw wmtp::InputError("unknown flag " + flag + " (--reps N, --dir D)");
  }
  fs::remove_all(dir);
  write_run(dir);
  const std::string sig = dir + "/wmtp/run.sig";
  const std::vector<SignedFile> files = hash_model_directory(dir, {"wmtp/run.sig"});

  std::printf(
      "| curve | sign (digests known) | verify (digests known) | sign (hash 12 files) | verify (hash 12 files) |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const std::string curve : {"P-256", "P-384", "P-521"}) {
    const EcdsaPrivateKey key = EcdsaPrivateKey::generate(curve);
    const std::vector<wmtp::EcdsaPublicKey> trusted{key.public_key()};
    const ModelManifest manifest{"run", files, {"wmtp/run.sig"}, false};
    const std::string bundle = sign_model(manifest, key);
    std::ofstream(sig, std::ios::binary) << sign_model_directory(dir, sig, key);
    bool all_ok = true;
    const double sign_known = micros_per_call(reps, [&] { sign_model(manifest, key); });
    const double verify_known = micros_per_call(reps, [&] {
      all_ok = all_ok && verify_model_signature(bundle, "run.sig", trusted, files).ok();
    });
    const double sign_dir = micros_per_call(reps, [&] { sign_model_directory(dir, sig, key); });
    const double verify_dir = micros_per_call(reps, [&] {
      all_ok = all_ok && verify_model_directory(dir, sig, trusted).ok();
    });
    if (!all_ok) throw wmtp::Error("a signature did not verify");
    std::printf("| %s | %.0f µs | %.0f µs | %.0f µs | %.0f µs |\n", curve.c_str(), sign_known, verify_known, sign_dir,
                verify_dir);
  }
  std::printf("\n%d repetitions each; %zu files, %zu KB in all.\n", reps, files.size(),
              (kFigures * kFigureBytes + kCheckpointBytes + kSealBytes) / 1000);
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const wmtp::Error& e) {
    std::cerr << "wmtp_signing_bench: " << e.what() << "\n";
    return e.exit_code();
  }
}
