#include "experiment/sealing.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "experiment/run_signature.h"
#include "experiment/seal.h"

namespace wmtp::experiment {
namespace {

namespace fs = std::filesystem;

// Logs bytes as the artifact at artifact_path, staged in a temporary file.
void log_bytes(RunLogger& logger, const std::string& bytes, const std::string& artifact_path) {
  std::string pattern = (fs::temp_directory_path() / "wmtp-seal.XXXXXX").string();
  const int fd = mkstemp(pattern.data());
  if (fd < 0) {
    throw Error("cannot create a temporary file in " + fs::temp_directory_path().string() + ": " +
                std::strerror(errno));
  }
  close(fd);
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } remove{pattern};
  std::ofstream out(pattern, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) throw Error("cannot write " + pattern + " (staging " + artifact_path + ")");
  logger.log_artifact(pattern, artifact_path);
}

}  // namespace

SealedRun seal_run(RunStore& store, RunLogger& logger, RunStatus status, const EcdsaPrivateKey* signer) {
  SealedRun out;
  logger.flush();
  const std::string seal = seal_of(store.load_run(logger.local_run_id()), to_string(status)).to_text();
  log_bytes(logger, seal, contract::artifact::kSeal);
  out.seal_sha256 = sha256_hex(seal);
  logger.set_tag(contract::tag::kSealSha256, out.seal_sha256);
  if (signer == nullptr) return out;
  logger.flush();
  log_bytes(logger, sign_run(store.load_run(logger.local_run_id()), *signer), contract::artifact::kRunSignature);
  out.signer = signer->public_key().fingerprint();
  logger.set_tag(contract::tag::kSigner, out.signer);
  return out;
}

}  // namespace wmtp::experiment
