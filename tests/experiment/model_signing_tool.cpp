// Test-only command line over experiment/model_signature.h, for the interop test with the real
// model_signing (tests/e2e/model_signing_interop_test.sh):
//   model_signing_tool sign DIR KEY.pem SIGNATURE      (password, if any, from WMTP_SIGNING_KEY_PASSWORD)
//   model_signing_tool verify DIR KEY.pub SIGNATURE
// Exit 0: signed or verified; 1: verification failed (the reason on stderr); 2: bad input.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "core/errors.h"
#include "experiment/model_signature.h"

namespace {

int run(int argc, char** argv) {
  using namespace wmtp;
  const std::string command = argc == 5 ? argv[1] : "";
  if (command != "sign" && command != "verify") {
    std::cerr << "usage: model_signing_tool sign DIR KEY.pem SIGNATURE | verify DIR KEY.pub SIGNATURE\n";
    return kExitInput;
  }
  const std::string dir = argv[2], key = argv[3], signature = argv[4];
  if (command == "sign") {
    std::optional<std::string> password;
    if (const char* p = std::getenv("WMTP_SIGNING_KEY_PASSWORD")) password = p;
    const EcdsaPrivateKey private_key = EcdsaPrivateKey::read(key, password);
    const std::string bundle = experiment::sign_model_directory(dir, signature, private_key);
    std::ofstream out(signature, std::ios::binary);
    out << bundle;
    if (!out.flush()) throw InputError(signature + ": cannot write the signature");
    std::cout << "signed " << dir << " with key " << private_key.public_key().fingerprint() << "\n";
    return kExitOk;
  }
  const experiment::ModelSignatureCheck check = experiment::verify_model_directory(dir, signature,
                                                                                   read_public_keys(key));
  if (!check.ok()) {
    std::cerr << check.message << "\n";
    return kExitFail;
  }
  std::cout << "verified " << dir << ": " << check.manifest.files.size() << " files signed by key "
            << check.key_fingerprint << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const wmtp::Error& e) {
    std::cerr << "model_signing_tool: " << e.what() << "\n";
    return e.exit_code();
  }
}
