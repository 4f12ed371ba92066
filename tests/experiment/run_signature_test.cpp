#include "experiment/run_signature.h"

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "experiment/seal.h"
#include "experiment/sealing.h"
#include "memory_store.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

using Outcome = ModelSignatureCheck::Outcome;
namespace artifact = contract::artifact;
namespace tag = contract::tag;

// A run logged through the in-memory store: params, a metric, two artifacts; not finished.
struct LoggedRun {
  testing::TempDir dir;
  testing::MemoryStore store{dir.file("store")};
  std::unique_ptr<RunLogger> logger;

  LoggedRun() {
    logger = store.start_run({"exp", "B0-house-1-s42", {}});
    logger->log_param("lr", "0.001");
    logger->log_metric("train_loss", 0.5, 1);
    testing::write_file(dir.file("ckpt.pt"), std::string(64, 'c'));
    testing::write_file(dir.file("loss.png"), "png bytes");
    logger->log_artifact(dir.file("ckpt.pt"), "checkpoints/step-1.pt");
    logger->log_artifact(dir.file("loss.png"), "figures/loss.png");
  }
  RunRecord record() { return store.load_run(logger->local_run_id()); }
  std::string artifact_bytes(const std::string& path) {
    for (const ArtifactRef& a : record().artifacts) {
      if (a.path == path) return testing::read_file(a.local_path);
    }
    return "";
  }
};

TEST(SealRun, SealsThenSignsEveryArtifactAndTagsTheSigner) {
  LoggedRun run;
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const SealedRun sealed = seal_run(run.store, *run.logger, RunStatus::kFinished, &key);
  run.logger->finish(RunStatus::kFinished);
  const RunRecord rec = run.record();
  EXPECT_EQ(rec.tags.at(tag::kSealSha256), sealed.seal_sha256);
  EXPECT_EQ(sealed.seal_sha256, sha256_hex(run.artifact_bytes(artifact::kSeal)));
  EXPECT_EQ(rec.tags.at(tag::kSigner), key.public_key().fingerprint());
  EXPECT_EQ(sealed.signer, key.public_key().fingerprint());
  // The seal lists neither itself nor the signature, and still matches the run.
  const Seal seal = Seal::from_json(nlohmann::json::parse(run.artifact_bytes(artifact::kSeal)), "seal");
  EXPECT_EQ(seal.artifacts.size(), 2u);
  EXPECT_TRUE(compare_with_seal(rec, seal).empty());

  const ModelSignatureCheck check = verify_run(run.artifact_bytes(artifact::kRunSignature), rec, {key.public_key()});
  EXPECT_EQ(check.outcome, Outcome::kVerified) << check.message;
  EXPECT_EQ(check.key_fingerprint, key.public_key().fingerprint());
  ASSERT_EQ(check.manifest.files.size(), 3u);  // checkpoint, figure, seal
  EXPECT_EQ(check.manifest.ignore_paths, std::vector<std::string>{artifact::kRunSignature});
  EXPECT_EQ(check.manifest.model_name, rec.local_id);
}

TEST(SealRun, WithoutAKeyOnlySeals) {
  LoggedRun run;
  const SealedRun sealed = seal_run(run.store, *run.logger, RunStatus::kFinished);
  EXPECT_TRUE(sealed.signer.empty());
  const RunRecord rec = run.record();
  EXPECT_EQ(rec.tags.count(tag::kSigner), 0u);
  EXPECT_EQ(rec.artifacts_under("wmtp/run").size(), 0u);
  EXPECT_EQ(rec.tags.at(tag::kSealSha256), sealed.seal_sha256);
}

TEST(RunSignature, AParamEditedWithTheSealRecomputedNoLongerVerifies) {
  LoggedRun run;
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  seal_run(run.store, *run.logger, RunStatus::kFinished, &key);
  const std::string bundle = run.artifact_bytes(artifact::kRunSignature);
  RunRecord rec = run.record();
  rec.status = RunStatus::kFinished;
  rec.params["lr"] = "0.01";
  // The forger recomputes the seal; the seal's digest changes, the signature cannot follow.
  const std::string forged = seal_of(rec, "FINISHED").to_text();
  for (ArtifactRef& a : rec.artifacts) {
    if (a.path == artifact::kSeal) a.sha256 = sha256_hex(forged);
  }
  const ModelSignatureCheck check = verify_run(bundle, rec, {key.public_key()});
  EXPECT_EQ(check.outcome, Outcome::kFilesDiffer);
  EXPECT_NE(check.message.find("changed: wmtp/seal.json"), std::string::npos) << check.message;
  EXPECT_NE(check.message.find(key.public_key().fingerprint()), std::string::npos) << check.message;
}

TEST(RunSignature, AnotherKeyIsUnknownAndNoKeysLeaveItUnauthenticated) {
  LoggedRun run;
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-384");
  seal_run(run.store, *run.logger, RunStatus::kFinished, &key);
  const std::string bundle = run.artifact_bytes(artifact::kRunSignature);
  const ModelSignatureCheck unknown = verify_run(bundle, run.record(), {other.public_key()});
  EXPECT_EQ(unknown.outcome, Outcome::kUnknownKey);
  EXPECT_NE(unknown.message.find(key.public_key().fingerprint()), std::string::npos) << unknown.message;
  const ModelSignatureCheck unchecked = verify_run(bundle, run.record(), {});
  EXPECT_EQ(unchecked.outcome, Outcome::kIntact);
  EXPECT_FALSE(unchecked.authenticated);
}

TEST(RunSignature, AnArtifactAddedAfterSigningOrLeftOutFails) {
  LoggedRun run;
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  seal_run(run.store, *run.logger, RunStatus::kFinished, &key);
  RunRecord rec = run.record();
  const std::string bundle = run.artifact_bytes(artifact::kRunSignature);
  rec.artifacts.push_back({"figures/extra.png", std::string(64, 'a'), 1, "", {}});
  const ModelSignatureCheck extra = verify_run(bundle, rec, {key.public_key()});
  EXPECT_EQ(extra.outcome, Outcome::kFilesDiffer);
  EXPECT_NE(extra.message.find("extra: figures/extra.png"), std::string::npos) << extra.message;

  // A statement that ignores the figures (a valid signature, by a trusted key) does not cover the run.
  ModelManifest manifest;
  manifest.model_name = "run";
  manifest.ignore_paths = {artifact::kRunSignature, "figures"};
  for (const SignedFile& f : signed_files_of(run.record())) {
    if (f.path.rfind("figures/", 0) != 0) manifest.files.push_back(f);
  }
  const ModelSignatureCheck partial = verify_run(sign_model(manifest, key), run.record(), {key.public_key()});
  EXPECT_EQ(partial.outcome, Outcome::kFilesDiffer);
  EXPECT_EQ(partial.message, "wmtp/run.sig: the signature does not cover figures/loss.png");
}

TEST(RunSignature, SigningNeedsEveryArtifactsDigest) {
  RunRecord rec;
  rec.local_id = "r1";
  rec.artifacts = {{"figures/a.png", "", 3, "", {}}};
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  testing::expect_input_error([&] { sign_run(rec, key); },
                              {"run r1: cannot sign figures/a.png: its sha256 is unknown"});
}

}  // namespace
}  // namespace wmtp::experiment
