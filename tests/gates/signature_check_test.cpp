// The run signature check (src/gates/signature_check.cpp), G3 that reports it, and the verdict's
// authenticity.
#include "gates/signature_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "experiment/seal.h"
#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

// True when one FAIL of the gate has a message containing part.
bool fails_with(const GateReport& gate, const std::string& part) {
  for (const GateRunResult& r : with_status(gate, Status::kFail)) {
    if (r.message.find(part) != std::string::npos) return true;
  }
  return false;
}

// Every run sealed and signed with `key`, as wmtp-train --signing-key would.
class SignatureCheck : public GateTest {
 protected:
  void SetUp() override {
    in.seals_expected = true;
    fixtures::seal_in_memory(runs, in, &key);
  }

  void trust(const EcdsaPrivateKey& k) { in.trusted_keys.push_back(k.public_key()); }
  Verdict verdict() const { return audit(runs, in, {"test", "2024-01-01T00:00:00Z", "prod", false}); }

  EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-256");
};

TEST_F(SignatureCheck, SignedRunsWithATrustedKeyAllPass) {
  trust(other);
  trust(key);
  const SignatureFindings f = check_signature(b0, in);
  EXPECT_TRUE(f.signed_run);
  EXPECT_TRUE(f.verified);
  EXPECT_TRUE(f.findings.empty());
  const Verdict v = verdict();
  EXPECT_EQ(v.overall, Overall::kAllPass);
  EXPECT_EQ(v.authenticity.status, "verified");
  EXPECT_EQ(v.authenticity.trusted_keys, 2);
  EXPECT_EQ(v.authenticity.signed_runs, 4);
  EXPECT_EQ(v.authenticity.verified_runs, 4);
}

TEST_F(SignatureCheck, AMissingSignatureWithTrustFails) {
  trust(key);
  b0.artifacts.pop_back();
  b0.tags.erase("wmtp.signer");
  in.signature_texts.erase(b0.local_id);
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "run is not signed: wmtp/run.sig is missing and trusted keys are configured");
  const Verdict v = verdict();
  EXPECT_EQ(v.overall, Overall::kFail);
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.authenticity.status, "failed");
  EXPECT_EQ(v.authenticity.verified_runs, 3);
}

TEST_F(SignatureCheck, AKeyNotTrustedFailsNamingItsFingerprint) {
  trust(other);
  const std::vector<GateRunResult> fails = with_status(gate_numerical_health(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 4u);
  const GateRunResult& r = fails.front();
  EXPECT_NE(r.message.find("wmtp/run.sig: signed by key " + key.public_key().fingerprint() +
                           ", which is not among the 1 trusted key(s)"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(r.observed, "key " + key.public_key().fingerprint());
  EXPECT_EQ(verdict().authenticity.status, "failed");
}

TEST_F(SignatureCheck, AnEditWithTheSealRecomputedButTheOldSignatureFails) {
  trust(key);
  b0.params["lr"] = "0.01";
  // The forger reseals the run (a valid seal and tag), but cannot re-sign it.
  b0.artifacts.erase(std::remove_if(b0.artifacts.begin(), b0.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path == "wmtp/seal.json"; }),
                     b0.artifacts.end());
  const std::string text = experiment::seal_of(b0, "FINISHED").to_text();
  b0.artifacts.push_back({"wmtp/seal.json", sha256_hex(text), static_cast<std::int64_t>(text.size()), "", {}});
  b0.tags["wmtp.seal_sha256"] = sha256_hex(text);
  in.seal_texts[b0.local_id] = text;
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "wmtp/run.sig: the files differ from what key " + key.public_key().fingerprint() +
                           " signed: changed: wmtp/seal.json (key " + key.public_key().fingerprint() + ")");
  EXPECT_EQ(verdict().overall, Overall::kFail);
  // A signature by a key the audit does not trust cannot launder it either.
  fixtures::sign_in_memory(b0, in, other);
  EXPECT_TRUE(fails_with(gate_numerical_health(runs, in), "not among the 1 trusted key(s)"));
}

TEST_F(SignatureCheck, WithoutTrustAValidSignaturePassesAndIsNotChecked) {
  const Verdict v = verdict();
  EXPECT_EQ(v.overall, Overall::kAllPass);
  EXPECT_EQ(v.authenticity.status, "not checked");
  EXPECT_EQ(v.authenticity.trusted_keys, 0);
  EXPECT_EQ(v.authenticity.signed_runs, 4);
  EXPECT_EQ(v.authenticity.verified_runs, 0);
  // An unsigned run is no finding without trust.
  b0.artifacts.pop_back();
  b0.tags.erase("wmtp.signer");
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
  EXPECT_EQ(verdict().authenticity.signed_runs, 3);
}

TEST_F(SignatureCheck, WithoutTrustABrokenSignatureFails) {
  in.signature_texts[b0.local_id] = "{not a bundle";
  GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message.rfind("wmtp/run.sig:1:3: invalid JSON", 0), 0u) << r.message;
  EXPECT_EQ(r.expected, "a model signature v1.0 bundle");
  // A signature over files the run no longer has.
  fixtures::sign_in_memory(b0, in, key);
  for (ArtifactRef& a : b0.artifacts) {
    if (a.path == "checkpoints/last.pt") a.sha256 = sha256_hex("another checkpoint");
  }
  EXPECT_TRUE(fails_with(gate_numerical_health(runs, in),
                         "wmtp/run.sig: the files differ from what the unauthenticated statement signed: changed: "
                         "checkpoints/last.pt"));
  // The signer tag without the file.
  fixtures::sign_in_memory(b0, in, key);
  for (ArtifactRef& a : b0.artifacts) {
    if (a.path == "checkpoints/last.pt") a.sha256 = sha256_hex("checkpoints/last.pt");
  }
  b0.artifacts.pop_back();
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message,
            "wmtp/run.sig is missing, but tag wmtp.signer names key " + key.public_key().fingerprint());
}

TEST_F(SignatureCheck, ASignerTagNamingAnotherKeyFails) {
  trust(key);
  b0.tags["wmtp.signer"] = other.public_key().fingerprint();
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "tag wmtp.signer names key " + other.public_key().fingerprint() +
                           ", but wmtp/run.sig is signed by key " + key.public_key().fingerprint());
}

}  // namespace
}  // namespace wmtp::gates
