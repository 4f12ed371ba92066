#include "core/dsse.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/errors.h"

namespace wmtp {
namespace {

TEST(Base64, MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain));
  }
  EXPECT_EQ(base64_encode(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(base64_decode("-_8"), std::optional<std::string>(std::string("\xfb\xff", 2)));  // URL-safe, unpadded
  for (const char* bad : {"Zm9v!", "Z", "Zm=v", "Zm9vY", "Zg==="}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

// The example of the DSSE v1.0.0 protocol.
TEST(Dsse, PaeIsTheSpecsEncoding) {
  EXPECT_EQ(dsse_pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(dsse_pae("t", ""), "DSSEv1 1 t 0 ");
}

TEST(Dsse, SignedEnvelopeRoundTripsThroughJson) {
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const DsseEnvelope signed_envelope = dsse_sign(kInTotoPayloadType, "{\"a\":1}", key, "my-key");
  const nlohmann::json json = signed_envelope.to_json();
  EXPECT_EQ(json.at("payload"), base64_encode("{\"a\":1}"));
  EXPECT_EQ(json.at("payloadType"), kInTotoPayloadType);
  EXPECT_EQ(json.at("signatures").at(0).at("keyid"), "my-key");

  const DsseEnvelope read = DsseEnvelope::from_json(json, "sig.json");
  EXPECT_EQ(read.payload, "{\"a\":1}");
  ASSERT_EQ(read.signatures.size(), 1u);
  EXPECT_EQ(read.signatures[0].sig, signed_envelope.signatures[0].sig);
  EXPECT_TRUE(dsse_verify(read, key.public_key()));
}

TEST(Dsse, TamperingOrAnotherKeyFails) {
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const DsseEnvelope good = dsse_sign(kInTotoPayloadType, "payload", key);
  DsseEnvelope payload = good;
  payload.payload = "paylOad";
  EXPECT_FALSE(dsse_verify(payload, key.public_key()));
  DsseEnvelope type = good;
  type.payload_type = "application/json";  // the PAE binds the type
  EXPECT_FALSE(dsse_verify(type, key.public_key()));
  EXPECT_FALSE(dsse_verify(good, EcdsaPrivateKey::generate("P-256").public_key()));
  EXPECT_TRUE(dsse_verify(good, key.public_key()));
}

TEST(Dsse, MalformedJsonNamesThePath) {
  nlohmann::json json = dsse_sign("t", "p", EcdsaPrivateKey::generate("P-256")).to_json();
  json["signatures"][0]["sig"] = "not base64!";
  try {
    DsseEnvelope::from_json(json, "run.sig", "$.dsseEnvelope");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("run.sig: $.dsseEnvelope.signatures"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected base64"), std::string::npos) << e.what();
  }
  json["signatures"] = nlohmann::json::array();
  EXPECT_THROW(DsseEnvelope::from_json(json, "run.sig"), InputError);
}

}  // namespace
}  // namespace wmtp
