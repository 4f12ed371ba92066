#include "report/verdict_signature.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/base64.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "experiment/model_signature.h"
#include "run_fixtures.h"
#include "sample_verdicts.h"
#include "support/bundle_edit.h"

namespace wmtp::report {
namespace {

using wmtp::testing::with_statement;

// The passing fixture runs with a seal text each, and a verdict file over them.
class VerdictSignature : public ::testing::Test {
 protected:
  void SetUp() override {
    runs_ = gates::fixtures::passing_run_set(gates::fixtures::smoke_inputs());
    for (const RunRecord& run : runs_.runs) seals_[run.local_id] = "{\"seal\": \"" + run.local_id + "\"}";
    verdict_bytes_ = gates::to_json(testing::passing_verdict()).dump(2) + "\n";
  }

  VerdictClaim claim() const {
    return verdict_claim("wmtp-verdict.json", verdict_bytes_, judged_runs(runs_, seals_), "0123abcd");
  }
  VerdictSignatureCheck verify(const std::string& bundle, const std::vector<EcdsaPublicKey>& keys,
                               const std::string& bytes, const std::string& experiment = "") const {
    return verify_verdict_signature(bundle, "v.json.sig", keys, bytes, "v.json", experiment);
  }

  RunSet runs_;
  std::map<std::string, std::string> seals_;
  std::string verdict_bytes_;
  EcdsaPrivateKey key_ = EcdsaPrivateKey::generate("P-256");
};

TEST_F(VerdictSignature, StatementNamesTheVerdictFileAndEveryGatedRun) {
  const gates::Verdict verdict = testing::passing_verdict();
  const nlohmann::json s = verdict_statement(claim());
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://wmtp.dev/verdict/v1");
  ASSERT_EQ(s["subject"].size(), 1u);
  EXPECT_EQ(s["subject"][0]["name"], "wmtp-verdict.json");
  EXPECT_EQ(s["subject"][0]["digest"]["sha256"], sha256_hex(verdict_bytes_));
  const nlohmann::json& p = s["predicate"];
  EXPECT_EQ(p["experiment"], verdict.experiment);
  EXPECT_EQ(p["source"], verdict.source);
  EXPECT_EQ(p["overall"], "ALL PASS");
  EXPECT_EQ(p["exit_code"], 0);
  EXPECT_EQ(p["prereg_hash"], verdict.prereg_hash);
  EXPECT_EQ(p["tool"]["version"], verdict.tool_version);
  EXPECT_EQ(p["tool"]["git_commit"], "0123abcd");
  ASSERT_EQ(p["plan_hashes"].size(), 1u);
  EXPECT_EQ(p["plan_hashes"][0], *runs_.runs.front().param("plan_hash"));
  ASSERT_EQ(p["runs"].size(), runs_.runs.size());
  for (const nlohmann::json& r : p["runs"]) {
    const std::string id = r["local_id"];
    EXPECT_EQ(r["seal_sha256"], sha256_hex(seals_.at(id))) << id;
    EXPECT_FALSE(r["mlflow_run_id"].get<std::string>().empty());
    EXPECT_FALSE(r["name"].get<std::string>().empty());
  }
  EXPECT_LT(p["runs"][0]["local_id"].get<std::string>(), p["runs"][1]["local_id"].get<std::string>());
  // The audit's own plan joins the runs' plans.
  EXPECT_EQ(judged_runs(runs_, seals_, "ffff").plan_hashes,
            (std::vector<std::string>{*runs_.runs.front().param("plan_hash"), "ffff"}));
}

TEST_F(VerdictSignature, SignedVerdictVerifiesAndReadsBack) {
  const VerdictClaim signed_claim = claim();
  const std::string bundle = sign_verdict(signed_claim, key_);
  const nlohmann::json json = nlohmann::json::parse(bundle);
  EXPECT_EQ(json["mediaType"], experiment::kSigstoreBundleMediaType);  // the run signatures' shape
  EXPECT_EQ(json["verificationMaterial"]["publicKey"]["hint"], key_.public_key().fingerprint());
  const VerdictSignatureCheck check = verify(bundle, {key_.public_key()}, verdict_bytes_, signed_claim.experiment);
  ASSERT_TRUE(check.ok) << check.message;
  EXPECT_EQ(check.key_fingerprint, key_.public_key().fingerprint());
  EXPECT_EQ(verdict_statement(check.claim), verdict_statement(signed_claim));
}

TEST_F(VerdictSignature, AnEditedVerdictFailsOnItsDigest) {
  const std::string bundle = sign_verdict(claim(), key_);
  std::string edited = verdict_bytes_;
  edited[edited.find("ALL PASS")] = 'a';
  const VerdictSignatureCheck check = verify(bundle, {key_.public_key()}, edited);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.message, "v.json: sha256 " + sha256_hex(edited) + ", but the signature is over " +
                               sha256_hex(verdict_bytes_) + ": the verdict was changed after it was signed");
}

TEST_F(VerdictSignature, AnUntrustedKeyIsNamed) {
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-384");
  const VerdictSignatureCheck check = verify(sign_verdict(claim(), other), {key_.public_key()}, verdict_bytes_);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.message, "v.json.sig: signed by key " + other.public_key().fingerprint() +
                               ", which is not among the 1 trusted key(s)");
  const VerdictSignatureCheck none = verify(sign_verdict(claim(), key_), {}, verdict_bytes_);
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.message.find("no trusted keys"), std::string::npos);
}

TEST_F(VerdictSignature, AStatementEditedAfterSigningDoesNotVerify) {
  const std::string bundle = with_statement(sign_verdict(claim(), key_), [](nlohmann::json& s) {
    s["predicate"]["runs"][0]["seal_sha256"] = std::string(64, '0');
  });
  const VerdictSignatureCheck check = verify(bundle, {key_.public_key()}, verdict_bytes_);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.message.find("the signature does not verify with key " + key_.public_key().fingerprint()),
            std::string::npos)
      << check.message;
}

TEST_F(VerdictSignature, AVerdictOfAnotherExperimentFails) {
  const VerdictClaim c = claim();
  const VerdictSignatureCheck check = verify(sign_verdict(c, key_), {key_.public_key()}, verdict_bytes_, "other");
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.message, "v.json.sig: the signed verdict is for experiment '" + c.experiment + "', not 'other'");
}

TEST_F(VerdictSignature, AModelSignatureIsNoVerdictSignature) {
  experiment::ModelManifest manifest;
  manifest.model_name = "m";
  manifest.files = {{"wmtp-verdict.json", sha256_hex(verdict_bytes_)}};
  const VerdictSignatureCheck check = verify(experiment::sign_model(manifest, key_), {key_.public_key()},
                                             verdict_bytes_);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.message.find("$.predicateType: predicate type 'https://model_signing/signature/v1.0'; a verdict "
                               "signature has https://wmtp.dev/verdict/v1"),
            std::string::npos)
      << check.message;
}

TEST_F(VerdictSignature, ParsingNamesTheBadField) {
  nlohmann::json s = verdict_statement(claim());
  s["predicate"].erase("runs");
  try {
    parse_verdict_statement(s, "x.sig");
    FAIL() << "accepted a statement without runs";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.sig: $.predicate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("runs"), std::string::npos) << e.what();
  }
  s = verdict_statement(claim());
  s["predicate"]["runs"][1]["local_id"] = s["predicate"]["runs"][0]["local_id"];
  EXPECT_THROW(parse_verdict_statement(s, "x.sig"), InputError);
  EXPECT_THROW(verdict_claim("v.json", "{\"overall\": 1}", {}, ""), InputError);
}

TEST(RunDifference, NamesTheFirstRunThatDiffers) {
  const std::vector<JudgedRun> signed_runs = {{"a1", "B0-h-42", "m1", "s1", ""}, {"b1", "B0-h-43", "", "s2", ""}};
  EXPECT_EQ(first_run_difference(signed_runs, signed_runs), "");
  // An MLflow run id a ledger never learnt is no difference.
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "", "s1", ""}, {"b1", "B0-h-43", "m2", "s2", ""}}),
            "");
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "m1", "s1", ""}, {"b1", "B0-h-43", "", "s9", ""}}),
            "run B0-h-43 (local id b1): seal digest differs: signed s2, now s9");
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "m9", "s1", ""}, {"b1", "B0-h-43", "", "s2", ""}}),
            "run B0-h-42 (local id a1): MLflow run id differs: signed m1, now m9");
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "m1", "s1", "k"}, {"b1", "B0-h-43", "", "s2", ""}}),
            "run B0-h-42 (local id a1): signer differs: signed none, now k");
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "m1", "s1", ""}, {"c1", "B0-h-43", "", "s3", ""}}),
            "run B0-h-43 (local id b1): replaced: the source now gates run B0-h-43 (local id c1) in its place");
  EXPECT_EQ(first_run_difference(signed_runs, {{"a1", "B0-h-42", "m1", "s1", ""}}),
            "run B0-h-43 (local id b1): judged by the signed verdict, no longer gated by the source (deleted or "
            "superseded)");
  std::vector<JudgedRun> more = signed_runs;
  more.push_back({"d1", "A3-h-42", "", "s4", ""});
  EXPECT_EQ(first_run_difference(signed_runs, more),
            "run A3-h-42 (local id d1): gated by the source now, not judged by the signed verdict");
}

}  // namespace
}  // namespace wmtp::report
