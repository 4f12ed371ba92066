#include "experiment/preregistration.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/canonical_json.h"
#include "core/ecdsa_key.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/json_field.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "schema_check.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

nlohmann::json smoke() { return nlohmann::json::parse(*embedded_file("configs/prereg/smoke.json")); }

std::string error_of(const nlohmann::json& doc) {
  try {
    parse_preregistration(doc, "p.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Preregistration, EmbeddedSmokeHoldsThePreregisteredThresholds) {
  const Preregistration p = embedded_preregistration();
  EXPECT_EQ(p.name, "smoke");
  EXPECT_EQ(p.origin, "embedded:configs/prereg/smoke.json");
  EXPECT_EQ(p.hash, content_hash16(smoke()));
  EXPECT_EQ(p.pape_definition_hash, pape_definition_hash());
  EXPECT_EQ(p.train_loss_ceiling, 3.0);
  EXPECT_EQ(p.val_divergence_ratio, 1.5);
  EXPECT_EQ(p.initial_epoch_first, 1);
  EXPECT_EQ(p.initial_epoch_last, 4);
  EXPECT_EQ(p.final_window, 3);
  EXPECT_EQ(p.min_epochs, 5);
  EXPECT_EQ(p.nan_tolerance, 0);
  EXPECT_EQ(p.codebook_util_warning, 0.05);
  EXPECT_EQ(p.g5_fail_threshold, 2);
  EXPECT_EQ(p.golden_atol, 1e-6);
  EXPECT_EQ(p.allowed_units, (std::vector<std::string>{"standardized", "kW", "kWh_per_h"}));
}

TEST(Preregistration, HashChangesWithAnyThreshold) {
  nlohmann::json doc = smoke();
  doc["g5"]["train_loss_ceiling"] = 3.5;
  EXPECT_NE(parse_preregistration(doc, "p.json").hash, embedded_preregistration().hash);
}

TEST(Preregistration, UnknownKeysNameTheirPath) {
  nlohmann::json doc = smoke();
  doc["g5"]["train_loss_cieling"] = 3.0;
  EXPECT_EQ(error_of(doc),
            "p.json: $.g5.train_loss_cieling: unknown key (expected one of: train_loss_ceiling, "
            "val_divergence_ratio, initial_epochs, final_window, min_epochs, g5_fail_threshold)");
  doc = smoke();
  doc["thresholds"] = 1;
  EXPECT_EQ(error_of(doc).rfind("p.json: $.thresholds: unknown key", 0), 0u) << error_of(doc);
}

TEST(Preregistration, WrongTypesNameTheirPath) {
  nlohmann::json doc = smoke();
  doc["g5"]["train_loss_ceiling"] = "3.0";
  EXPECT_EQ(error_of(doc), "p.json: $.g5.train_loss_ceiling: expected a number, got string");
  doc = smoke();
  doc["g2"]["allowed_units"][1] = 7;
  EXPECT_EQ(error_of(doc), "p.json: $.g2.allowed_units[1]: expected a string, got integer");
  doc = smoke();
  doc["g3"]["nan_tolerance"] = 0.5;
  EXPECT_EQ(error_of(doc), "p.json: $.g3.nan_tolerance: expected an integer, got number");
}

TEST(Preregistration, MissingKeysAndBadRangesAreInputErrors) {
  nlohmann::json doc = smoke();
  doc["g3"].erase("codebook_util_warning");
  EXPECT_EQ(error_of(doc), "p.json: $.g3: missing required key 'codebook_util_warning'");
  doc = smoke();
  doc["g5"]["min_epochs"] = 4;
  EXPECT_EQ(error_of(doc), "p.json: $.g5.min_epochs: expected an integer >= 5, got 4");
  doc = smoke();
  doc["g5"]["initial_epochs"] = {1, 2, 3};
  EXPECT_EQ(error_of(doc), "p.json: $.g5.initial_epochs: expected [first, last] (two epochs)");
  doc = smoke();
  doc["pape_definition_hash"] = "XYZ";
  EXPECT_EQ(error_of(doc), "p.json: $.pape_definition_hash: expected 16 lowercase hex characters");
  doc = smoke();
  doc["schema_version"] = 2;
  EXPECT_EQ(error_of(doc), "p.json: $.schema_version: unsupported schema_version (this auditor reads 1)");
}

// The schema and the C++ reader accept and refuse the same documents.
TEST(PreregistrationSchema, AgreesWithTheReader) {
  testing::TempDir dir;
  nlohmann::json with_keys = smoke();
  with_keys["trusted_keys"] = {EcdsaPrivateKey::generate("P-256").public_key().pem()};
  with_keys["replay"] = "required";
  ASSERT_EQ(parse_preregistration(with_keys, "p.json").trusted_keys.size(), 1u);
  testing::write_file(dir.file("ok.json"), with_keys.dump());
  const auto ok = gates::fixtures::validate_against_schema(dir.file("ok.json"), "prereg.schema.json");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  nlohmann::json bad = smoke();
  bad["g5"]["train_loss_cieling"] = 3.0;
  testing::write_file(dir.file("bad.json"), bad.dump());
  const auto refused = gates::fixtures::validate_against_schema(dir.file("bad.json"), "prereg.schema.json");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("train_loss_cieling"), std::string::npos) << refused.err;
  bad = smoke();
  bad["replay"] = "always";
  testing::write_file(dir.file("bad-replay.json"), bad.dump());
  EXPECT_NE(gates::fixtures::validate_against_schema(dir.file("bad-replay.json"), "prereg.schema.json").exit_code, 0);
}

TEST(Preregistration, ReplayIsOptionalUnlessRequired) {
  EXPECT_FALSE(embedded_preregistration().replay_required);
  nlohmann::json doc = smoke();
  doc["replay"] = "required";
  EXPECT_TRUE(parse_preregistration(doc, "p.json").replay_required);
  doc["replay"] = "optional";
  EXPECT_FALSE(parse_preregistration(doc, "p.json").replay_required);
  doc["replay"] = "always";
  EXPECT_EQ(error_of(doc), "p.json: $.replay: expected \"required\" or \"optional\"");
  doc["replay"] = true;
  EXPECT_EQ(error_of(doc), "p.json: $.replay: expected a string, got boolean");
}

// Trusted keys are inline PEM, so the pre-registration's hash (which every run logs) pins them.
TEST(Preregistration, TrustedKeysAreInlinePemCoveredByTheHash) {
  const EcdsaPrivateKey a = EcdsaPrivateKey::generate("P-256");
  const EcdsaPrivateKey b = EcdsaPrivateKey::generate("P-384");
  EXPECT_TRUE(embedded_preregistration().trusted_keys.empty());
  nlohmann::json doc = smoke();
  doc["trusted_keys"] = {a.public_key().pem(), b.public_key().pem()};
  const Preregistration p = parse_preregistration(doc, "p.json");
  ASSERT_EQ(p.trusted_keys.size(), 2u);
  EXPECT_EQ(p.trusted_keys[0].fingerprint(), a.public_key().fingerprint());
  EXPECT_EQ(p.trusted_keys[1].curve(), "P-384");
  EXPECT_NE(p.hash, embedded_preregistration().hash);
  doc["trusted_keys"][1] = "not a key";
  EXPECT_EQ(error_of(doc).rfind("p.json: $.trusted_keys[1]: not a PEM public key", 0), 0u) << error_of(doc);
  doc["trusted_keys"][1] = a.private_pem();
  EXPECT_EQ(error_of(doc).rfind("p.json: $.trusted_keys[1]: ", 0), 0u) << error_of(doc);
}

TEST(Preregistration, TripWiresAndCaveatsOfTheSmokePreregistration) {
  const Preregistration p = embedded_preregistration();
  ASSERT_EQ(p.trip_wires.size(), 2u);
  EXPECT_EQ(p.trip_wires[0].metric, "test_pape");
  EXPECT_EQ(*p.trip_wires[0].max, 150.0);
  EXPECT_TRUE(p.trip_wires[0].fail);
  ASSERT_EQ(p.caveats.size(), 1u);
  EXPECT_EQ(p.caveats[0].rfind("v6 reference N=1", 0), 0u);
  nlohmann::json doc = smoke();
  doc["trip_wires"][0].erase("min");
  doc["trip_wires"][0].erase("max");
  EXPECT_EQ(error_of(doc), "p.json: $.trip_wires[0]: a trip-wire needs min, max or both");
}

TEST(Preregistration, ReadsTheTeamsOwnGoldenTensorsFromNpyFilesBesideIt) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("golden"));
  write_npy(dir.file("golden/y.npy"), {1, 2, 10, 3});
  write_npy(dir.file("golden/yhat.npy"), {1, 2, 8, 3});
  nlohmann::json doc = smoke();
  const nlohmann::json golden_case = {{"id", "apt6"},
                                      {"y", "golden/y.npy"},
                                      {"yhat", "golden/yhat.npy"},
                                      {"expected_pape", 20.0},
                                      {"expected_hr", 1.0}};
  doc["golden_tensors"] = nlohmann::json::object();
  doc["golden_tensors"]["cases"] = nlohmann::json::array({golden_case});
  testing::write_file(dir.file("prereg.json"), doc.dump());
  const Preregistration p = parse_preregistration(read_json_file(dir.file("prereg.json")), dir.file("prereg.json"));
  ASSERT_FALSE(p.user_golden.is_null());
  const GoldenCheck check = check_golden(p.user_golden);
  EXPECT_TRUE(check.pass) << check.summary();
  EXPECT_EQ(check.atol, p.golden_atol);
  doc["golden_tensors"]["cases"][0]["expected_pape"] = 25.0;
  testing::write_file(dir.file("prereg.json"), doc.dump());
  EXPECT_FALSE(
      check_golden(parse_preregistration(read_json_file(dir.file("prereg.json")), dir.file("prereg.json")).user_golden)
          .pass);
  doc["golden_tensors"]["cases"][0]["y"] = "golden/missing.npy";
  testing::write_file(dir.file("prereg.json"), doc.dump());
  try {
    parse_preregistration(read_json_file(dir.file("prereg.json")), dir.file("prereg.json"));
    FAIL() << "a missing .npy file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("$.golden_tensors.cases[0].y: " + dir.file("golden/missing.npy") +
                                         ": cannot open the file"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace wmtp::experiment
